//! Unit tests of [`super`], kept beside it in their own file.

use super::*;
use crate::catalog::Catalog;
use crate::config::Config;
use serde_json::{json, Value};

const ACCOUNT: &str = "123456789012";

fn cx() -> IntakeCtx<'static> {
    IntakeCtx::new(Catalog::builtin(), "us-east-1")
}

fn parse_v(v: &Value) -> Result<Intake, Error> {
    parse(&v.to_string(), &cx())
}

fn failure(v: Value) -> Finding {
    match parse_v(&v).unwrap() {
        Intake::Failure(f) => *f,
        other => panic!("expected a failure, got {other:?}"),
    }
}

fn ack_reason(v: &Value) -> AckReason {
    match parse_v(v) {
        Ok(Intake::Acknowledged(a)) => a.reason,
        other => panic!("expected an acknowledgement, got {other:?}"),
    }
}

fn s3_message() -> Value {
    serde_json::from_str(include_str!(
        "../../../../../tests/fixtures/conformity-s3-001-tagged.json"
    ))
    .unwrap()
}

fn sample(name: &str) -> String {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/conformity-samples/");
    std::fs::read_to_string(format!("{dir}{name}")).unwrap()
}

#[test]
fn a_2021_shape_message_acts_in_the_cloud_provider_account_and_lets_the_bucket_decide_the_region() {
    let f = failure(s3_message());
    assert_eq!(f.rule_id, "S3-001");
    assert_eq!(f.account_id, ACCOUNT);
    assert_eq!(f.account_source, Some(AccountSource::CloudProviderId));
    assert_eq!(
        f.scanner_account.as_deref(),
        Some("b9f1ce2e-4a43-4c34-b0c6-0d2a4c2bd0f4")
    );
    assert_eq!(f.reported_region, "global");
    assert_eq!(
        f.region, "us-east-1",
        "S3: the live bucket's region decides (GetBucketLocation)"
    );
    assert_eq!(f.resource, "my-public-bucket");
    assert_eq!(f.tags.get("env").map(String::as_str), Some("prod"));
}

#[test]
fn the_ccrn_account_part_is_never_the_aws_account() {
    let mut m = s3_message();
    m.as_object_mut().unwrap().remove("cloudProviderId");
    // A relay that rewrote the ccrn with a 12-digit account: still not a source.
    m["ccrn"] = json!(format!("ccrn:aws:{ACCOUNT}:S3:global:my-public-bucket"));
    assert_eq!(ack_reason(&m), AckReason::AccountUnresolved);
    m["cloudProviderId"] = json!("210987654321");
    assert_eq!(failure(m).account_id, "210987654321");
}

#[test]
fn the_account_comes_from_the_link_arn_then_the_config_mapping() {
    let mut m = s3_message();
    let o = m.as_object_mut().unwrap();
    o.remove("cloudProviderId");
    o.insert(
        "link".into(),
        json!("https://console.aws.amazon.com/sns/v2/home?region=ca-central-1#/topics/arn%3Aaws%3Asns%3Aca-central-1%3A784770667506%3Ax"),
    );
    let f = failure(m.clone());
    assert_eq!(
        (f.account_id.as_str(), f.account_source),
        ("784770667506", Some(AccountSource::Link))
    );

    m.as_object_mut().unwrap().remove("link");
    assert_eq!(ack_reason(&m), AckReason::AccountUnresolved);
    let config: Config = serde_json::from_value(json!({
        "accounts": ["111122223333", {"id": ACCOUNT, "conformity_ids": ["b9f1ce2e-4a43-4c34-b0c6-0d2a4c2bd0f4"]}]
    }))
    .unwrap();
    let mapped = IntakeCtx {
        config: &config,
        ..cx()
    };
    match parse(&m.to_string(), &mapped).unwrap() {
        Intake::Failure(f) => assert_eq!(
            (f.account_id.as_str(), f.account_source),
            (ACCOUNT, Some(AccountSource::Config))
        ),
        other => panic!("{other:?}"),
    }
    // The mapping disagreeing with cloudProviderId is refused by name.
    m["cloudProviderId"] = json!("999999999999");
    assert_eq!(parse(&m.to_string(), &mapped).unwrap_err().name(), "AccountMismatch");
}

#[test]
fn sources_that_disagree_are_refused_by_name() {
    let mut m = s3_message();
    m["link"] = json!("https://console.aws.amazon.com/x#arn:aws:s3:us-east-1:210987654321:thing");
    assert_eq!(parse_v(&m).unwrap_err().name(), "AccountMismatch");
    let mut m = s3_message();
    m["region"] = json!("eu-west-1");
    m["ccrn"] = json!("ccrn:aws:b9f1ce2e-4a43-4c34-b0c6-0d2a4c2bd0f4:S3:us-east-1:my-public-bucket");
    assert_eq!(parse_v(&m).unwrap_err().name(), "RegionMismatch");
    let mut m = s3_message();
    m["cloudProviderId"] = json!("12345");
    assert_eq!(parse_v(&m).unwrap_err().name(), "InvalidField");
}

#[test]
fn what_needs_no_action_is_acknowledged_with_its_reason() {
    let c = cx();
    for text in [
        "Test Message from Cloud Conformity",
        "Test message from Cloud Conformity\n",
    ] {
        assert!(matches!(parse(text, &c), Ok(Intake::Acknowledged(a)) if a.reason == AckReason::ChannelTest));
    }
    let mut m = s3_message();
    m["status"] = json!("SUCCESS");
    assert_eq!(ack_reason(&m), AckReason::Success);
    let mut m = s3_message();
    m["ruleId"] = json!("S3-999");
    assert_eq!(ack_reason(&m), AckReason::RuleNotHealed);
    assert_eq!(
        ack_reason(&json!({"eventName": "CreateBucket", "accountId": "x"})),
        AckReason::NotACheck
    );
}

#[test]
fn region_level_checks_arrive_without_a_resource() {
    let m = json!({
        "id": "ccc:H19NxM15-:GD-001:GuardDuty:us-west-2:", "accountId": "H19NxM15-",
        "ruleId": "GD-001", "service": "GuardDuty", "region": "us-west-2", "status": "FAILURE",
        "ccrn": "ccrn:aws:H19NxM15-:GuardDuty:us-west-2:", "cloudProviderId": ACCOUNT,
    });
    let f = failure(m.clone());
    assert_eq!((f.resource.as_str(), f.region.as_str()), ("us-west-2", "us-west-2"));
    // Other rules need their resource.
    let mut s3 = s3_message();
    s3.as_object_mut().unwrap().remove("resource");
    s3["ccrn"] = json!("ccrn:aws:b9f1ce2e-4a43-4c34-b0c6-0d2a4c2bd0f4:S3:global:");
    assert_eq!(parse_v(&s3).unwrap_err().to_string(), "field `resource` is missing");
    let mut other = m;
    other["resource"] = json!("eu-west-1");
    assert_eq!(parse_v(&other).unwrap_err().name(), "RegionMismatch");
}

#[test]
fn iam_key_findings_name_exactly_the_key_of_the_extradata_user() {
    let m = json!({
        "accountId": "oZX1TUZ6p", "ruleId": "IAM-001", "service": "IAM", "region": "global",
        "status": "FAILURE", "resource": "AKIAIOSFODNN7EXAMPLE", "cloudProviderId": ACCOUNT,
        "ccrn": "ccrn:aws:oZX1TUZ6p:IAM:global:AKIAIOSFODNN7EXAMPLE",
        "extradata": [{"name": "UserName", "label": "User Name", "type": "META", "value": "deploy-bot"},
                      {"name": "KeyAge", "value": 93}],
    });
    assert_eq!(failure(m.clone()).resource, "deploy-bot/AKIAIOSFODNN7EXAMPLE");
    let mut bare = m;
    bare.as_object_mut().unwrap().remove("extradata");
    assert_eq!(failure(bare).resource, "AKIAIOSFODNN7EXAMPLE");
}

#[test]
fn an_sqs_queue_named_by_its_aws_url_and_a_ccrn_resource_with_colons_and_slashes() {
    let url = "https://sqs.us-east-1.amazonaws.com/123456789012/orders";
    let m = json!({
        "accountId": "oZX1TUZ6p", "ruleId": "SQS-004", "service": "SQS", "region": "us-east-1",
        "status": "FAILURE", "resource": url, "cloudProviderId": ACCOUNT,
        "ccrn": format!("ccrn:aws:oZX1TUZ6p:SQS:us-east-1:{url}"),
    });
    assert_eq!(failure(m).resource, url);
}

#[test]
fn every_other_field_as_really_sent_is_accepted() {
    let mut m = s3_message();
    let o = m.as_object_mut().unwrap();
    o.remove("status");
    o.insert("statuses".into(), json!(["FAILURE"]));
    o.insert("createdDate".into(), json!("1690000000000"));
    o.remove("failureDiscoveryDate");
    o.insert(
        "tags".into(),
        json!(["LastUpdatedTime::Sat  9 Feb 2019 19:11:06 AEDT", "a::b::c"]),
    );
    o.insert("cost".into(), Value::Null);
    o.insert("waste".into(), Value::Null);
    o.insert("notScored".into(), json!(false));
    o.insert("resolutionPageUrl".into(), json!("https://x"));
    o.insert("resolutionPageURL".into(), json!("https://y"));
    o.insert("extradata".into(), json!([{"name": "n", "value": {"deep": [1, 2]}}]));
    o.insert("lastUpdatedDate".into(), Value::Null);
    o.insert("somethingNew".into(), json!({"nested": true}));
    o.insert("message".into(), json!("two\nlines"));
    o.remove("id");
    let f = failure(m);
    assert_eq!(f.created_at_ms, Some(1_690_000_000_000));
    assert_eq!(f.tags["LastUpdatedTime"], "Sat  9 Feb 2019 19:11:06 AEDT");
    assert_eq!(f.tags["a"], "b::c");
    assert!(f.check_id.starts_with("ccrn:aws:b9f1ce2e"));
}

#[test]
fn a_double_encoded_message_is_accepted() {
    let text = serde_json::to_string(&s3_message().to_string()).unwrap();
    assert!(matches!(parse(&text, &cx()), Ok(Intake::Failure(_))));
}

#[test]
fn execution_name_is_deterministic_short_and_safe() {
    let a = failure(s3_message());
    let b = failure(s3_message());
    assert_eq!(a.execution_name(1), b.execution_name(1));
    assert_eq!(a.check_key(), b.check_key());
    assert_ne!(
        a.execution_name(2),
        a.execution_name(1),
        "each generation has its own name"
    );
    let name = a.execution_name(1);
    assert!(name.len() <= 80, "{name}");
    assert!(name
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
    let mut later = s3_message();
    later["failureDiscoveryDate"] = json!(1_700_000_000_001u64);
    assert_ne!(failure(later.clone()).execution_name(1), name);
    assert_eq!(failure(later).check_key(), a.check_key(), "the same check");
    // The same bucket reported with its region or with `global` is one check.
    let mut regional = s3_message();
    regional["region"] = json!("us-east-1");
    assert_eq!(failure(regional).check_key(), a.check_key());
}

#[test]
fn hostile_and_malformed_messages_get_named_errors() {
    let cases: Vec<(Value, &str)> = vec![
        (json!([1, 2]), "MessageNotJson"),
        (json!(null), "MessageNotJson"),
        (json!({"ruleId": "S3-001"}), "MissingField"),
        (json!({"ruleId": 7, "status": "FAILURE"}), "InvalidField"),
        (json!({"ruleId": "../etc", "status": "FAILURE"}), "InvalidField"),
    ];
    for (v, name) in cases {
        assert_eq!(parse_v(&v).unwrap_err().name(), name, "{v}");
    }
    assert_eq!(parse("not json", &cx()).unwrap_err().name(), "MessageNotJson");
    let mut m = s3_message();
    m["resource"] = json!("../../etc/passwd");
    m["ccrn"] = json!("ccrn:aws:b9f1ce2e-4a43-4c34-b0c6-0d2a4c2bd0f4:S3:global:../../etc/passwd");
    assert_eq!(parse_v(&m).unwrap_err().name(), "InvalidResourceId");
    let mut m = s3_message();
    m["ccrn"] = json!("ccrn:aws:b9f1ce2e-4a43-4c34-b0c6-0d2a4c2bd0f4:S3:global:another-bucket");
    assert_eq!(parse_v(&m).unwrap_err().name(), "InvalidField");
    let mut m = s3_message();
    m["ccrn"] = json!("ccrn:aws:a/b:S3:global:my-public-bucket");
    assert_eq!(parse_v(&m).unwrap_err().name(), "InvalidField");
    let huge = format!("{{\"pad\": \"{}\"}}", "x".repeat(MAX));
    assert_eq!(parse(&huge, &cx()).unwrap_err().name(), "MessageTooLarge");
}
const MAX: usize = super::super::MAX_MESSAGE_BYTES;

#[test]
fn built_messages_have_the_real_shape_and_parse_back() {
    let c = Catalog::builtin();
    for (rule, resource, want_resource) in [
        ("S3-001", "my-public-bucket", "my-public-bucket"),
        ("GD-001", "us-east-1", "us-east-1"),
        (
            "IAM-001",
            "deploy-bot/AKIAIOSFODNN7EXAMPLE",
            "deploy-bot/AKIAIOSFODNN7EXAMPLE",
        ),
        ("EC2-002", "sg-0123456789abcdef0", "sg-0123456789abcdef0"),
    ] {
        let m = failure_message(c, ACCOUNT, rule, "us-east-1", resource, 1_700_000_000_000);
        assert!(!m["ccrn"].as_str().unwrap().contains(ACCOUNT), "{m}");
        let f = failure(m.clone());
        assert_eq!(
            (f.rule_id.as_str(), f.resource.as_str(), f.account_id.as_str()),
            (rule, want_resource, ACCOUNT)
        );
    }
    let gd = failure_message(c, ACCOUNT, "GD-001", "us-east-1", "us-east-1", 1);
    assert!(gd.get("resource").is_none() && gd["id"].as_str().unwrap().ends_with(':'));
    let iam = failure_message(c, ACCOUNT, "IAM-001", "us-east-1", "deploy-bot/AKIAIOSFODNN7EXAMPLE", 1);
    assert_eq!(iam["resource"], "AKIAIOSFODNN7EXAMPLE");
}

/// The verbatim samples (tests/fixtures/conformity-samples/README.md says where each is from).
#[test]
fn the_verbatim_samples_end_as_their_kind_says() {
    let c = cx();
    let outcome = |name: &str| match parse(&sample(name), &c) {
        Ok(Intake::Acknowledged(a)) => a.reason.name().to_string(),
        Ok(Intake::Failure(f)) => format!("Failure {}", f.account_id),
        Err(e) => format!("Rejected {}", e.name()),
    };
    let expected = [
        ("channel-test-message.txt", "ChannelTest"),
        ("seed-branch-R-Lambda-004-FailEvent.json", "RuleNotHealed"),
        ("seed-branch-R-Lambda-004-SuccessEvent.json", "Success"),
        ("seed-branch-R-Lambda-005-FailEvent.json", "RuleNotHealed"),
        ("seed-branch-R-Lambda-005-SuccessEvent.json", "Success"),
        ("seed-branch-R-SNS-001-FailEvent.json", "RuleNotHealed"),
        ("seed-branch-R-SNS-004-FailEvent.json", "RuleNotHealed"),
        // 2018: region ap-southeast-2, ccrn global, no AWS account anywhere in the message.
        ("seed-test-S3-002-event-2018-original.json", "AccountUnresolved"),
        // JSON:API objects of Conformity's REST API, not channel messages.
        ("api-docs-check-details-IAM-017.json", "NotACheck"),
        ("api-docs-check-suppress-response-Config-001.json", "NotACheck"),
        ("seed-runners-partial-events.json", "NotACheck"),
    ];
    for (name, want) in expected {
        assert_eq!(outcome(name), want, "{name}");
    }
    // The 2018 sample heals once the config maps its Conformity account.
    let config: Config =
        serde_json::from_value(json!({"accounts": [{"id": ACCOUNT, "conformity_ids": ["HJzFMHchx"]}]})).unwrap();
    let mapped = IntakeCtx {
        config: &config,
        ..cx()
    };
    match parse(&sample("seed-test-S3-002-event-2018-original.json"), &mapped).unwrap() {
        Intake::Failure(f) => {
            assert_eq!((f.rule_id.as_str(), f.account_id.as_str()), ("S3-002", ACCOUNT));
            assert_eq!(f.resource, "test.datablaize.io");
            assert_eq!(f.reported_region, "ap-southeast-2");
        }
        other => panic!("{other:?}"),
    }
    // The SNS-001 sample's AWS account is only inside its link.
    let sns: Value = serde_json::from_str(&sample("seed-branch-R-SNS-001-FailEvent.json")).unwrap();
    assert_eq!(accounts_in_link(sns["link"].as_str().unwrap()), vec!["784770667506"]);
    // Each of the seed authors' partial events, published alone.
    let partial: Value = serde_json::from_str(&sample("seed-runners-partial-events.json")).unwrap();
    for (runner, event) in partial["events"].as_object().unwrap() {
        match parse_v(event) {
            Ok(Intake::Acknowledged(a)) => assert!(
                matches!(a.reason, AckReason::NotACheck | AckReason::AccountUnresolved),
                "{runner}: {a:?}"
            ),
            Ok(Intake::Failure(f)) => panic!("{runner} has no AWS account, yet acts in {}", f.account_id),
            Err(e) => assert!(!e.is_retryable(), "{runner}: {e}"),
        }
    }
}
