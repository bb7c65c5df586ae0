//! Conformity's check messages, as Conformity really publishes them to the SNS topic (the
//! verbatim samples in `tests/fixtures/conformity-samples/`; README, "Intake", has the field
//! table).
//!
//! - The **AWS account** comes from `cloudProviderId`, else from an AWS ARN inside `link`, else
//!   from the config's `accounts` entry listing the message's `accountId` (Conformity's own id);
//!   never from the `ccrn`, whose account part is Conformity's id too. Sources that disagree are
//!   refused (`AccountMismatch`); none at all is acknowledged (`AccountUnresolved`).
//! - The **region**: `region` and the `ccrn`'s may differ (`global` in one, a region in the
//!   other); two real regions that differ are refused (`RegionMismatch`); see
//!   [`super::resolve_region`] for which decides per family.
//! - The **resource**: `resource`, or the region for region-level checks that name none
//!   (GD-001, Config-001, CT-001); the family may complete it from `extradata` (IAM-001's
//!   `UserName`). The `ccrn`'s resource part may hold `:` and `/`.

use crate::config::{is_account_number, is_scanner_account_id};
use crate::error::Error;
use crate::finding::{AccountSource, Finding, Status};
use crate::rules::family::Placement;
use crate::rules::ids::is_region_name;

use super::fields::{self, free_text, long_str, optional_epoch_ms, optional_str};
use super::{resolve_region, AckReason, Intake, IntakeCtx};

/// The plain string Conformity sends when a user sets the SNS channel up (not JSON).
pub const CHANNEL_TEST_MESSAGE: &str = "Test Message from Cloud Conformity";

/// `ccrn:aws:<Conformity account>:<service>:<region>:<resource>`, split on the first five colons.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Ccrn<'a> {
    region: Option<&'a str>,
    resource: Option<&'a str>,
}

fn ccrn(text: &str) -> Result<Ccrn<'_>, Error> {
    let parts: Vec<&str> = text.splitn(6, ':').collect();
    if parts.len() < 5 || parts[0] != "ccrn" || parts[1] != "aws" {
        return Err(Error::invalid_field(
            "ccrn",
            "expected ccrn:aws:<account>:<service>:<region>:<resource>",
        ));
    }
    if !is_scanner_account_id(parts[2]) {
        return Err(Error::invalid_field("ccrn", "its account part is not an account id"));
    }
    let region = Some(parts[4]).filter(|r| !r.is_empty());
    if let Some(r) = region {
        if r != "global" && !is_region_name(r) {
            return Err(Error::invalid_field(
                "ccrn",
                "its region is neither `global` nor an AWS region",
            ));
        }
    }
    Ok(Ccrn {
        region,
        resource: parts.get(5).copied().filter(|r| !r.is_empty()),
    })
}

/// The AWS accounts named by ARNs inside a console link (percent-encoded or not), each once.
pub fn accounts_in_link(link: &str) -> Vec<String> {
    let decoded = percent_encoding::percent_decode_str(link).decode_utf8_lossy();
    let mut found: Vec<String> = Vec::new();
    for (at, _) in decoded.match_indices("arn:") {
        if decoded[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            continue;
        }
        let rest = &decoded[at..];
        let end = rest
            .find(|c: char| c.is_whitespace() || matches!(c, '?' | '#' | '&' | '"' | '\'' | ',' | ';' | '<' | '>'))
            .unwrap_or(rest.len());
        let parts: Vec<&str> = rest[..end].splitn(6, ':').collect();
        if parts.len() == 6
            && matches!(parts[1], "aws" | "aws-cn" | "aws-us-gov")
            && is_account_number(parts[4])
            && !found.iter().any(|a| a == parts[4])
        {
            found.push(parts[4].to_string());
        }
    }
    found
}

/// The finding's AWS account and where it came from; `None` when no source names one.
fn account(
    obj: &serde_json::Map<String, serde_json::Value>,
    cx: &IntakeCtx<'_>,
    scanner_account: Option<&str>,
) -> Result<Option<(String, AccountSource)>, Error> {
    let provider = optional_str(obj, "cloudProviderId")?;
    if let Some(p) = &provider {
        if !is_account_number(p) {
            return Err(Error::invalid_field(
                "cloudProviderId",
                "not a 12-digit AWS account number",
            ));
        }
    }
    let in_link = match long_str(obj, "link")? {
        Some(link) => accounts_in_link(link),
        None => Vec::new(),
    };
    if in_link.len() > 1 {
        return Err(Error::AccountMismatch(format!(
            "`link` names accounts {}",
            in_link.join(" and ")
        )));
    }
    let mapped = scanner_account.and_then(|id| cx.config.account_for_scanner_id(id));
    let sources = [
        (provider.as_deref(), AccountSource::CloudProviderId, "`cloudProviderId`"),
        (
            in_link.first().map(String::as_str),
            AccountSource::Link,
            "the ARN in `link`",
        ),
        (mapped, AccountSource::Config, "the config's `accounts` for `accountId`"),
    ];
    let mut named = sources.iter().filter_map(|(a, s, what)| a.map(|a| (a, *s, *what)));
    let Some((first, source, first_what)) = named.next() else {
        return Ok(None);
    };
    if let Some((other, _, what)) = named.find(|(a, _, _)| *a != first) {
        return Err(Error::AccountMismatch(format!(
            "{first_what} says {first}, {what} says {other}"
        )));
    }
    Ok(Some((first.to_string(), source)))
}

/// Sorts one SNS `Message` string into acted on, acknowledged, or rejected (an error).
pub fn parse(message: &str, cx: &IntakeCtx<'_>) -> Result<Intake, Error> {
    if message.len() <= 256 && message.trim().eq_ignore_ascii_case(CHANNEL_TEST_MESSAGE) {
        return Ok(Intake::ack(
            AckReason::ChannelTest,
            None,
            "the channel's set-up test message: the topic reaches auto-remediate",
        ));
    }
    let obj = fields::json_object(message)?;
    let rule_id = match obj.get("ruleId") {
        None | Some(serde_json::Value::Null) => {
            return Ok(Intake::ack(
                AckReason::NotACheck,
                None,
                "a message without `ruleId` is not a check (Real-Time Monitoring activity, or another publisher's)",
            ))
        }
        Some(_) => optional_str(&obj, "ruleId")?.ok_or_else(|| Error::invalid_field("ruleId", "is empty"))?,
    };
    if !crate::catalog::is_rule_id_shaped(&rule_id) {
        return Err(Error::invalid_field("ruleId", "not a rule id like S3-001"));
    }
    let status = fields::status(&obj)?;
    if status == Status::Success {
        return Ok(Intake::ack(
            AckReason::Success,
            Some(&rule_id),
            format!("check {rule_id} passed (status SUCCESS): nothing to do"),
        ));
    }
    let Some(spec) = cx.catalog.get(&rule_id) else {
        return Ok(Intake::ack(
            AckReason::RuleNotHealed,
            Some(&rule_id),
            format!("rule {rule_id} is not one auto-remediate heals"),
        ));
    };
    let family = spec.family_impl();

    // A failure of a rule we heal: every field that decides where to act must be right.
    let ccrn_text = optional_str(&obj, "ccrn")?;
    let ccrn = ccrn_text.as_deref().map(ccrn).transpose()?;
    let region_field = optional_str(&obj, "region")?;
    if let Some(r) = &region_field {
        if r != "global" && !is_region_name(r) {
            return Err(Error::invalid_field("region", "not `global` nor an AWS region name"));
        }
    }
    if let Some(service) = optional_str(&obj, "service")? {
        if !service.eq_ignore_ascii_case(&spec.service) {
            return Err(Error::invalid_field(
                "service",
                format!(
                    "rule {} is an {} rule, the message says {service:?}",
                    spec.id, spec.service
                ),
            ));
        }
    }
    let (region, reported_region) = resolve_region(
        region_field.as_deref(),
        ccrn.as_ref().and_then(|c| c.region),
        family.placement(),
        cx.region,
    )?;
    let sent = optional_str(&obj, "resource")?;
    if let (Some(sent), Some(named)) = (&sent, ccrn.as_ref().and_then(|c| c.resource)) {
        if sent != named {
            return Err(Error::invalid_field(
                "ccrn",
                "its resource differs from the message's `resource`",
            ));
        }
    }
    let extradata = fields::extradata(obj.get("extradata"))?;
    let resource = match (&sent, family.placement()) {
        (Some(sent), Placement::Region) if is_region_name(sent) && *sent != region => {
            return Err(Error::RegionMismatch(format!(
                "the check is about region {sent}, the message's region is {region}"
            )))
        }
        (Some(sent), _) => family.resource_from(sent, &extradata),
        (None, Placement::Region) => region.clone(),
        (None, _) => return Err(Error::MissingField("resource")),
    };
    if !family.valid_id(&resource) {
        return Err(Error::InvalidResourceId {
            id: resource.chars().take(80).collect(),
            kind: family.resource(),
        });
    }
    let scanner_account = optional_str(&obj, "accountId")?.filter(|a| is_scanner_account_id(a));
    let check_id = optional_str(&obj, "id")?;
    let rule_title = free_text(&obj, "ruleTitle")?;
    let risk_level = optional_str(&obj, "riskLevel")?;
    let text = free_text(&obj, "message")?;
    let created_at_ms = optional_epoch_ms(&obj, "createdDate")?;
    let discovered_at_ms = optional_epoch_ms(&obj, "failureDiscoveryDate")?;
    let tags = fields::tags(obj.get("tags"))?;
    let Some((account_id, account_source)) = account(&obj, cx, scanner_account.as_deref())? else {
        return Ok(Intake::ack(
            AckReason::AccountUnresolved,
            Some(&rule_id),
            format!(
                "no AWS account for {rule_id} on {resource}: no `cloudProviderId`, no ARN in `link`, and {}",
                match &scanner_account {
                    Some(id) => format!("no `accounts` entry lists Conformity account {id}"),
                    None => "no `accountId`".to_string(),
                }
            ),
        ));
    };
    Ok(Intake::Failure(Box::new(Finding {
        source: "conformity".into(),
        check_id: check_id
            .or(ccrn_text.map(|c| format!("{c}:{rule_id}")))
            .unwrap_or_else(|| format!("{rule_id}:{reported_region}:{resource}")),
        rule_id,
        rule_title,
        service: spec.service.clone(),
        status,
        account_id,
        account_source: Some(account_source),
        scanner_account,
        region,
        reported_region,
        resource,
        risk_level,
        message: text,
        discovered_at_ms,
        created_at_ms,
        tags,
        undo: None,
    })))
}

/// A failure as Conformity publishes it today (`cloudProviderId`, Conformity's own account id
/// in `accountId`, `id` and `ccrn`, tags as `key::value`), for `rule_id` on `resource` in AWS
/// account `account` and `region`: what the demo publishes, and what the tests build on. Per
/// the rule's family: S3 arrives with `region` global and the bucket's region in the `ccrn`;
/// IAM and Organizations with `global`; region-level checks without a resource when `resource`
/// is the region; an access key as `user/AKIA...` arrives as the key id with the user in
/// `extradata`.
pub fn failure_message(
    catalog: &crate::catalog::Catalog,
    account: &str,
    rule_id: &str,
    region: &str,
    resource: &str,
    discovered_ms: u64,
) -> serde_json::Value {
    let conformity_account = "b9f1ce2e-4a43-4c34-b0c6-0d2a4c2bd0f4";
    let rule = catalog.get(rule_id);
    let service = rule
        .map(|r| r.service.clone())
        .unwrap_or_else(|| rule_id.split('-').next().unwrap_or_default().to_string());
    let placement = rule.map(|r| r.family_impl().placement()).unwrap_or(Placement::Regional);
    let (message_region, ccrn_region) = match placement {
        Placement::Located => ("global", region),
        Placement::Global => ("global", "global"),
        Placement::Regional | Placement::Region => (region, region),
    };
    let (sent, extradata) = match crate::rules::iam_keys::user_key(resource) {
        Some((user, key)) => (
            key,
            serde_json::json!([{"name": "UserName", "label": "User Name", "type": "META", "value": user}]),
        ),
        None => (resource, serde_json::json!([])),
    };
    let sent = if placement == Placement::Region && sent == region {
        ""
    } else {
        sent
    };
    let mut m = serde_json::json!({
        "id": format!("ccc:{conformity_account}:{rule_id}:{service}:{ccrn_region}:{sent}"),
        "organisationId": "9bZA_h76p",
        "accountId": conformity_account,
        "cloudProviderId": account,
        "ruleId": rule_id,
        "ruleTitle": rule.map(|r| r.title.as_str()),
        "service": service,
        "region": message_region,
        "riskLevel": rule.map(|r| r.risk.as_str()).unwrap_or("HIGH"),
        "categories": ["security"],
        "compliances": ["AWAF"],
        "message": format!("{resource} fails {rule_id}"),
        "status": "FAILURE",
        "notScored": false,
        "failureDiscoveryDate": discovered_ms,
        "lastStatusUpdateDate": discovered_ms,
        "ccrn": format!("ccrn:aws:{conformity_account}:{service}:{ccrn_region}:{sent}"),
        "tags": ["team::platform"],
        "extradata": extradata,
        "cost": null,
        "waste": null,
        "lastModifiedDate": discovered_ms,
        "createdDate": discovered_ms,
        "resolutionPageURL": format!("https://www.cloudconformity.com/knowledge-base/aws/{service}/"),
    });
    if !sent.is_empty() {
        m["resource"] = serde_json::Value::String(sent.to_string());
    }
    m
}

#[cfg(test)]
mod tests {
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
        serde_json::from_str(include_str!("../../fixtures/conformity-s3-001.json")).unwrap()
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
}

/// Intake never panics, whatever arrives, and never acts on an account other than the one the
/// message's sources name.
#[cfg(test)]
mod properties {
    use super::*;
    use crate::catalog::Catalog;
    use proptest::collection::{btree_map, vec};
    use proptest::prelude::*;
    use serde_json::Value;

    /// The errors intake may return (README, "Intake").
    const INTAKE_ERRORS: &[&str] = &[
        "MessageTooLarge",
        "MessageNotJson",
        "MissingField",
        "InvalidField",
        "InvalidResourceId",
        "AccountMismatch",
        "RegionMismatch",
    ];

    const FIELDS: &[&str] = &[
        "ruleId",
        "status",
        "statuses",
        "ccrn",
        "resource",
        "region",
        "service",
        "id",
        "ruleTitle",
        "riskLevel",
        "message",
        "createdDate",
        "failureDiscoveryDate",
        "lastModifiedDate",
        "tags",
        "accountId",
        "organisationId",
        "cloudProviderId",
        "link",
        "extradata",
        "cost",
        "waste",
        "notScored",
        "resolutionPageURL",
        "resolutionPageUrl",
    ];

    /// The accounts a message may name: its `cloudProviderId`, or an ARN in its `link`.
    fn named_accounts(v: &Value) -> Vec<String> {
        let mut out: Vec<String> = v
            .get("cloudProviderId")
            .and_then(|c| {
                c.as_str()
                    .map(str::to_string)
                    .or_else(|| c.as_u64().map(|n| n.to_string()))
            })
            .map(|c| c.trim().to_string())
            .into_iter()
            .collect();
        if let Some(link) = v.get("link").and_then(Value::as_str) {
            out.extend(accounts_in_link(link));
        }
        out
    }

    fn intake(message: &str, named: &[String]) -> Result<(), TestCaseError> {
        match parse(message, &IntakeCtx::new(Catalog::builtin(), "us-east-1")) {
            Err(e) => prop_assert!(
                INTAKE_ERRORS.contains(&e.name()),
                "{} ({e}) is not an intake error",
                e.name()
            ),
            Ok(Intake::Failure(f)) => prop_assert!(
                named.contains(&f.account_id),
                "acted on {} while the message names {named:?}",
                f.account_id
            ),
            Ok(Intake::Acknowledged(_)) => {}
        }
        Ok(())
    }

    /// Strings a real sender might put in a field, and some it should not.
    fn plausible_string() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => prop::sample::select(vec![
                "EC2-002", "S3-001", "S3-010", "GD-001", "IAM-001", "SQS-004", "EC2-999", "RDS-001",
                "Lambda-004", "FAILURE", "SUCCESS", "failure", "global", "us-east-1", "eu-central-2",
                "EC2", "S3", "GuardDuty", "IAM", "sg-0123456789abcdef0", "sg-12345678", "my-public-bucket",
                "AKIAIOSFODNN7EXAMPLE", "oZX1TUZ6p", "123456789012", "210987654321",
                "ccrn:aws:oZX1TUZ6p:EC2:us-east-1:sg-0123456789abcdef0",
                "ccrn:aws:oZX1TUZ6p:S3:global:my-public-bucket",
                "ccrn:aws:123456789012:S3:us-east-1:my-public-bucket",
                "https://console.aws.amazon.com/x#/arn:aws:sns:us-east-1:210987654321:t",
                "https://sqs.us-east-1.amazonaws.com/123456789012/q",
                "env::prod", "1700000000000", "Test Message from Cloud Conformity", "", " ",
            ])
            .prop_map(String::from),
            1 => "(ccrn:aws:)?[0-9A-Za-z]{0,13}(:[A-Za-z0-9-]{0,12}){0,5}",
            1 => "[A-Za-z]{1,5}-[0-9]{1,4}",
            1 => any::<String>(),
        ]
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            plausible_string().prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 32, 6, |inner| {
            prop_oneof![
                vec(inner.clone(), 0..6).prop_map(Value::Array),
                btree_map(plausible_string(), inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Objects with Conformity's field names (each value plausible or arbitrary) and extra keys.
    fn message_object() -> impl Strategy<Value = Value> {
        let field = prop::sample::select(FIELDS.to_vec()).prop_map(String::from);
        let key = prop_oneof![4 => field, 1 => plausible_string()];
        btree_map(key, json_value(), 0..16).prop_map(|m| Value::Object(m.into_iter().collect()))
    }

    /// The real shapes: the committed fixtures of the two shapes Conformity sends.
    fn real_message() -> impl Strategy<Value = Value> {
        prop::sample::select(vec![
            include_str!("../../fixtures/conformity-ec2-002.json"),
            include_str!("../../fixtures/conformity-s3-001.json"),
            include_str!("../../../../tests/fixtures/conformity-samples/seed-test-S3-002-event-2018-original.json"),
        ])
        .prop_map(|t| serde_json::from_str(t).unwrap())
    }

    /// Values of the types Conformity sends for a field (a string, a number, null, a list).
    fn retyped(v: &Value) -> Vec<Value> {
        let text = match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let mut out = vec![Value::Null, Value::String(text.clone())];
        if let Ok(n) = text.parse::<u64>() {
            out.push(Value::from(n));
        }
        out.push(Value::Array(vec![Value::String(text)]));
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_bytes_are_refused_by_name(bytes in vec(any::<u8>(), 0..2048)) {
            intake(&String::from_utf8_lossy(&bytes), &[])?;
        }

        #[test]
        fn arbitrary_json_objects_are_sorted_or_refused_by_name(v in message_object(), twice in any::<bool>()) {
            let named = named_accounts(&v);
            let text = v.to_string();
            let text = if twice { Value::String(text).to_string() } else { text };
            intake(&text, &named)?;
        }

        #[test]
        fn a_real_message_with_bytes_changed_is_sorted_or_refused_by_name(
            edits in vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        ) {
            let mut bytes = include_str!("../../fixtures/conformity-ec2-002.json").as_bytes().to_vec();
            for (at, b) in edits {
                let i = at.index(bytes.len());
                bytes[i] = b;
            }
            let text = String::from_utf8_lossy(&bytes).to_string();
            let named = serde_json::from_str::<Value>(&text).map(|v| named_accounts(&v)).unwrap_or_default();
            intake(&text, &named)?;
        }

        /// The real shape with fields dropped, retyped within what Conformity sends, replaced,
        /// or added, in any order.
        #[test]
        fn a_real_message_reshaped_never_acts_elsewhere(
            m in real_message(),
            dropped in vec(prop::sample::select(FIELDS.to_vec()), 0..6),
            retypes in vec((prop::sample::select(FIELDS.to_vec()), any::<prop::sample::Index>()), 0..4),
            replaced in btree_map(
                prop::sample::select(FIELDS.to_vec()),
                prop_oneof![3 => plausible_string().prop_map(Value::String), 1 => json_value()],
                0..4,
            ),
            extra in btree_map("[a-zA-Z]{1,12}", json_value(), 0..4),
            reversed in any::<bool>(),
        ) {
            let mut obj = m.as_object().unwrap().clone();
            for f in dropped {
                obj.remove(f);
            }
            for (f, at) in retypes {
                if let Some(v) = obj.get(f).cloned() {
                    let choices = retyped(&v);
                    obj.insert(f.to_string(), choices[at.index(choices.len())].clone());
                }
            }
            for (f, v) in replaced {
                obj.insert(f.to_string(), v);
            }
            for (k, v) in extra {
                obj.entry(k).or_insert(v);
            }
            let mut pairs: Vec<(String, Value)> = obj.into_iter().collect();
            if reversed {
                pairs.reverse();
            }
            let text = format!(
                "{{{}}}",
                pairs.iter().map(|(k, v)| format!("{}:{v}", Value::String(k.clone()))).collect::<Vec<_>>().join(",")
            );
            let named = named_accounts(&serde_json::from_str(&text).unwrap());
            intake(&text, &named)?;
        }
    }
}
