//! Findings of the other sources heal through the same workflow (issue 20): an EventBridge event
//! invokes the trigger with the event itself, as an EventBridge rule's target is invoked on AWS.

use ar_tests::{unique, Stack};
use serde_json::{json, Value};

/// The Security Hub S3.2 sample (tests/fixtures/securityhub-samples/afsbp-s3.2.json), failing,
/// about `bucket` in this stack's account and region, in the event Security Hub sends.
fn s3_2_event(stack: &Stack, bucket: &str) -> Value {
    let mut f: Value = serde_json::from_str(include_str!("../fixtures/securityhub-samples/afsbp-s3.2.json")).unwrap();
    let (account, region) = (&stack.info.account_id, &stack.info.region);
    f["Id"] = json!(format!(
        "arn:aws:securityhub:{region}:{account}:subscription/aws-foundational-security-best-practices/v/1.0.0/S3.2/finding/{}",
        unique("f")
    ));
    f["Compliance"]["Status"] = json!("FAILED");
    f["Workflow"]["Status"] = json!("NEW");
    f["AwsAccountId"] = json!(account);
    f["Region"] = json!(region);
    f["Resources"][0]["Id"] = json!(format!("arn:aws:s3:::{bucket}"));
    f["Resources"][0]["Region"] = json!(region);
    json!({
        "version": "0", "id": unique("event"), "detail-type": "Security Hub Findings - Imported",
        "source": "aws.securityhub", "account": account, "time": "2026-01-01T00:00:00Z", "region": region,
        "resources": [], "detail": {"findings": [f]}
    })
}

#[tokio::test]
async fn a_security_hub_s3_2_event_heals_a_public_bucket() {
    let stack = Stack::connect();
    let (bucket, _) = crate::s3::bucket_with(&stack, vec![crate::s3::group(crate::s3::ALL, "READ")]).await;
    let out = stack
        .invoke("auto-remediate-trigger", &s3_2_event(&stack, &bucket))
        .await
        .unwrap_or_else(|(name, text)| panic!("the trigger failed with {name}: {text}"));
    let records = out["records"].as_array().expect("records");
    let rules: Vec<&str> = records.iter().filter_map(|r| r["rule_id"].as_str()).collect();
    assert_eq!(rules, ["S3-001", "S3-005", "S3-006", "S3-010", "S3-014"], "{out}");
    let mut healed = 0;
    for r in records {
        assert_eq!(r["delivery"], "ActedOn", "{r}");
        let name = r["execution_name"].as_str().expect("an execution per mapped rule");
        let run = stack.wait(name).await;
        if r["rule_id"] == "S3-001" {
            run.assert_healed();
            healed += 1;
        }
    }
    assert_eq!(healed, 1);
    let acl = stack.s3.get_bucket_acl().bucket(&bucket).send().await.unwrap();
    assert!(
        acl.grants()
            .iter()
            .all(|g| g.grantee().and_then(|g| g.uri()) != Some(crate::s3::ALL)),
        "AllUsers still granted: {:?}",
        acl.grants()
    );
}
