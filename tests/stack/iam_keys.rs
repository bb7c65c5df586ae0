//! Access-key families on the real stack: IAM-001 / IAM-038 old keys (the test config sets
//! `max_age_days` to 0: moto dates every key "now", so every key is old), TrustedAdvisor-003
//! exposed keys. Conformity names one key per IAM-001 / IAM-038 finding: `resource` is the
//! access key id, the user is `UserName` in `extradata` ([`key_message`]). Keys are deactivated,
//! never deleted; the user's other keys (old and active too), other users and the user's
//! policies stay. TrustedAdvisor-003's failure cannot be confirmed live (an exposed key looks
//! like any active key): tests/config.json acknowledges its `auto` (`unverifiable_auto`); under
//! its default it waits for approval (the `approve` stack, whose config leaves it unset).

use std::time::{Duration, Instant};

use ar_tests::{http, unique, Execution, Stack};
use serde_json::Value;

const POLICY: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"}]}"#;

fn iam(stack: &Stack) -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::new(&stack.sdk)
}

/// IAM-001 / IAM-038 on one key, as Conformity sends it: region `global`, `resource` the access
/// key id, the key's user as `UserName` in `extradata`.
fn key_message(stack: &Stack, rule: &str, user: &str, key: &str) -> Value {
    let m = stack.message(rule, &format!("{user}/{key}"));
    assert_eq!(m["resource"], key, "{m}");
    assert_eq!(m["region"], "global", "{m}");
    assert_eq!(m["extradata"][0]["name"], "UserName", "{m}");
    assert_eq!(m["extradata"][0]["value"], user, "{m}");
    let finding = stack.finding(&m).expect("a failure to act on");
    assert_eq!(finding.resource, format!("{user}/{key}"));
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

/// The access keys a run's plan deactivates, each as (user, key).
fn planned(run: &Execution) -> Vec<(String, String)> {
    run.output["remediation"]["plan"]["changes"]
        .as_array()
        .unwrap_or_else(|| panic!("a plan with changes: {}", run.output))
        .iter()
        .map(|c| {
            assert_eq!(c["action"], "iam:DeactivateAccessKey", "{c}");
            (
                c["user"].as_str().unwrap().to_string(),
                c["access_key_id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// (IAM allows two keys per user, moto too: the user's inactive key in the second run is the
/// one the first run deactivated.)
#[tokio::test]
async fn an_old_key_is_deactivated_and_the_users_other_old_key_stays_until_its_own_finding() {
    let stack = Stack::connect();
    let alice = user(&stack).await;
    let (old, also_old) = (key(&stack, &alice).await, key(&stack, &alice).await);
    let bob = user(&stack).await;
    let bobs = key(&stack, &bob).await;

    let run = stack
        .publish_and_wait(&key_message(&stack, "IAM-001", &alice, &old))
        .await;
    run.assert_healed();
    let after = keys(&stack, &alice).await;
    assert_eq!(after.len(), 2, "no key is deleted");
    assert_eq!(status(&after, &old), "Inactive");
    assert_eq!(
        status(&after, &also_old),
        "Active",
        "the user's other old active key is not this finding's"
    );
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
        planned(&run),
        vec![(alice.clone(), old.clone())],
        "only the finding's key is in the plan"
    );

    // The other old key's own finding deactivates it, and only it; the inactive one stays so.
    let run = stack
        .publish_and_wait(&key_message(&stack, "IAM-001", &alice, &also_old))
        .await;
    run.assert_healed();
    assert_eq!(
        planned(&run),
        vec![(alice.clone(), also_old.clone())],
        "only the finding's key is in the plan"
    );
    let after = keys(&stack, &alice).await;
    assert_eq!(after.len(), 2, "no key is deleted");
    assert_eq!(status(&after, &also_old), "Inactive");
    assert_eq!(status(&after, &old), "Inactive", "the inactive key stays inactive");
    assert_eq!(status(&keys(&stack, &bob).await, &bobs), "Active");
    assert_eq!(policies(&stack, &alice).await, vec!["list"]);
}

#[tokio::test]
async fn a_90_day_finding_on_one_key_deactivates_that_key_only() {
    let stack = Stack::connect();
    let carol = user(&stack).await;
    let (flagged, other) = (key(&stack, &carol).await, key(&stack, &carol).await);
    let run = stack
        .publish_and_wait(&key_message(&stack, "IAM-038", &carol, &flagged))
        .await;
    run.assert_healed();
    assert_eq!(planned(&run), vec![(carol.clone(), flagged.clone())]);
    let after = keys(&stack, &carol).await;
    assert_eq!(after.len(), 2, "no key is deleted");
    assert_eq!(status(&after, &flagged), "Inactive");
    assert_eq!(
        status(&after, &other),
        "Active",
        "the user's other (old, active) key is not this finding's"
    );
}

/// A key id without `UserName` in `extradata`: its user is found with GetAccessKeyLastUsed.
#[tokio::test]
async fn a_bare_key_id_finds_its_user_and_deactivates_that_key_only() {
    let stack = Stack::connect();
    let erin = user(&stack).await;
    let (flagged, other) = (key(&stack, &erin).await, key(&stack, &erin).await);
    let message = stack.message("IAM-038", &flagged);
    assert_eq!(message["resource"], flagged.as_str());
    assert_eq!(message["extradata"], serde_json::json!([]), "{message}");
    let run = stack.publish_and_wait(&message).await;
    run.assert_healed();
    assert_eq!(run.output["remediation"]["before"]["user"], erin.as_str());
    assert_eq!(planned(&run), vec![(erin.clone(), flagged.clone())]);
    let after = keys(&stack, &erin).await;
    assert_eq!(after.len(), 2, "no key is deleted");
    assert_eq!(status(&after, &flagged), "Inactive");
    assert_eq!(status(&after, &other), "Active");
    assert_eq!(policies(&stack, &erin).await, vec!["list"]);
}

/// Not Conformity's form, still accepted: a finding naming the user covers each of its keys.
#[tokio::test]
async fn a_finding_naming_the_user_deactivates_each_of_its_active_keys_past_the_limit() {
    let stack = Stack::connect();
    let frank = user(&stack).await;
    let (a, b) = (key(&stack, &frank).await, key(&stack, &frank).await);
    let bob = user(&stack).await;
    let bobs = key(&stack, &bob).await;
    let run = stack.publish_and_wait(&stack.message("IAM-001", &frank)).await;
    run.assert_healed();
    let mut want = vec![(frank.clone(), a.clone()), (frank.clone(), b.clone())];
    want.sort();
    let mut got = planned(&run);
    got.sort();
    assert_eq!(got, want);
    let after = keys(&stack, &frank).await;
    assert_eq!(after.len(), 2, "no key is deleted");
    assert_eq!((status(&after, &a), status(&after, &b)), ("Inactive", "Inactive"));
    assert_eq!(
        status(&keys(&stack, &bob).await, &bobs),
        "Active",
        "another user is untouched"
    );
    assert_eq!(policies(&stack, &frank).await, vec!["list"]);
}

#[tokio::test]
async fn an_exposed_key_is_deactivated_and_the_plan_says_it_was_exposed() {
    let stack = Stack::connect();
    let dave = user(&stack).await;
    let (exposed, other) = (key(&stack, &dave).await, key(&stack, &dave).await);
    let run = stack
        .publish_and_wait(&stack.message("TrustedAdvisor-003", &exposed))
        .await;
    run.assert_healed();
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
    let mut again = stack.message("TrustedAdvisor-003", &exposed);
    again["failureDiscoveryDate"] = Value::from(ar_tests::now_ms() + 1);
    let run = stack.publish_and_wait(&again).await;
    assert_eq!(run.states().last().map(String::as_str), Some("AlreadyCompliant"));
    let after = keys(&stack, &dave).await;
    assert_eq!(after.len(), 2, "no key is deleted");
    assert_eq!(
        (status(&after, &exposed), status(&after, &other)),
        ("Inactive", "Active")
    );
}

/// A TrustedAdvisor-003 message anyone could publish (a forged one: the key was never exposed)
/// under the catalog default: the run waits at the approval gate and the key stays active; a
/// rejection ends it with nothing changed.
#[tokio::test]
async fn a_forged_exposed_key_finding_waits_for_approval_and_the_key_stays_active() {
    let stack = Stack::connect_named("approve");
    assert!(
        !stack.config.rules.contains_key("TrustedAdvisor-003"),
        "the approve stack leaves TrustedAdvisor-003 at its default"
    );
    let gina = user(&stack).await;
    let (named, other) = (key(&stack, &gina).await, key(&stack, &gina).await);
    let (name, _) = stack
        .publish_for_execution(&stack.message("TrustedAdvisor-003", &named))
        .await;

    let start = Instant::now();
    let links = loop {
        let links = crate::approval::links_for(&stack, &named);
        if links.len() == 2 {
            break links;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{name}: no approval e-mails for {named}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let arn = stack.execution_arn(&name);
    let described = stack.sfn.describe_execution().execution_arn(&arn).send().await.unwrap();
    assert_eq!(described.status().as_str(), "RUNNING", "{name} waits for a decision");
    let history = stack
        .sfn
        .get_execution_history()
        .execution_arn(&arn)
        .max_results(1000)
        .send()
        .await
        .unwrap();
    let entered: Vec<&str> = history
        .events()
        .iter()
        .filter_map(|e| e.state_entered_event_details())
        .map(|d| d.name())
        .collect();
    assert!(entered.contains(&"RequestApproval"), "{entered:?}");
    assert!(!entered.contains(&"Remediate"), "{entered:?}");
    let now = keys(&stack, &gina).await;
    assert_eq!(
        (status(&now, &named), status(&now, &other)),
        ("Active", "Active"),
        "nothing is deactivated while the finding waits"
    );

    let (base, query) = links[0].reject.split_once('?').unwrap();
    let (code, page) = http("POST", base, query).await;
    assert_eq!(code, 200, "{page}");
    let run = stack.wait(&name).await;
    assert_eq!(run.states().last().map(String::as_str), Some("ApprovalRejected"));
    assert!(!run.states().contains(&"Remediate".to_string()));
    let after = keys(&stack, &gina).await;
    assert_eq!(after.len(), 2);
    assert_eq!((status(&after, &named), status(&after, &other)), ("Active", "Active"));
}

#[tokio::test]
async fn undo_of_iam_038_reactivates_the_deactivated_key_and_nothing_else() {
    let stack = Stack::connect();
    let gus = user(&stack).await;
    let (flagged, other) = (key(&stack, &gus).await, key(&stack, &gus).await);
    // The user's other key was inactive before the fix: the undo leaves it so.
    iam(&stack)
        .update_access_key()
        .user_name(&gus)
        .access_key_id(&other)
        .status(aws_sdk_iam::types::StatusType::Inactive)
        .send()
        .await
        .unwrap();
    let before = keys(&stack, &gus).await;
    let (healed, _) = stack
        .publish_for_execution(&key_message(&stack, "IAM-038", &gus, &flagged))
        .await;
    stack.wait(&healed).await.assert_healed();
    assert_eq!(status(&keys(&stack, &gus).await, &flagged), "Inactive");
    let out = crate::cli::undo_restored(&stack, &healed).await;
    assert!(
        out.contains(&format!("reactivate access key {flagged} of user {gus}")),
        "{out}"
    );
    // Re-read: every key as before the fix, none created or deleted; the policy stays.
    assert_eq!(keys(&stack, &gus).await, before);
    assert_eq!(status(&before, &flagged), "Active");
    assert_eq!(status(&before, &other), "Inactive");
    assert_eq!(policies(&stack, &gus).await, vec!["list"]);
}

#[tokio::test]
async fn undo_of_an_exposed_key_is_refused_by_name_and_the_key_stays_inactive() {
    let stack = Stack::connect();
    let hal = user(&stack).await;
    let exposed = key(&stack, &hal).await;
    let (healed, _) = stack
        .publish_for_execution(&stack.message("TrustedAdvisor-003", &exposed))
        .await;
    stack.wait(&healed).await.assert_healed();
    let (ok, out, err) = crate::cli::cli_at(&ar_tests::stack_dir(), &["undo", &healed]);
    assert!(!ok, "refused: {out}");
    assert!(
        format!("{out}{err}").contains("reactivating an exposed key needs an explicit force"),
        "{out}\n{err}"
    );
    assert!(
        !stack.execution_exists(&format!("undo-{healed}")).await,
        "no undo run was started"
    );
    assert_eq!(
        keys(&stack, &hal).await,
        vec![(exposed.clone(), "Inactive".to_string())]
    );
}
