//! Each AWS Config sample sorts as expected; what is malformed is refused by name.

use serde_json::{json, Value};

use super::super::eventbridge::sort;
use super::super::{AckReason, Intake, IntakeCtx};
use crate::catalog::Catalog;

/// The verbatim sample (`tests/fixtures/config-samples/README.md` says where it is from).
pub(crate) const ACCESS_KEYS_ROTATED: &str =
    include_str!("../../../../../tests/fixtures/config-samples/access-keys-rotated-noncompliant.json");

/// The sample about another managed rule and resource: only the rule's name, the resource's
/// type and id changed, in the detail and in its evaluation's qualifier alike.
pub(crate) fn about(rule_name: &str, resource_type: &str, resource_id: &str) -> Value {
    let mut e: Value = serde_json::from_str(ACCESS_KEYS_ROTATED).unwrap();
    for d in [&mut e["detail"]] {
        d["configRuleName"] = json!(rule_name);
        d["resourceType"] = json!(resource_type);
        d["resourceId"] = json!(resource_id);
        for result in ["newEvaluationResult", "oldEvaluationResult"] {
            let q = &mut d[result]["evaluationResultIdentifier"]["evaluationResultQualifier"];
            q["configRuleName"] = json!(rule_name);
            q["resourceType"] = json!(resource_type);
            q["resourceId"] = json!(resource_id);
        }
    }
    e
}

fn cx() -> IntakeCtx<'static> {
    IntakeCtx::new(Catalog::builtin(), "us-east-1")
}

fn one(e: &Value) -> Result<Intake, crate::Error> {
    let mut r = sort(e, &cx());
    assert_eq!(r.len(), 1, "{r:?}");
    r.remove(0)
}

fn ack(e: &Value) -> (AckReason, String) {
    match one(e) {
        Ok(Intake::Acknowledged(a)) => (a.reason, a.detail),
        other => panic!("expected an acknowledgement, got {other:?}"),
    }
}

fn error(e: &Value) -> &'static str {
    match one(e) {
        Err(e) => e.name(),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn the_access_keys_rotated_sample_is_not_healed_here_and_says_so() {
    // ACCESS_KEYS_ROTATED names the IAM user by its id (AIDA...), not the name IAM-038 acts on.
    let e: Value = serde_json::from_str(ACCESS_KEYS_ROTATED).unwrap();
    let (reason, detail) = ack(&e);
    assert_eq!(reason, AckReason::RuleNotHealed);
    assert!(detail.contains("access-keys-rotated"), "{detail}");
}

#[test]
fn a_non_compliant_public_read_bucket_is_one_finding_per_mapped_rule() {
    let e = about(
        "s3-bucket-public-read-prohibited",
        "AWS::S3::Bucket",
        "northbound-reports",
    );
    let found: Vec<_> = sort(&e, &cx())
        .into_iter()
        .map(|r| match r {
            Ok(Intake::Failure(f)) => *f,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        found.iter().map(|f| f.rule_id.as_str()).collect::<Vec<_>>(),
        ["S3-001", "S3-005", "S3-006", "S3-010", "S3-014"]
    );
    let f = &found[0];
    assert_eq!(
        (f.source.as_str(), f.resource.as_str()),
        ("config", "northbound-reports")
    );
    assert_eq!(
        (f.account_id.as_str(), f.region.as_str()),
        ("477575873490", "us-east-1")
    );
    assert_eq!(f.source_ids["identifier"], "S3_BUCKET_PUBLIC_READ_PROHIBITED");
    assert_eq!(f.source_ids["resourceType"], "AWS::S3::Bucket");
    assert_eq!(
        f.discovered_at_ms,
        Some(super::super::event::rfc3339_ms("t", "2021-04-19T19:04:04.741Z").unwrap())
    );
}

#[test]
fn managed_rules_are_found_by_their_documented_security_hub_and_conformance_pack_names() {
    for name in [
        "restricted-ssh",
        "securityhub-restricted-ssh-0a1b2c3d",
        "restricted-ssh-conformance-pack-6cruwvtg2",
    ] {
        let e = about(name, "AWS::EC2::SecurityGroup", "sg-0123456789abcdef0");
        match one(&e) {
            Ok(Intake::Failure(f)) => {
                assert_eq!(
                    (f.rule_id.as_str(), f.resource.as_str()),
                    ("EC2-002", "sg-0123456789abcdef0"),
                    "{name}"
                )
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    let e = about("my-ssh-rule", "AWS::EC2::SecurityGroup", "sg-0123456789abcdef0");
    assert_eq!(ack(&e).0, AckReason::RuleNotHealed);
    // GuardDuty is about the account in a region: the region is the resource.
    let e = about("guardduty-enabled-centralized", "AWS::::Account", "477575873490");
    match one(&e) {
        Ok(Intake::Failure(f)) => assert_eq!((f.rule_id.as_str(), f.resource.as_str()), ("GD-001", "us-east-1")),
        other => panic!("{other:?}"),
    }
    let e = about("guardduty-enabled-centralized", "AWS::::Account", "111111111111");
    assert_eq!(error(&e), "AccountMismatch");
}

#[test]
fn compliant_and_undecided_evaluations_and_other_resource_types_start_nothing() {
    let mut e = about("restricted-ssh", "AWS::EC2::SecurityGroup", "sg-0123456789abcdef0");
    e["detail"]["newEvaluationResult"]["complianceType"] = json!("COMPLIANT");
    assert_eq!(ack(&e).0, AckReason::Success);
    e["detail"]["newEvaluationResult"]["complianceType"] = json!("NOT_APPLICABLE");
    assert_eq!(ack(&e).0, AckReason::NotFailed);
    e["detail"]["newEvaluationResult"]["complianceType"] = json!("INSUFFICIENT_DATA");
    assert_eq!(ack(&e).0, AckReason::NotFailed);
    let e = about("restricted-ssh", "AWS::EC2::Instance", "i-0123456789abcdef0");
    assert_eq!(ack(&e).0, AckReason::RuleNotHealed);
    // Another EventBridge event altogether.
    let mut e = about("restricted-ssh", "AWS::EC2::SecurityGroup", "sg-0123456789abcdef0");
    e["detail-type"] = json!("Config Configuration Item Change");
    assert_eq!(ack(&e).0, AckReason::NotACheck);
}

#[test]
fn malformed_or_contradictory_events_are_rejected_by_name() {
    let with = |edit: &dyn Fn(&mut Value)| {
        let mut e = about("restricted-ssh", "AWS::EC2::SecurityGroup", "sg-0123456789abcdef0");
        edit(&mut e);
        error(&e)
    };
    assert_eq!(
        with(&|e| e["detail"]["awsAccountId"] = json!("47757587349")),
        "InvalidField"
    );
    assert_eq!(
        with(&|e| {
            e["detail"].as_object_mut().unwrap().remove("awsRegion");
        }),
        "MissingField"
    );
    assert_eq!(with(&|e| e["detail"]["awsRegion"] = json!("global")), "InvalidField");
    assert_eq!(
        with(&|e| e["detail"]["resourceId"] = json!("not-a-group")),
        "InvalidResourceId"
    );
    assert_eq!(
        with(&|e| e["detail"]["resourceId"] =
            json!("arn:aws:ec2:us-east-1:111111111111:security-group/sg-0123456789abcdef0")),
        "AccountMismatch"
    );
    assert_eq!(
        with(&|e| e["detail"]["newEvaluationResult"]["complianceType"] = json!("BAD")),
        "InvalidField"
    );
    assert_eq!(
        with(&|e| {
            e["detail"].as_object_mut().unwrap().remove("newEvaluationResult");
        }),
        "MissingField"
    );
    assert_eq!(
        with(&|e| e["detail"]["newEvaluationResult"]["resultRecordedTime"] = json!("soon")),
        "InvalidField"
    );
    assert_eq!(
        with(&|e| {
            e["detail"].as_object_mut().unwrap().remove("configRuleName");
        }),
        "MissingField"
    );
    assert_eq!(with(&|e| e["detail"] = json!([])), "InvalidField");
    assert_eq!(
        with(&|e| {
            e.as_object_mut().unwrap().remove("detail");
        }),
        "MissingField"
    );
}

/// A managed rule the organization named its own way is healed once the config's
/// `sources.config_rules` maps its name to its identifier, exactly that name and before the name
/// heuristics; without the entry it is acknowledged RuleNotHealed, the detail naming the key.
#[test]
fn a_custom_named_rule_heals_through_the_config_s_sources_config_rules_and_only_then() {
    let approval = r#""approval": {"approvers": ["a@example.com"], "sender": "ar@example.com"}"#;
    let config = crate::config::Config::parse(
        &format!(
            r#"{{{approval}, "sources": {{"config_rules": {{
                "org-s3-no-public-read": "S3_BUCKET_PUBLIC_READ_PROHIBITED",
                "restricted-ssh-conformance-pack-abc": "S3_BUCKET_PUBLIC_READ_PROHIBITED"}}}}}}"#
        ),
        Catalog::builtin(),
    )
    .unwrap();
    let configured = IntakeCtx {
        config: &config,
        ..cx()
    };
    let bucket = |name: &str| about(name, "AWS::S3::Bucket", "northbound-reports");
    let found: Vec<_> = sort(&bucket("org-s3-no-public-read"), &configured)
        .into_iter()
        .map(|r| match r {
            Ok(Intake::Failure(f)) => *f,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        found.iter().map(|f| f.rule_id.as_str()).collect::<Vec<_>>(),
        ["S3-001", "S3-005", "S3-006", "S3-010", "S3-014"]
    );
    for f in &found {
        assert_eq!(f.resource, "northbound-reports");
        assert_eq!(f.rule_title.as_deref(), Some("org-s3-no-public-read"));
        assert_eq!(f.source_ids["configRuleName"], "org-s3-no-public-read");
        assert_eq!(f.source_ids["identifier"], "S3_BUCKET_PUBLIC_READ_PROHIBITED");
    }
    // An exact configured name wins over the name heuristics (this one would be restricted-ssh's).
    match &sort(&bucket("restricted-ssh-conformance-pack-abc"), &configured)[..] {
        [Ok(Intake::Failure(f)), ..] => assert_eq!(f.source_ids["identifier"], "S3_BUCKET_PUBLIC_READ_PROHIBITED"),
        other => panic!("{other:?}"),
    }
    // Exactly the name: another case or a decoration of it is not the configured rule.
    for name in ["Org-S3-No-Public-Read", "securityhub-org-s3-no-public-read-0a1b2c3d"] {
        match &sort(&bucket(name), &configured)[..] {
            [Ok(Intake::Acknowledged(a))] => assert_eq!(a.reason, AckReason::RuleNotHealed, "{name}"),
            other => panic!("{name}: {other:?}"),
        }
    }
    // The documented names still heal beside the configured ones.
    let ssh = about("restricted-ssh", "AWS::EC2::SecurityGroup", "sg-0123456789abcdef0");
    match &sort(&ssh, &configured)[..] {
        [Ok(Intake::Failure(f))] => assert_eq!(f.rule_id, "EC2-002"),
        other => panic!("{other:?}"),
    }
    // Without the entry: acknowledged RuleNotHealed, nothing starts, and the detail says what to set.
    let (reason, detail) = ack(&bucket("org-s3-no-public-read"));
    assert_eq!(reason, AckReason::RuleNotHealed);
    assert!(detail.contains("org-s3-no-public-read"), "{detail}");
    assert!(detail.contains("sources.config_rules"), "{detail}");
    assert!(
        detail.contains(r#""config_rules": {"org-s3-no-public-read": "<managed rule identifier>"}"#),
        "{detail}"
    );
}
