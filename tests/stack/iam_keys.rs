//! Access-key families on the real stack: IAM-001 / IAM-038 old keys (the test config sets
//! `max_age_days` to 0: moto dates every key "now"), TrustedAdvisor-003 exposed keys.
//! Keys are deactivated, never deleted; other keys, other users and the user's policies stay.

use ar_tests::{unique, Execution, Stack};
use aws_sdk_iam::types::StatusType;
use serde_json::Value;

const POLICY: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"}]}"#;

fn iam(stack: &Stack) -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::new(&stack.sdk)
}

/// A Conformity message for an IAM (global) rule, as Conformity sends it: region `global`.
fn global_message(stack: &Stack, rule: &str, resource: &str) -> Value {
    let mut m = stack.message(rule, resource);
    let service = m["service"].as_str().unwrap().to_string();
    m["region"] = "global".into();
    m["ccrn"] = format!("ccrn:aws:{}:{service}:global:{resource}", stack.info.account_id).into();
    m["id"] = format!("ccc:org-test:conformity-acct:{rule}:{service}:global:{resource}").into();
    m
}

/// A user with an inline policy.
async fn user(stack: &Stack) -> String {
    let iam = iam(stack);
    let name = unique("it-user");
    iam.create_user().user_name(&name).send().await.unwrap();
    iam.put_user_policy()
        .user_name(&name)
        .policy_name("list")
        .policy_document(POLICY)
        .send()
        .await
        .unwrap();
    name
}

async fn key(stack: &Stack, user: &str) -> String {
    iam(stack)
        .create_access_key()
        .user_name(user)
        .send()
        .await
        .unwrap()
        .access_key()
        .unwrap()
        .access_key_id()
        .to_string()
}

/// The user's keys as (id, status), in id order.
async fn keys(stack: &Stack, user: &str) -> Vec<(String, String)> {
    let out = iam(stack).list_access_keys().user_name(user).send().await.unwrap();
    let mut v: Vec<_> = out
        .access_key_metadata()
        .iter()
        .map(|k| {
            (
                k.access_key_id().unwrap().to_string(),
                k.status().unwrap().as_str().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

fn status<'a>(keys: &'a [(String, String)], id: &str) -> &'a str {
    &keys.iter().find(|(k, _)| k == id).expect("the key still exists").1
}

async fn policies(stack: &Stack, user: &str) -> Vec<String> {
    iam(stack)
        .list_user_policies()
        .user_name(user)
        .send()
        .await
        .unwrap()
        .policy_names()
        .to_vec()
}

fn healed(run: &Execution) {
    assert_eq!(
        run.states().last().map(String::as_str),
        Some("Healed"),
        "{:?} {:?}",
        run.task_errors(),
        run.output
    );
}

#[tokio::test]
async fn a_users_active_keys_past_the_limit_are_deactivated_and_nothing_else_changes() {
    let stack = Stack::connect();
    let alice = user(&stack).await;
    let (old, off) = (key(&stack, &alice).await, key(&stack, &alice).await);
    iam(&stack)
        .update_access_key()
        .user_name(&alice)
        .access_key_id(&off)
        .status(StatusType::Inactive)
        .send()
        .await
        .unwrap();
    let bob = user(&stack).await;
    let bobs = key(&stack, &bob).await;

    let run = stack.publish_and_wait(&global_message(&stack, "IAM-001", &alice)).await;
    healed(&run);
    let after = keys(&stack, &alice).await;
    assert_eq!(after.len(), 2, "no key is deleted");
    assert_eq!(status(&after, &old), "Inactive");
    assert_eq!(status(&after, &off), "Inactive", "the inactive key stays inactive");
    assert_eq!(
        status(&keys(&stack, &bob).await, &bobs),
        "Active",
        "another user is untouched"
    );
    assert_eq!(policies(&stack, &alice).await, vec!["list"], "the user's policy stays");
    let before = &run.output["remediation"]["before"];
    assert_eq!(before["kind"], "iam-key-age");
    assert_eq!(before["user"], alice.as_str());
    assert_eq!(
        run.output["remediation"]["plan"]["changes"].as_array().unwrap().len(),
        1,
        "only the active key is in the plan"
    );
}

#[tokio::test]
async fn a_finding_on_one_key_deactivates_that_key_only() {
    let stack = Stack::connect();
    let carol = user(&stack).await;
    let (flagged, other) = (key(&stack, &carol).await, key(&stack, &carol).await);
    let run = stack
        .publish_and_wait(&global_message(&stack, "IAM-038", &flagged))
        .await;
    healed(&run);
    let after = keys(&stack, &carol).await;
    assert_eq!(status(&after, &flagged), "Inactive");
    assert_eq!(
        status(&after, &other),
        "Active",
        "the user's other key is not this finding's"
    );
}

#[tokio::test]
async fn an_exposed_key_is_deactivated_and_the_plan_says_it_was_exposed() {
    let stack = Stack::connect();
    let dave = user(&stack).await;
    let (exposed, other) = (key(&stack, &dave).await, key(&stack, &dave).await);
    let run = stack
        .publish_and_wait(&global_message(&stack, "TrustedAdvisor-003", &exposed))
        .await;
    healed(&run);
    let after = keys(&stack, &dave).await;
    assert_eq!(after.len(), 2, "no key is deleted");
    assert_eq!(status(&after, &exposed), "Inactive");
    assert_eq!(status(&after, &other), "Active");
    assert_eq!(policies(&stack, &dave).await, vec!["list"]);
    let summary = run.output["remediation"]["plan"]["summary"]
        .as_str()
        .unwrap_or_default();
    assert!(summary.contains("exposed") && summary.contains(&dave), "{summary}");

    // Published again, it is already compliant and nothing changes.
    let mut again = global_message(&stack, "TrustedAdvisor-003", &exposed);
    again["failureDiscoveryDate"] = Value::from(ar_tests::now_ms() + 1);
    let run = stack.publish_and_wait(&again).await;
    assert_eq!(run.states().last().map(String::as_str), Some("AlreadyCompliant"));
}
