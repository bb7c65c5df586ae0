//! The blast-radius circuit breaker on its own stack (`tests/config-breaker.json`: at most 20
//! auto changes per account and rule family in a rolling hour): a burst of 200 public-WRITE
//! buckets gets exactly 20 fixes, every other finding a run waiting at the approval gate with the
//! breaker's reason, and `auto-remediate breaker reset` reopens it.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use ar_tests::{named_stack_dir, Stack};
use futures::stream::{self, StreamExt};
use serde_json::Value;

use crate::s3::{bucket_with, group, live_grants, ALL};

const FAMILY: &str = "s3-acl";

/// The built CLI on the breaker stack; its stdout (the test fails on a non-zero exit).
fn cli(args: &[&str]) -> String {
    crate::cli::cli_ok_at(&named_stack_dir("breaker"), args)
}

fn status(account: &str) -> Option<Value> {
    let rows: Value = serde_json::from_str(&cli(&["breaker", "status", "--json"])).expect("status --json is JSON");
    rows.as_array()
        .expect("an array")
        .iter()
        .find(|r| r["account"] == account && r["family"] == FAMILY)
        .cloned()
}

/// Publishes one S3-003 finding; the execution the trigger started.
async fn publish(stack: &Stack, bucket: &str) -> String {
    let id = stack.publish_id(&stack.message("S3-003", bucket).to_string()).await;
    let d = stack.delivery(&id).await;
    let record = &d["result"]["records"][0];
    assert_eq!(record["result"], "started", "{bucket}: {d}");
    record["execution_name"].as_str().expect("an execution").to_string()
}

/// Where a run got to: (its status, the states it entered, Classify's output).
async fn progress(stack: &Stack, name: &str) -> (String, Vec<String>, Value) {
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
async fn settled(stack: &Stack, name: &str) -> (String, Vec<String>, Value) {
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
        tokio::time::sleep(Duration::from_millis(300)).await;
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

    let runs: Vec<(String, String, (String, Vec<String>, Value))> = stream::iter(names.iter())
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
}
