//! Conformity check messages, shaped like those Conformity publishes to its SNS topic
//! (`tests/fixtures/conformity/*.json`).

use ar_core::catalog::Catalog;
use ar_core::intake::conformity;
use serde_json::Value;

/// A FAILURE of `rule_id` on `resource`, discovered at `now_ms`, as Conformity publishes it
/// (`cloudProviderId` the AWS account, Conformity's own account id in the `ccrn`), with `text`
/// as its message.
pub fn failure(account_id: &str, rule_id: &str, region: &str, resource: &str, text: &str, now_ms: u64) -> Value {
    let mut m = conformity::failure_message(Catalog::builtin(), account_id, rule_id, region, resource, now_ms);
    m["message"] = Value::String(text.to_string());
    m
}

#[cfg(test)]
mod tests {
    use ar_core::catalog::Catalog;
    use ar_core::intake::{conformity, Intake, IntakeCtx};

    /// The messages the demo sends are accepted by the trigger's own intake.
    #[test]
    fn demo_messages_pass_intake() {
        for (rule, region, resource) in [
            ("S3-001", "global", "demo-public-1700000000000"),
            ("EC2-002", "us-east-1", "sg-0123456789abcdef0"),
            ("EC2-003", "us-east-1", "sg-0fedcba9876543210"),
        ] {
            let m = super::failure("123456789012", rule, region, resource, "demo", 1_700_000_000_000);
            match conformity::parse(&m.to_string(), &IntakeCtx::new(Catalog::builtin(), "us-east-1")).unwrap() {
                Intake::Failure(f) => {
                    assert_eq!(f.rule_id, rule);
                    assert_eq!(f.resource, resource);
                    assert_eq!(f.account_id, "123456789012");
                    assert!(!m["ccrn"].as_str().unwrap().contains("123456789012"));
                    assert!(f.execution_name(1).starts_with(&format!("{rule}-{resource}-")));
                }
                other => panic!("{other:?}"),
            }
        }
    }
}
