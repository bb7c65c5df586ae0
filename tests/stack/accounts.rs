//! The finding's own account (its `cloudProviderId`): a finding for another allowed account is
//! healed there, through the member role assumed in it (its resources are invisible to the
//! deployment's own credentials); one for an account not allowed is acknowledged with its reason
//! and starts nothing; one whose member role cannot be assumed ends in `MemberRoleUnavailable`,
//! nothing read or changed.

use ar_tests::Stack;
use aws_credential_types::provider::SharedCredentialsProvider;
use serde_json::{json, Value};

/// Allowed in tests/config.json, its member role assumable (moto lets any role be assumed).
const MEMBER: &str = "210987654321";
/// Allowed too, but the gateway denies `sts:AssumeRole` into it (a missing or untrusting role).
const NO_ROLE: &str = "333344445555";
/// Not in `accounts`.
const STRANGER: &str = "999988887777";
/// Allowed; the gateway denies `sts:AssumeRole` into its write role (`auto-remediate-member`)
/// only, never its read role. Used by one test alone.
const NO_WRITE_ROLE: &str = "444455556666";
/// Allowed; the gateway denies `sts:AssumeRole` into its read role (`auto-remediate-member-read`)
/// only. Used by one test alone.
const NO_READ_ROLE: &str = "555566667777";

/// An EC2 client acting as `account` (credentials of a role assumed there, as an operator of
/// that account would have).
async fn ec2_in(stack: &Stack, account: &str) -> aws_sdk_ec2::Client {
    let sts = aws_sdk_sts::Client::new(&stack.sdk);
    let c = sts
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/test-operator"))
        .role_session_name("it-operator")
        .send()
        .await
        .unwrap()
        .credentials()
        .cloned()
        .unwrap();
    let creds = aws_credential_types::Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        None,
        "test",
    );
    let sdk = stack
        .sdk
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(creds))
        .build();
    aws_sdk_ec2::Client::new(&sdk)
}

/// A group in `ec2`'s account open to the world on tcp 22 (and to 10.0.0.0/8, untouched).
async fn open_group(ec2: &aws_sdk_ec2::Client) -> String {
    let sg = super::ec2::group_in(ec2).await;
    for cidr in ["0.0.0.0/0", "10.0.0.0/8"] {
        super::ec2::allow_in(ec2, &sg, "tcp", 22, 22, cidr, "member").await;
    }
    sg
}

async fn ssh_sources(ec2: &aws_sdk_ec2::Client, sg: &str) -> Vec<String> {
    let out = ec2.describe_security_groups().group_ids(sg).send().await.unwrap();
    let mut v: Vec<String> = out.security_groups()[0]
        .ip_permissions()
        .iter()
        .flat_map(|p| p.ip_ranges().iter().filter_map(|r| r.cidr_ip()).map(str::to_string))
        .collect();
    v.sort();
    v
}

/// A finding in `account`: its `cloudProviderId` (the ccrn's account part is Conformity's own
/// id, as built).
fn message_in(stack: &Stack, account: &str, rule: &str, resource: &str) -> Value {
    let mut m = stack.message(rule, resource);
    m["cloudProviderId"] = json!(account);
    assert!(!m["ccrn"].as_str().unwrap().contains(account), "{m}");
    assert_eq!(stack.finding(&m).expect("a failure").account_id, account);
    m
}

#[tokio::test]
async fn a_finding_for_a_member_account_is_healed_in_that_account() {
    let stack = Stack::connect();
    let member = ec2_in(&stack, MEMBER).await;
    let sg = open_group(&member).await;
    // The group lives in the member account: the deployment's own credentials cannot see it.
    assert!(stack
        .ec2
        .describe_security_groups()
        .group_ids(&sg)
        .send()
        .await
        .is_err());

    let run = stack
        .publish_and_wait(&message_in(&stack, MEMBER, "EC2-002", &sg))
        .await;

    assert_eq!(run.status, "SUCCEEDED", "{:?} {:?}", run.states(), run.task_errors());
    assert_eq!(run.states().last().unwrap(), "Healed");
    assert_eq!(
        ssh_sources(&member, &sg).await,
        ["10.0.0.0/8"],
        "re-read in the member account"
    );
}

#[tokio::test]
async fn a_finding_for_an_account_not_allowed_is_acknowledged_with_its_reason() {
    let stack = Stack::connect();
    let stranger = ec2_in(&stack, STRANGER).await;
    let sg = open_group(&stranger).await;
    let message = message_in(&stack, STRANGER, "EC2-002", &sg);

    let id = stack.publish_id(&message.to_string()).await;
    let delivery = stack.delivery(&id).await;
    assert_eq!(
        (&delivery["delivery"], &delivery["reason"]),
        (&json!("Acknowledged"), &json!("AccountNotAllowed")),
        "{delivery}"
    );
    let record = &delivery["result"]["records"][0];
    assert_eq!(record["delivery"], "Acknowledged", "{record}");
    assert_eq!(record["result"], "acknowledged", "{record}");
    assert_eq!(record["reason"], "AccountNotAllowed", "{record}");
    assert_eq!(record["rule_id"], "EC2-002", "{record}");
    let detail = record["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(STRANGER), "{record}");
    assert!(!stack.execution_exists(&stack.execution_name(&message)).await);
    assert_eq!(ssh_sources(&stranger, &sg).await, ["0.0.0.0/0", "10.0.0.0/8"]);
}

#[tokio::test]
async fn a_member_role_that_cannot_be_assumed_fails_by_name_and_changes_nothing() {
    let stack = Stack::connect();
    let account = ec2_in(&stack, NO_ROLE).await;
    let sg = open_group(&account).await;
    // From now on AssumeRole into that account is refused, as AWS refuses a missing role.
    let faults = stack
        .faults(json!([{"service": "sts", "operation": "AssumeRole", "resource": NO_ROLE, "effect": "access_denied"}]))
        .await;

    let run = stack
        .publish_and_wait(&message_in(&stack, NO_ROLE, "EC2-002", &sg))
        .await;

    assert_eq!(run.status, "FAILED");
    assert_eq!(run.task_errors(), ["MemberRoleUnavailable"], "{:?}", run.states());
    assert!(!run.states().iter().any(|s| s == "Remediate" || s == "ResourceGone"));
    assert!(faults.injected().await >= 1);
    drop(faults);
    assert_eq!(ssh_sources(&account, &sg).await, ["0.0.0.0/0", "10.0.0.0/8"]);
}

/// The failed task attempts' (state, error, cause).
fn failures(run: &ar_tests::Execution) -> Vec<(String, String, String)> {
    let mut state = String::new();
    let mut out = Vec::new();
    for e in &run.events {
        if let Some(d) = e.state_entered_event_details() {
            state = d.name().to_string();
        }
        if let Some(d) = e.lambda_function_failed_event_details() {
            out.push((
                state.clone(),
                d.error().unwrap_or_default().to_string(),
                d.cause().unwrap_or_default().to_string(),
            ));
        }
    }
    out
}

/// Two member roles: Classify (read-only) assumes the read role, Remediate the write role. With
/// the write role refused (and the read role assumable), Classify reads the group through the
/// read role and Remediate fails naming the write role; nothing changes.
#[tokio::test]
async fn only_remediate_assumes_the_write_role_and_classify_reads_through_the_read_role() {
    let stack = Stack::connect();
    let account = ec2_in(&stack, NO_WRITE_ROLE).await;
    let sg = open_group(&account).await;
    let write_role = format!("{NO_WRITE_ROLE}:role/auto-remediate-member");
    let faults = stack
        .faults(
            json!([{"service": "sts", "operation": "AssumeRole", "resource": write_role, "effect": "access_denied"}]),
        )
        .await;

    let run = stack
        .publish_and_wait(&message_in(&stack, NO_WRITE_ROLE, "EC2-002", &sg))
        .await;

    assert_eq!(run.status, "FAILED", "{:?}", run.states());
    let failed = failures(&run);
    assert!(!failed.is_empty(), "{:?}", run.states());
    for (state, error, cause) in &failed {
        assert_eq!(
            (state.as_str(), error.as_str()),
            ("Remediate", "MemberRoleUnavailable"),
            "{cause}"
        );
        assert!(
            cause.contains("role auto-remediate-member could not be assumed"),
            "{cause}"
        );
    }
    let states = run.states();
    assert!(states.iter().any(|s| s == "Classify"), "{states:?}");
    assert!(!states.iter().any(|s| s == "Verify" || s == "Healed"), "{states:?}");
    assert!(faults.injected().await >= 1);
    drop(faults);
    assert_eq!(ssh_sources(&account, &sg).await, ["0.0.0.0/0", "10.0.0.0/8"]);
}

/// With the read role refused (the write role assumable), Classify fails naming the read role:
/// a read-only handler does not fall back to the write role, and Remediate never runs.
#[tokio::test]
async fn a_read_only_handler_never_falls_back_to_the_write_role() {
    let stack = Stack::connect();
    let account = ec2_in(&stack, NO_READ_ROLE).await;
    let sg = open_group(&account).await;
    let read_role = format!("{NO_READ_ROLE}:role/auto-remediate-member-read");
    let faults = stack
        .faults(
            json!([{"service": "sts", "operation": "AssumeRole", "resource": read_role, "effect": "access_denied"}]),
        )
        .await;

    let run = stack
        .publish_and_wait(&message_in(&stack, NO_READ_ROLE, "EC2-002", &sg))
        .await;

    assert_eq!(run.status, "FAILED", "{:?}", run.states());
    let failed = failures(&run);
    assert!(!failed.is_empty(), "{:?}", run.states());
    for (state, error, cause) in &failed {
        assert_eq!(
            (state.as_str(), error.as_str()),
            ("Classify", "MemberRoleUnavailable"),
            "{cause}"
        );
        assert!(
            cause.contains("role auto-remediate-member-read could not be assumed"),
            "{cause}"
        );
    }
    assert!(!run.states().iter().any(|s| s == "Remediate"), "{:?}", run.states());
    assert!(faults.injected().await >= 1);
    drop(faults);
    assert_eq!(ssh_sources(&account, &sg).await, ["0.0.0.0/0", "10.0.0.0/8"]);
}
