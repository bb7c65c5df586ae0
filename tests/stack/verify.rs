//! Verify and slow changes: a change may take its family's settle time, counted from when it was
//! applied, to show. Verify re-reads for up to that long itself and, while the settle time is
//! not over, answers `settling_seconds` (the state machine waits, then calls again) instead of
//! failing; once it is over, a resource still failing is `VerificationFailed`.

use ar_tests::Stack;
use serde_json::{json, Value};

use crate::s3::{bucket_with, group, ALL};

fn finding(stack: &Stack, message: &Value) -> Value {
    serde_json::to_value(stack.finding(message).expect("a failure to act on")).unwrap()
}

fn now() -> u64 {
    ar_tests::now_ms() / 1000
}

#[tokio::test]
async fn a_change_still_settling_is_verified_again_later_and_one_past_its_settle_time_fails() {
    let stack = Stack::connect();
    // Still public: as if S3 had not shown the fix yet.
    let (bucket, _) = bucket_with(&stack, vec![group(ALL, "READ")]).await;
    let finding = finding(&stack, &stack.message("S3-001", &bucket));
    let input = |applied_at: u64| {
        json!({"execution": "arn:aws:states:us-east-1:123456789012:execution:x:verify-test",
               "finding": finding, "remediation": {"outcome": "remediated", "reason": "test", "applied_at": applied_at}})
    };

    // Applied "just now" with the settle time (6 s for S3) still ahead after Verify's own re-reads.
    let out = stack.invoke("auto-remediate-verify", &input(now() + 60)).await.unwrap();
    assert_eq!(out["compliant"], false);
    let pause = out["settling_seconds"].as_u64().unwrap();
    assert!((1..=30).contains(&pause), "{out}");

    // Applied long ago: the settle time is over and the rule still fails.
    let (name, message) = stack
        .invoke("auto-remediate-verify", &input(now() - 600))
        .await
        .unwrap_err();
    assert_eq!(name, "VerificationFailed", "{message}");
}
