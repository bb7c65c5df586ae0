//! Each Security Hub sample sorts as expected; what is malformed is refused by name.

use serde_json::{json, Value};

use super::super::eventbridge::sort;
use super::super::{AckReason, Intake, IntakeCtx};
use crate::catalog::Catalog;
use crate::finding::Finding;

/// The verbatim samples (`tests/fixtures/securityhub-samples/README.md` says where each is from).
pub(crate) const S3_2_PASSED: &str = include_str!("../../../../../tests/fixtures/securityhub-samples/afsbp-s3.2.json");
pub(crate) const S3_3_PASSED: &str = include_str!("../../../../../tests/fixtures/securityhub-samples/afsbp-s3.3.json");
pub(crate) const SQS_1: &str = include_str!("../../../../../tests/fixtures/securityhub-samples/afsbp-sqs.1.json");
pub(crate) const RDS_1_CLUSTER: &str =
    include_str!("../../../../../tests/fixtures/securityhub-samples/afsbp-rds.1.json");
pub(crate) const EC2_1: &str = include_str!("../../../../../tests/fixtures/securityhub-samples/afsbp-ec2.1.json");
pub(crate) const LAMBDA_1: &str = include_str!("../../../../../tests/fixtures/securityhub-samples/afsbp-lambda.1.json");
pub(crate) const EC2_7_EVENT: &str =
    include_str!("../../../../../tests/fixtures/securityhub-samples/event-afsbp-ec2.7.json");
pub(crate) const DOCS_CONSOLIDATED: &str =
    include_str!("../../../../../tests/fixtures/securityhub-samples/docs-consolidated-cloudtrail.2.json");

/// The event Security Hub sends to EventBridge around findings, as its user guide gives it
/// ("EventBridge event formats for Security Hub", `Security Hub Findings - Imported`).
pub(crate) fn event(findings: Vec<Value>) -> Value {
    json!({
        "version": "0",
        "id": "CWE-event-id",
        "detail-type": "Security Hub Findings - Imported",
        "source": "aws.securityhub",
        "account": "111122223333",
        "time": "2019-04-11T21:52:17Z",
        "region": "us-west-2",
        "resources": [],
        "detail": { "findings": findings }
    })
}

pub(crate) fn sample(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

/// The S3.2 sample as a failure: only its compliance and workflow status changed.
pub(crate) fn s3_2_failed() -> Value {
    let mut f = sample(S3_2_PASSED);
    f["Compliance"]["Status"] = json!("FAILED");
    f["Workflow"]["Status"] = json!("NEW");
    f
}

fn cx() -> IntakeCtx<'static> {
    IntakeCtx::new(Catalog::builtin(), "us-east-1")
}

fn sorted(findings: Vec<Value>) -> Vec<Result<Intake, crate::Error>> {
    sort(&event(findings), &cx())
}

fn acted(results: Vec<Result<Intake, crate::Error>>) -> Vec<Finding> {
    results
        .into_iter()
        .map(|r| match r {
            Ok(Intake::Failure(f)) => *f,
            other => panic!("expected a failure to act on, got {other:?}"),
        })
        .collect()
}

fn ack_of(results: Vec<Result<Intake, crate::Error>>) -> (AckReason, String) {
    assert_eq!(results.len(), 1, "{results:?}");
    match results.into_iter().next().unwrap() {
        Ok(Intake::Acknowledged(a)) => (a.reason, a.detail),
        other => panic!("expected an acknowledgement, got {other:?}"),
    }
}

fn error_of(results: Vec<Result<Intake, crate::Error>>) -> &'static str {
    assert_eq!(results.len(), 1, "{results:?}");
    match results.into_iter().next().unwrap() {
        Err(e) => e.name(),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn the_sqs_1_sample_is_acted_on_as_sqs_004_on_its_queue_with_the_ids_for_updates_back() {
    let found = acted(sorted(vec![sample(SQS_1)]));
    assert_eq!(found.len(), 1);
    let f = &found[0];
    assert_eq!(
        (f.source.as_str(), f.rule_id.as_str(), f.resource.as_str()),
        ("securityhub", "SQS-004", "test_queue_3")
    );
    assert_eq!(
        (f.account_id.as_str(), f.region.as_str()),
        ("111111111111", "us-east-1")
    );
    assert_eq!(f.account_source, Some(crate::finding::AccountSource::Event));
    assert_eq!(f.check_id, sample(SQS_1)["Id"].as_str().unwrap());
    assert_eq!(f.source_ids["Id"], f.check_id);
    assert_eq!(
        f.source_ids["ProductArn"],
        "arn:aws:securityhub:us-east-1::product/aws/securityhub"
    );
    assert_eq!(f.source_ids["control"], "SQS.1");
    // UpdatedAt is the discovery: a failure raised again after a heal is a newer update.
    assert_eq!(
        f.discovered_at_ms,
        Some(super::super::event::rfc3339_ms("t", sample(SQS_1)["UpdatedAt"].as_str().unwrap()).unwrap())
    );
    assert!(f.created_at_ms.is_some());
}

#[test]
fn a_failed_s3_2_is_one_finding_per_mapped_rule_on_the_bucket() {
    let found = acted(sorted(vec![s3_2_failed()]));
    let rules: Vec<&str> = found.iter().map(|f| f.rule_id.as_str()).collect();
    assert_eq!(rules, ["S3-001", "S3-005", "S3-006", "S3-010", "S3-014"]);
    for f in &found {
        assert_eq!(f.resource, "so0111-aws-cloudtrail-111111111111");
        assert_eq!(f.account_id, "111111111111");
        assert_eq!(f.service, "S3");
    }
    // Each rule is its own check: its own generations and execution names.
    let keys: std::collections::BTreeSet<_> = found.iter().map(Finding::check_key).collect();
    assert_eq!(keys.len(), found.len());
}

#[test]
fn passed_resolved_suppressed_and_archived_findings_start_nothing_and_say_why() {
    assert_eq!(ack_of(sorted(vec![sample(S3_2_PASSED)])).0, AckReason::Success);
    assert_eq!(ack_of(sorted(vec![sample(S3_3_PASSED)])).0, AckReason::Success);
    let with = |path: &[&str], value: Value| {
        let mut f = s3_2_failed();
        let mut at = &mut f;
        for p in &path[..path.len() - 1] {
            at = &mut at[*p];
        }
        at[path[path.len() - 1]] = value;
        ack_of(sorted(vec![f])).0
    };
    assert_eq!(
        with(&["Workflow", "Status"], json!("SUPPRESSED")),
        AckReason::Suppressed
    );
    assert_eq!(with(&["Workflow", "Status"], json!("RESOLVED")), AckReason::Resolved);
    assert_eq!(with(&["RecordState"], json!("ARCHIVED")), AckReason::Archived);
    assert_eq!(with(&["Compliance", "Status"], json!("WARNING")), AckReason::NotFailed);
    assert_eq!(
        with(&["Compliance", "Status"], json!("NOT_AVAILABLE")),
        AckReason::NotFailed
    );
    // The older WorkflowState is read when there is no Workflow.
    let mut f = s3_2_failed();
    f.as_object_mut().unwrap().remove("Workflow");
    f["WorkflowState"] = json!("SUPPRESSED");
    assert_eq!(ack_of(sorted(vec![f])).0, AckReason::Suppressed);
}

#[test]
fn controls_not_healed_here_are_acknowledged_with_why() {
    // RDS.1 on a cluster snapshot: RDS-023 heals DB snapshots only.
    let (reason, detail) = ack_of(sorted(vec![sample(RDS_1_CLUSTER)]));
    assert_eq!(reason, AckReason::RuleNotHealed);
    assert!(detail.contains("AwsRdsDbClusterSnapshot"), "{detail}");
    // EC2.1 is about the account, naming no snapshot: unmapped, with the table's reason.
    let (reason, detail) = ack_of(sorted(vec![sample(EC2_1)]));
    assert_eq!(reason, AckReason::RuleNotHealed);
    assert!(detail.contains("AWS::::Account"), "{detail}");
    assert_eq!(ack_of(sorted(vec![sample(LAMBDA_1)])).0, AckReason::RuleNotHealed);
    // The whole event, verbatim: EC2.7 (EBS default encryption) has no rule here.
    let (reason, detail) = ack_of(sort(&sample(EC2_7_EVENT), &cx()));
    assert_eq!(reason, AckReason::RuleNotHealed);
    assert!(detail.contains("EC2.7"), "{detail}");
    // A consolidated finding (SecurityControlId) from the user guide: CloudTrail.2 (trail encryption).
    let (reason, detail) = ack_of(sorted(vec![sample(DOCS_CONSOLIDATED)]));
    assert_eq!(reason, AckReason::RuleNotHealed);
    assert!(detail.contains("CloudTrail.2"), "{detail}");
}

#[test]
fn the_control_comes_from_security_control_id_before_the_standards_control_arn() {
    // The SQS.1 sample with a consolidated id naming another control: the id decides.
    let mut f = sample(SQS_1);
    f["Compliance"]["SecurityControlId"] = json!("SQS.2");
    assert_eq!(ack_of(sorted(vec![f])).0, AckReason::RuleNotHealed);
    // A CIS standards control arn is not an FSBP control id: not a control we read.
    let mut f = sample(SQS_1);
    f["ProductFields"]["StandardsControlArn"] =
        json!("arn:aws:securityhub:us-east-1:111111111111:control/cis-aws-foundations-benchmark/v/1.2.0/4.1");
    assert_eq!(ack_of(sorted(vec![f])).0, AckReason::NotACheck);
    // A finding of another product (no Compliance).
    let mut f = sample(SQS_1);
    f.as_object_mut().unwrap().remove("Compliance");
    assert_eq!(ack_of(sorted(vec![f])).0, AckReason::NotACheck);
}

#[test]
fn port_and_region_level_controls_read_their_resource() {
    // EC2.13 on a security group: the group id from its ARN.
    let mut f = sample(SQS_1);
    f["Compliance"]["SecurityControlId"] = json!("EC2.13");
    f["Resources"] = json!([{"Type": "AwsEc2SecurityGroup", "Id": "arn:aws:ec2:us-east-1:111111111111:security-group/sg-0123456789abcdef0", "Partition": "aws", "Region": "us-east-1"}]);
    let found = acted(sorted(vec![f]));
    assert_eq!(
        found
            .iter()
            .map(|f| (f.rule_id.as_str(), f.resource.as_str()))
            .collect::<Vec<_>>(),
        [("EC2-002", "sg-0123456789abcdef0")]
    );
    // GuardDuty.1 is about the account in a region: the region is the resource.
    let mut f = sample(EC2_1);
    f["Compliance"]["SecurityControlId"] = json!("GuardDuty.1");
    f["Region"] = json!("eu-west-1");
    f["Resources"][0]["Region"] = json!("eu-west-1");
    let found = acted(sorted(vec![f.clone()]));
    assert_eq!(
        (found[0].rule_id.as_str(), found[0].resource.as_str()),
        ("GD-001", "eu-west-1")
    );
    f["Resources"][0]["Id"] = json!("AWS::::Account:222222222222");
    assert_eq!(error_of(sorted(vec![f])), "AccountMismatch");
}

#[test]
fn several_findings_in_one_event_are_each_sorted_on_their_own() {
    let results = sorted(vec![sample(SQS_1), sample(S3_2_PASSED), json!({"Id": 5}), json!("x")]);
    assert_eq!(results.len(), 4);
    assert!(matches!(&results[0], Ok(Intake::Failure(f)) if f.rule_id == "SQS-004"));
    assert!(matches!(&results[1], Ok(Intake::Acknowledged(a)) if a.reason == AckReason::Success));
    assert!(matches!(&results[2], Ok(Intake::Acknowledged(a)) if a.reason == AckReason::NotACheck));
    assert!(matches!(&results[3], Err(e) if e.name() == "InvalidField"));
}

#[test]
fn malformed_or_contradictory_findings_are_rejected_by_name() {
    let with = |edit: &dyn Fn(&mut Value)| {
        let mut f = sample(SQS_1);
        edit(&mut f);
        error_of(sorted(vec![f]))
    };
    assert_eq!(with(&|f| f["AwsAccountId"] = json!("1111")), "InvalidField");
    assert_eq!(
        with(&|f| {
            f.as_object_mut().unwrap().remove("AwsAccountId");
        }),
        "MissingField"
    );
    assert_eq!(
        with(&|f| {
            f.as_object_mut().unwrap().remove("Resources");
        }),
        "MissingField"
    );
    assert_eq!(with(&|f| f["Resources"] = json!([])), "InvalidField");
    assert_eq!(with(&|f| f["Region"] = json!("mars-1")), "InvalidField");
    assert_eq!(with(&|f| f["Compliance"]["Status"] = json!("MAYBE")), "InvalidField");
    assert_eq!(
        with(&|f| f["Compliance"]["SecurityControlId"] = json!("S3.2; drop")),
        "InvalidField"
    );
    assert_eq!(with(&|f| f["Workflow"]["Status"] = json!(7)), "InvalidField");
    assert_eq!(
        with(&|f| f["Resources"][0]["Id"] = json!("test_queue_3")),
        "InvalidField"
    );
    assert_eq!(
        with(&|f| f["Resources"][0]["Id"] = json!("arn:aws:sqs:us-east-1:222222222222:test_queue_3")),
        "AccountMismatch"
    );
    assert_eq!(
        with(&|f| f["Resources"][0]["Id"] = json!("arn:aws:sqs:us-west-2:111111111111:test_queue_3")),
        "RegionMismatch"
    );
    assert_eq!(
        with(&|f| f["Resources"][0]["Region"] = json!("us-west-2")),
        "RegionMismatch"
    );
    assert_eq!(
        with(&|f| f["Resources"][0]["Id"] = json!("arn:aws:sqs:us-east-1:111111111111:bad queue!")),
        "InvalidResourceId"
    );
    assert_eq!(with(&|f| f["UpdatedAt"] = json!("yesterday")), "InvalidField");
    // The event itself.
    let bad = |detail: Value| {
        let mut e = event(vec![]);
        e["detail"] = detail;
        error_of(sort(&e, &cx()))
    };
    assert_eq!(bad(json!({})), "MissingField");
    assert_eq!(bad(json!({"findings": {}})), "InvalidField");
    assert_eq!(bad(json!({"findings": []})), "InvalidField");
    assert_eq!(bad(json!({"findings": vec![json!({}); 101]})), "InvalidField");
    assert_eq!(bad(json!("findings")), "InvalidField");
}
