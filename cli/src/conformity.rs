//! Conformity check messages, shaped like those Conformity publishes to its SNS topic
//! (`lambdas/core/fixtures/conformity-*.json`).

use ar_core::catalog::Catalog;
use serde_json::{json, Value};

/// A FAILURE of `rule_id` on `resource`, discovered at `now_ms`. `region` is `global` for S3.
pub fn failure(account_id: &str, rule_id: &str, region: &str, resource: &str, text: &str, now_ms: u64) -> Value {
    let rule = Catalog::builtin().get(rule_id);
    let service = rule
        .map(|r| r.service.as_str())
        .unwrap_or_else(|| rule_id.split('-').next().unwrap_or_default());
    json!({
        "organisationId": "demo-org",
        "accountId": "demo-account",
        "accountName": "auto-remediate demo",
        "service": service,
        "region": region,
        "id": format!("ccc:demo-org:demo-account:{rule_id}:{service}:{region}:{resource}:{now_ms}"),
        "resource": resource,
        "ccrn": format!("ccrn:aws:{account_id}:{service}:{region}:{resource}"),
        "ruleId": rule_id,
        "ruleTitle": rule.map(|r| r.title.as_str()),
        "status": "FAILURE",
        "categories": ["security"],
        "riskLevel": rule.map(|r| r.risk.as_str()).unwrap_or("VERY_HIGH"),
        "message": text,
        "createdDate": now_ms,
        "failureDiscoveryDate": now_ms,
        "tags": []
    })
}

#[cfg(test)]
mod tests {
    use ar_core::catalog::Catalog;
    use ar_core::finding::{parse_conformity, Intake};

    /// The messages the demo sends are accepted by the trigger's own intake.
    #[test]
    fn demo_messages_pass_intake() {
        for (rule, region, resource) in [
            ("S3-001", "global", "demo-public-1700000000000"),
            ("EC2-002", "us-east-1", "sg-0123456789abcdef0"),
            ("EC2-003", "us-east-1", "sg-0fedcba9876543210"),
        ] {
            let m = super::failure("123456789012", rule, region, resource, "demo", 1_700_000_000_000);
            match parse_conformity(&m.to_string(), Catalog::builtin(), "us-east-1").unwrap() {
                Intake::Failure(f) => {
                    assert_eq!(f.rule_id, rule);
                    assert_eq!(f.resource, resource);
                    assert!(f.execution_name(1).starts_with(&format!("{rule}-{resource}-")));
                }
                other => panic!("{other:?}"),
            }
        }
    }
}
