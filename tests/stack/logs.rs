//! The handlers' logs: JSON lines (the gateway hosts the handlers, so its log is theirs), every
//! line of a run's invocations naming the execution, the rule and the resource.

use ar_tests::{stack_dir, Stack};
use serde_json::Value;

use crate::s3::{bucket_with, group, ALL};

#[tokio::test]
async fn every_line_of_a_run_names_its_execution_rule_and_resource() {
    let stack = Stack::connect();
    let (bucket, _) = bucket_with(&stack, vec![group(ALL, "READ")]).await;
    let (name, _) = stack.publish_for_execution(&stack.message("S3-001", &bucket)).await;
    let run = stack.wait(&name).await;
    assert_eq!(run.states().last().map(String::as_str), Some("Healed"));

    let log = std::fs::read_to_string(stack_dir().join("gateway.log")).expect("the gateway's log");
    let lines: Vec<Value> = log
        .lines()
        .filter(|l| l.contains(&name) || l.contains(&bucket))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect();
    // The invocations of this run: the trigger's, then each task's.
    let mut handlers: Vec<&str> = lines
        .iter()
        .filter(|l| l["span"]["execution"] == name.as_str())
        .filter_map(|l| l["span"]["handler"].as_str())
        .collect();
    handlers.dedup();
    for h in ["trigger", "classify", "remediate", "verify", "notify"] {
        assert!(handlers.contains(&h), "no {h} line for {name}: {handlers:?}");
    }
    // Every line inside an invocation about this bucket carries all three.
    let in_invocations: Vec<&Value> = lines.iter().filter(|l| l["span"].is_object()).collect();
    assert!(in_invocations.len() >= 5, "{in_invocations:?}");
    for l in in_invocations {
        assert_eq!(l["span"]["execution"], name.as_str(), "{l}");
        assert_eq!(l["span"]["rule_id"], "S3-001", "{l}");
        assert_eq!(l["span"]["resource"], bucket.as_str(), "{l}");
        assert!(l["level"].is_string() && l["message"].is_string(), "{l}");
    }
}
