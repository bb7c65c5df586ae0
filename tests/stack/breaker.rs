//! The blast-radius circuit breaker on its own stack (`tests/config-breaker.json`: at most 20
//! auto changes per account and rule family in a rolling hour, and at most 2 fixes that failed
//! verification): a burst of 200 public-WRITE buckets gets exactly 20 fixes, every other finding
//! a run waiting at the approval gate with the breaker's reason, and one trip notification; fixes
//! that do not hold (S3 answering a write it never applies) open it too; `auto-remediate breaker
//! reset` reopens it, and a later trip is notified again.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use ar_tests::{named_stack_dir, unique, OutcomeMessage, Stack};
use futures::stream::{self, StreamExt};
use serde_json::{json, Value};

use crate::s3::{bucket_with, group, live_grants, ALL};

const FAMILY: &str = "s3-acl";

/// The built CLI on the breaker stack; its stdout (the test fails on a non-zero exit).
fn cli(args: &[&str]) -> String {
    crate::cli::cli_ok_at(&named_stack_dir("breaker"), args)
}

fn status(account: &str) -> Option<Value> {
    status_of(account, FAMILY)
}

fn status_of(account: &str, family: &str) -> Option<Value> {
    let rows: Value = serde_json::from_str(&cli(&["breaker", "status", "--json"])).expect("status --json is JSON");
    rows.as_array()
        .expect("an array")
        .iter()
        .find(|r| r["account"] == account && r["family"] == family)
        .cloned()
}

/// Collects the trip notifications of one account and family under `key` (removed when the
/// stack is dropped, should the test fail first).
async fn watch_trips(stack: &Stack, key: &str, account: &str, family: &str) {
    stack
        .watch_topic(
            key,
            json!({"event": ["BreakerTripped"], "account_id": [account], "family": [family]}),
        )
        .await;
}

/// Every trip notification received under `key` so far: those already delivered (a Classify
/// publishes before it returns, so a run past Classify has published its own), then nothing
/// more for 2 s.
async fn trips(stack: &Stack, key: &str) -> Vec<OutcomeMessage> {
    let mut got = stack.watched(key, 3).await;
    got.extend(stack.watched(key, 2).await);
    got
}

/// Publishes one S3-003 finding; the execution the trigger started.
async fn publish(stack: &Stack, bucket: &str) -> String {
    publish_rule(stack, "S3-003", bucket).await
}

/// Publishes one finding; the execution the trigger started.
async fn publish_rule(stack: &Stack, rule_id: &str, bucket: &str) -> String {
    let id = stack.publish_id(&stack.message(rule_id, bucket).to_string()).await;
    let d = stack.delivery(&id).await;
    let record = &d["result"]["records"][0];
    assert_eq!(record["result"], "started", "{bucket}: {d}");
    record["execution_name"].as_str().expect("an execution").to_string()
}

/// Where a run got to: its status, the states it entered, Classify's output.
type Progress = (String, Vec<String>, Value);

/// Where a run got to.
async fn progress(stack: &Stack, name: &str) -> Progress {
    let arn = stack.execution_arn(name);
    let status = stack
        .sfn
        .describe_execution()
        .execution_arn(&arn)
        .send()
        .await
        .expect("DescribeExecution")
        .status()
        .as_str()
        .to_string();
    let events = stack.history(&arn).await;
    let states = events
        .iter()
        .filter_map(|e| e.state_entered_event_details())
        .map(|d| d.name().to_string())
        .collect();
    let classification = events
        .iter()
        .filter_map(|e| e.state_exited_event_details())
        .find(|d| d.name() == "Classify")
        .and_then(|d| d.output())
        .and_then(|o| serde_json::from_str::<Value>(o).ok())
        .map(|o| o["classification"].clone())
        .unwrap_or(Value::Null);
    (status, states, classification)
}

/// Waits until a run has ended, or is waiting at the approval gate.
async fn settled(stack: &Stack, name: &str) -> Progress {
    let start = Instant::now();
    loop {
        let p = progress(stack, name).await;
        if p.0 != "RUNNING" || p.1.iter().any(|s| s == "RequestApproval") {
            return p;
        }
        assert!(
            start.elapsed() < Duration::from_secs(240),
            "{name} settled in 240 s: {:?}",
            p.1
        );
        // Polled gently: each look reads the whole history from moto, which the burst needs too.
        tokio::time::sleep(Duration::from_millis(1000)).await;
    }
}

async fn world_writable(stack: &Stack, bucket: &str) -> bool {
    live_grants(stack, bucket)
        .await
        .iter()
        .any(|(who, p)| who == ALL && p == "WRITE")
}

#[tokio::test]
async fn breaker_a_burst_of_200_gets_exactly_the_limit_of_auto_fixes_the_rest_gated_and_a_reset_reopens_it() {
    let stack = Stack::connect_named("breaker");
    let account = stack.info.account_id.clone();
    let limit = stack.config.breaker.limit_for(FAMILY).expect("the breaker is on");
    assert_eq!(limit, 20, "tests/config-breaker.json sets 20");
    // A window of its own (an earlier run of this test counted changes within the hour).
    cli(&["breaker", "reset", "--account", &account, "--family", FAMILY]);
    assert_eq!(status(&account), None);
    let inbox = unique("trips-s3-acl");
    watch_trips(&stack, &inbox, &account, FAMILY).await;
    let metric = json!({"Family": FAMILY, "Cause": "AutoChanges"});
    let tripped_before = stack.metric_sum("BreakerTripped", metric.clone()).await;

    let buckets: Vec<String> = stream::iter(0..200)
        .map(|_| async { bucket_with(&stack, vec![group(ALL, "WRITE")]).await.0 })
        .buffer_unordered(32)
        .collect()
        .await;
    let names: Vec<(String, String)> = stream::iter(buckets.iter())
        .map(|b| async { (b.clone(), publish(&stack, b).await) })
        .buffer_unordered(50)
        .collect()
        .await;
    assert_eq!(
        names.iter().map(|(_, n)| n).collect::<HashSet<_>>().len(),
        200,
        "every finding has a run of its own"
    );

    let runs: Vec<(String, String, Progress)> = stream::iter(names.iter())
        .map(|(b, n)| async { (b.clone(), n.clone(), settled(&stack, n).await) })
        .buffer_unordered(20)
        .collect()
        .await;
    let want_reason = format!(
        "circuit breaker open: {limit} auto changes for family {FAMILY} in account {account} within the last hour"
    );
    let (mut auto, mut gated) = (0, 0);
    for (bucket, name, (status, states, c)) in &runs {
        match c["decision"].as_str() {
            Some("auto") => {
                auto += 1;
                assert_eq!(status, "SUCCEEDED", "{name}: {states:?}");
                assert_eq!(states.last().map(String::as_str), Some("Healed"), "{name}");
                assert!(!world_writable(&stack, bucket).await, "{bucket} healed");
            }
            Some("approve") => {
                gated += 1;
                assert_eq!(status, "RUNNING", "{name} waits for an approver: {states:?}");
                assert_eq!(states.last().map(String::as_str), Some("RequestApproval"), "{name}");
                let reason = c["reason"].as_str().unwrap_or_default();
                assert!(reason.starts_with(&want_reason), "{name}: {reason}");
                assert_eq!(c["mode"], "auto", "{name}: the rule's own mode is kept");
                assert!(world_writable(&stack, bucket).await, "{bucket} untouched while gated");
            }
            other => panic!("{name}: decision {other:?}: {c}"),
        }
    }
    assert_eq!((auto, gated), (20, 180), "exactly the limit in auto, the rest gated");

    let open = status(&account).expect("the window counted");
    assert_eq!(open["count"], 20, "{open}");
    assert_eq!(open["limit"], 20, "{open}");
    assert_eq!(open["open"], true, "{open}");
    assert!(cli(&["breaker", "status"]).contains("open"));

    // One notification for the 180 refusals, saying why, where the findings go and how to reset.
    let got = trips(&stack, &inbox).await;
    assert_eq!(got.len(), 1, "one trip notification for a burst: {got:#?}");
    let m = &got[0];
    assert_eq!(m.subject, format!("BreakerTripped: {FAMILY} in {account}"));
    assert_eq!(m.attributes["cause"], "AutoChanges");
    for want in [
        "Why:        20 auto changes within the last hour, limit 20 (breaker.max_auto_changes_per_hour)\n".to_string(),
        format!("`auto` findings of {FAMILY} in {account} go to the approval gate"),
        format!("Reset:      auto-remediate breaker reset --account {account} --family {FAMILY}\n"),
    ] {
        assert!(m.body.contains(&want), "{want:?} not in\n{}", m.body);
    }
    let first = m
        .body
        .lines()
        .find_map(|l| l.strip_prefix("First held: S3-003 "))
        .expect("the first held finding");
    assert!(
        runs.iter()
            .any(|(b, _, (_, _, c))| b == first && c["decision"] == "approve"),
        "{first} is one of the gated findings"
    );
    // A redelivered Classify (Lambda's retry) of a gated finding is refused again, told again never.
    let (gated_bucket, _, _) = runs
        .iter()
        .find(|r| r.2 .2["decision"] == "approve")
        .expect("a gated run");
    let finding = stack
        .finding(&stack.message("S3-003", gated_bucket))
        .expect("a finding");
    for _ in 0..3 {
        let c = stack
            .invoke("auto-remediate-classify", &json!({ "finding": finding }))
            .await
            .expect("Classify");
        assert_eq!(c["decision"], "approve", "{c}");
    }
    assert_eq!(
        trips(&stack, &inbox).await.len(),
        0,
        "no second notification while it stays open"
    );
    assert_eq!(
        stack.metric_sum("BreakerTripped", metric).await - tripped_before,
        1.0,
        "one BreakerTripped metric"
    );

    // The gated runs are not needed any further (their approvals would wait 10 minutes).
    stream::iter(runs.iter().filter(|r| r.2 .2["decision"] == "approve"))
        .for_each_concurrent(20, |(_, name, _)| {
            let arn = stack.execution_arn(name);
            let sfn = stack.sfn.clone();
            async move {
                let _ = sfn.stop_execution().execution_arn(arn).send().await;
            }
        })
        .await;

    // An operator reopens it: the next finding is fixed in auto again.
    let out = cli(&["breaker", "reset", "--account", &account, "--family", FAMILY]);
    assert!(out.contains("1 account and family window(s) cleared"), "{out}");
    assert_eq!(status(&account), None);
    let (bucket, _) = bucket_with(&stack, vec![group(ALL, "WRITE")]).await;
    let name = publish(&stack, &bucket).await;
    let (status_, states, c) = settled(&stack, &name).await;
    assert_eq!(c["decision"], "auto", "{c}");
    assert_eq!(status_, "SUCCEEDED", "{states:?}");
    assert_eq!(states.last().map(String::as_str), Some("Healed"));
    assert!(!world_writable(&stack, &bucket).await);
    assert_eq!(status(&account).map(|r| r["count"].clone()), Some(1.into()));
    cli(&["breaker", "reset", "--account", &account, "--family", FAMILY]);
    stack.unwatch(&inbox).await;
}

async fn unversioned_bucket(stack: &Stack) -> String {
    let name = unique("it-brk-v");
    stack
        .s3
        .create_bucket()
        .bucket(&name)
        .send()
        .await
        .expect("CreateBucket");
    name
}

async fn versioning(stack: &Stack, bucket: &str) -> Option<String> {
    let out = stack
        .s3
        .get_bucket_versioning()
        .bucket(bucket)
        .send()
        .await
        .expect("GetBucketVersioning");
    out.status().map(|s| s.as_str().to_string())
}

/// Fixes that do not hold: S3 answers each bucket's `PutBucketVersioning` as done and never
/// applies it (the gateway's `lost_write`), so Verify re-reads the old state until the settle
/// time is over. Each run is decided `auto` and ends `VerificationFailed`.
async fn fixes_that_do_not_hold(stack: &Stack, n: usize) {
    let buckets: Vec<String> = stream::iter(0..n).then(|_| unversioned_bucket(stack)).collect().await;
    let rules: Vec<Value> = buckets
        .iter()
        .map(|b| json!({"id": format!("lost-{b}"), "service": "s3", "operation": "PutBucketVersioning", "resource": b, "effect": "lost_write"}))
        .collect();
    let faults = stack.faults(Value::Array(rules)).await;
    let runs: Vec<(String, Progress)> = stream::iter(buckets.iter())
        .map(|b| async move {
            let name = publish_rule(stack, "S3-012", b).await;
            (b.clone(), settled(stack, &name).await)
        })
        .buffer_unordered(n)
        .collect()
        .await;
    drop(faults);
    for (bucket, (_, states, c)) in &runs {
        assert_eq!(c["decision"], "auto", "{bucket}: {c}");
        assert_eq!(
            states.last().map(String::as_str),
            Some("VerificationFailed"),
            "{bucket}: {states:?}"
        );
        assert_eq!(
            versioning(stack, bucket).await,
            None,
            "{bucket}: the write was never applied"
        );
    }
}

#[tokio::test]
async fn breaker_fixes_that_do_not_hold_open_it_for_their_family_with_one_notification_each_trip() {
    const FAMILY: &str = "s3-versioning";
    let stack = Stack::connect_named("breaker");
    let account = stack.info.account_id.clone();
    let limit = stack
        .config
        .breaker
        .failure_limit()
        .expect("verification failures trip it");
    assert_eq!(limit, 2, "tests/config-breaker.json sets 2");
    assert_eq!(
        stack.config.mode_for("S3-012", ar_core::catalog::Catalog::builtin()),
        ar_core::catalog::Mode::Auto
    );
    cli(&["breaker", "reset", "--account", &account, "--family", FAMILY]);
    assert_eq!(status_of(&account, FAMILY), None);
    let inbox = unique("trips-s3-versioning");
    watch_trips(&stack, &inbox, &account, FAMILY).await;

    let want_reason = format!(
        "circuit breaker open: {limit} fixes for family {FAMILY} in account {account} failed verification within the last hour (limit {limit})"
    );
    let metric = json!({"Family": FAMILY, "Cause": "VerificationFailures"});
    for round in 1..=2 {
        let tripped_before = stack.metric_sum("BreakerTripped", metric.clone()).await;
        fixes_that_do_not_hold(&stack, limit as usize).await;
        let row = status_of(&account, FAMILY).expect("counted");
        assert_eq!(row["verification_failures"], limit, "{row}");
        assert_eq!(row["verification_failure_limit"], limit, "{row}");
        // Each was an auto change (and the second round follows the first's healed one).
        assert_eq!(row["count"], limit + round - 1, "{row}");
        assert_eq!(row["open"], true, "{row}");

        // The next auto finding of the family waits for a person, and says why; its bucket is untouched.
        let bucket = unversioned_bucket(&stack).await;
        let name = publish_rule(&stack, "S3-012", &bucket).await;
        let (status, states, c) = settled(&stack, &name).await;
        assert_eq!(c["decision"], "approve", "round {round}: {c}");
        assert_eq!(c["mode"], "auto", "{c}");
        let reason = c["reason"].as_str().unwrap_or_default();
        assert!(reason.starts_with(&want_reason), "round {round}: {reason}");
        assert_eq!(status, "RUNNING", "{states:?}");
        assert_eq!(states.last().map(String::as_str), Some("RequestApproval"));
        assert_eq!(versioning(&stack, &bucket).await, None);
        let _ = stack
            .sfn
            .stop_execution()
            .execution_arn(stack.execution_arn(&name))
            .send()
            .await;

        // Told once per trip: the first round's trip, then (after the reset below) the second's.
        let got = trips(&stack, &inbox).await;
        assert_eq!(got.len(), 1, "round {round}: {got:#?}");
        let m = &got[0];
        assert_eq!(m.attributes["cause"], "VerificationFailures");
        for want in [
            format!("Why:        {limit} fixes failed verification within the last hour, limit {limit} (breaker.max_verification_failures_per_hour)\n"),
            format!("First held: S3-012 {bucket}\n"),
            format!("Reset:      auto-remediate breaker reset --account {account} --family {FAMILY}\n"),
        ] {
            assert!(m.body.contains(&want), "{want:?} not in\n{}", m.body);
        }
        assert_eq!(
            stack.metric_sum("BreakerTripped", metric.clone()).await - tripped_before,
            1.0,
            "round {round}: one BreakerTripped metric"
        );

        // A reset clears both counts: the next finding is fixed in auto, and holds.
        let out = cli(&["breaker", "reset", "--account", &account, "--family", FAMILY]);
        assert!(out.contains("1 account and family window(s) cleared"), "{out}");
        assert_eq!(status_of(&account, FAMILY), None);
        let bucket = unversioned_bucket(&stack).await;
        let name = publish_rule(&stack, "S3-012", &bucket).await;
        let (_, states, c) = settled(&stack, &name).await;
        assert_eq!(c["decision"], "auto", "{c}");
        assert_eq!(states.last().map(String::as_str), Some("Healed"), "{states:?}");
        assert_eq!(versioning(&stack, &bucket).await.as_deref(), Some("Enabled"));
    }
    // The other family's breaker never saw any of it.
    assert!(status_of(&account, "s3-acl").is_none_or(|r| r["verification_failures"] == 0));
    cli(&["breaker", "reset", "--account", &account, "--family", FAMILY]);
    stack.unwatch(&inbox).await;
}
