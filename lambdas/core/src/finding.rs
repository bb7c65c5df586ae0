//! Intake: from an SNS event to a typed, normalized [`Finding`].
//!
//! Conformity's real deliveries differ from its documentation (fields missing or extra,
//! `statuses` for `status`, numbers as strings, tags as `key::value` strings or as an object).
//! This module accepts what a real sender plausibly sends and rejects everything else with a named
//! [`Error`] that says which field and why. It performs no I/O: a rejected message touches nothing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::catalog::{is_rule_id_shaped, Catalog};
use crate::error::Error;

/// Conformity check messages are a few KiB; anything beyond this is not one.
pub const MAX_MESSAGE_BYTES: usize = 32 * 1024;
const MAX_FIELD_CHARS: usize = 1024;
const MAX_TAGS: usize = 64;

/// The check status Conformity reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Success,
    Failure,
}

/// A normalized finding: what the state machine carries from Classify to Verify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Where it came from (`conformity` today; Security Hub and Config later).
    pub source: String,
    /// The scanner's check id (unique per rule and resource).
    pub check_id: String,
    pub rule_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_title: Option<String>,
    pub service: String,
    pub status: Status,
    /// The AWS account number, from the `ccrn`.
    pub account_id: String,
    /// The region to act in (`global` resolved to the deployment's region).
    pub region: String,
    /// The region as the scanner reported it (`global` or a region).
    pub reported_region: String,
    /// The AWS resource id (bucket name, `sg-...`).
    pub resource: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_level: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Epoch milliseconds the failure was first discovered, when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovered_at_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at_ms: Option<u64>,
    /// The resource's tags as the scanner saw them (live tags are re-read before acting).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Set on an undo run (`auto-remediate undo`): the run restores the state recorded before
    /// that execution's fix instead of healing the rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undo: Option<Undo>,
}

/// What an undo restores: the recorded states around the fix it undoes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Undo {
    /// The execution whose fix is undone (its ARN).
    pub execution: String,
    /// The state before that fix: the undo's target.
    pub before: crate::rules::ResourceState,
    /// The state the fix left: the resource must still be so, or the undo is refused.
    pub after: crate::rules::ResourceState,
}

impl Finding {
    /// The scanner check this finding is about, whatever its discovery time: the key under which
    /// the trigger keeps the check's generations (hex, 32 characters).
    pub fn check_key(&self) -> String {
        let mut h = Sha256::new();
        for part in [
            self.source.as_str(),
            self.account_id.as_str(),
            self.check_id.as_str(),
            self.rule_id.as_str(),
            self.region.as_str(),
            self.resource.as_str(),
        ] {
            h.update(part.as_bytes());
            h.update([0u8]);
        }
        hex::encode(&h.finalize()[..16])
    }

    /// When the scanner discovered this failure, if it said (`failureDiscoveryDate`, else `createdDate`).
    pub fn stamp(&self) -> Option<u64> {
        self.discovered_at_ms.or(self.created_at_ms)
    }

    /// The Step Functions execution name of this check's `generation`-th run: deterministic, so
    /// the same delivery three times starts one execution; a re-raised check is a new generation
    /// (see the trigger). At most 80 characters of `[A-Za-z0-9-]`.
    pub fn execution_name(&self, generation: u64) -> String {
        let mut h = Sha256::new();
        h.update(self.check_key().as_bytes());
        h.update(self.stamp().unwrap_or(0).to_be_bytes());
        h.update(generation.to_be_bytes());
        let digest = hex::encode(&h.finalize()[..12]);
        format!("{}{digest}", execution_name_prefix(&self.rule_id, &self.resource))
    }
}

/// The readable start of every execution name for a rule and resource, `<ruleId>-<resource>-`
/// (the resource cut to what fits in 80 characters with the 24-character digest, at most 40, of
/// `[A-Za-z0-9-]`): how a person or a tool finds the runs about one resource in the console.
pub fn execution_name_prefix(rule_id: &str, resource: &str) -> String {
    let room = 80usize.saturating_sub(24 + 2 + rule_id.len()).min(40);
    let readable: String = resource
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' })
        .take(room)
        .collect();
    format!("{rule_id}-{readable}-")
}

/// What intake makes of one SNS record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intake {
    /// A failure to act on.
    Failure(Finding),
    /// A well-formed message that needs no action (a `SUCCESS` check), with the reason.
    Ignored { rule_id: String, reason: String },
}

/// Parses the SNS `Message` string of a Conformity delivery.
///
/// `deployment_region` resolves `global`. The rule must be in the catalog and the resource id must
/// have the shape of the rule's resource type.
pub fn parse_conformity(message: &str, catalog: &Catalog, deployment_region: &str) -> Result<Intake, Error> {
    if message.len() > MAX_MESSAGE_BYTES {
        return Err(Error::MessageTooLarge {
            size: message.len(),
            limit: MAX_MESSAGE_BYTES,
        });
    }
    let mut value: Value = serde_json::from_str(message).map_err(|e| {
        Error::MessageNotJson(format!(
            "{:?} error at line {} column {}",
            e.classify(),
            e.line(),
            e.column()
        ))
    })?;
    // Some relays JSON-encode the message twice.
    if let Value::String(inner) = &value {
        value =
            serde_json::from_str(inner).map_err(|_| Error::MessageNotJson("a JSON string, not an object".into()))?;
    }
    let obj = match value {
        Value::Object(obj) => obj,
        other => {
            return Err(Error::MessageNotJson(format!(
                "a JSON {}, not an object",
                json_kind(&other)
            )))
        }
    };

    let rule_id = required_str(&obj, "ruleId")?;
    if !is_rule_id_shaped(&rule_id) {
        return Err(Error::invalid_field("ruleId", "not a rule id like S3-001"));
    }
    let status = parse_status(&obj)?;
    let ccrn = required_str(&obj, "ccrn")?;
    let resource = required_str(&obj, "resource")?;
    let reported_region = required_str(&obj, "region")?;
    if reported_region != "global" && !is_region(&reported_region) {
        return Err(Error::invalid_field("region", "not `global` nor an AWS region name"));
    }
    let account_id = account_from_ccrn(&ccrn, &reported_region, &resource)?;
    let service = optional_str(&obj, "service")?;
    let check_id = optional_str(&obj, "id")?;
    let rule_title = optional_str(&obj, "ruleTitle")?;
    let risk_level = optional_str(&obj, "riskLevel")?;
    let text = optional_str(&obj, "message")?;
    let created_at_ms = optional_epoch_ms(&obj, "createdDate")?;
    let discovered_at_ms = optional_epoch_ms(&obj, "failureDiscoveryDate")?;
    let tags = parse_tags(obj.get("tags"))?;

    if status == Status::Success {
        return Ok(Intake::Ignored {
            reason: format!("check {rule_id} on {resource} passed (status SUCCESS): nothing to do"),
            rule_id,
        });
    }

    let spec = catalog.require(&rule_id)?;
    if let Some(service) = &service {
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
    if !spec.family_impl().valid_id(&resource) {
        return Err(Error::InvalidResourceId {
            id: truncate(&resource, 80),
            kind: spec.family_impl().resource(),
        });
    }
    let region = if reported_region == "global" {
        deployment_region.to_string()
    } else {
        reported_region.clone()
    };
    Ok(Intake::Failure(Finding {
        source: "conformity".into(),
        check_id: check_id.unwrap_or_else(|| format!("{ccrn}:{rule_id}")),
        rule_id,
        rule_title,
        service: spec.service.clone(),
        status,
        account_id,
        region,
        reported_region,
        resource,
        risk_level,
        message: text,
        discovered_at_ms,
        created_at_ms,
        tags,
        undo: None,
    }))
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

fn check_text(field: &'static str, s: &str) -> Result<(), Error> {
    if s.chars().count() > MAX_FIELD_CHARS {
        return Err(Error::invalid_field(
            field,
            format!("longer than {MAX_FIELD_CHARS} characters"),
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(Error::invalid_field(field, "contains control characters"));
    }
    Ok(())
}

fn optional_str(obj: &Map<String, Value>, field: &'static str) -> Result<Option<String>, Error> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            check_text(field, s)?;
            Ok(Some(s.clone()))
        }
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(Error::invalid_field(
            field,
            format!("expected a string, got a {}", json_kind(other)),
        )),
    }
}

fn required_str(obj: &Map<String, Value>, field: &'static str) -> Result<String, Error> {
    match obj.get(field) {
        None | Some(Value::Null) => Err(Error::MissingField(field)),
        Some(Value::String(s)) => {
            let s = s.trim();
            if s.is_empty() {
                return Err(Error::invalid_field(field, "is empty"));
            }
            check_text(field, s)?;
            Ok(s.to_string())
        }
        Some(other) => Err(Error::invalid_field(
            field,
            format!("expected a string, got a {}", json_kind(other)),
        )),
    }
}

fn parse_status(obj: &Map<String, Value>) -> Result<Status, Error> {
    let (field, value) = match (obj.get("status"), obj.get("statuses")) {
        (Some(v), _) if !v.is_null() => ("status", v),
        (_, Some(v)) if !v.is_null() => ("statuses", v),
        _ => return Err(Error::MissingField("status")),
    };
    let text = match value {
        Value::String(s) => s.as_str(),
        Value::Array(items) if items.len() == 1 => items[0]
            .as_str()
            .ok_or_else(|| Error::invalid_field(field, "expected a string"))?,
        Value::Array(_) => return Err(Error::invalid_field(field, "expected exactly one status")),
        other => {
            return Err(Error::invalid_field(
                field,
                format!("expected a string, got a {}", json_kind(other)),
            ))
        }
    };
    match text.trim().to_ascii_uppercase().as_str() {
        "FAILURE" => Ok(Status::Failure),
        "SUCCESS" => Ok(Status::Success),
        _ => Err(Error::invalid_field(field, "expected SUCCESS or FAILURE")),
    }
}

fn optional_epoch_ms(obj: &Map<String, Value>, field: &'static str) -> Result<Option<u64>, Error> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0 && f.fract() == 0.0).map(|f| f as u64))
            .map(Some)
            .ok_or_else(|| Error::invalid_field(field, "expected epoch milliseconds")),
        Some(Value::String(s)) => s
            .trim()
            .parse::<u64>()
            .map(Some)
            .map_err(|_| Error::invalid_field(field, "expected epoch milliseconds")),
        Some(other) => Err(Error::invalid_field(
            field,
            format!("expected a number, got a {}", json_kind(other)),
        )),
    }
}

pub fn is_region(s: &str) -> bool {
    // us-east-1, eu-central-2, us-gov-west-1, ap-southeast-4, cn-north-1
    let parts: Vec<&str> = s.split('-').collect();
    (3..=4).contains(&parts.len())
        && parts[0].len() == 2
        && parts
            .iter()
            .take(parts.len() - 1)
            .all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].len() <= 2
        && parts[parts.len() - 1].bytes().all(|c| c.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
}

/// `ccrn:aws:<account>:<service>:<region>:<resource>`: the account, cross-checked with the
/// message's region and resource so a finding cannot point one place and act on another.
fn account_from_ccrn(ccrn: &str, region: &str, resource: &str) -> Result<String, Error> {
    let parts: Vec<&str> = ccrn.splitn(6, ':').collect();
    if parts.len() < 3 || parts[0] != "ccrn" || parts[1] != "aws" {
        return Err(Error::invalid_field("ccrn", "expected ccrn:aws:<account>:..."));
    }
    let account = parts[2];
    if account.len() != 12 || !account.bytes().all(|c| c.is_ascii_digit()) {
        return Err(Error::invalid_field(
            "ccrn",
            "the account is not a 12-digit AWS account number",
        ));
    }
    if let Some(r) = parts.get(4) {
        if !r.is_empty() && *r != region {
            return Err(Error::invalid_field(
                "ccrn",
                format!("its region {r:?} differs from the message's"),
            ));
        }
    }
    if let Some(r) = parts.get(5) {
        if !r.is_empty() && *r != resource {
            return Err(Error::invalid_field(
                "ccrn",
                "its resource differs from the message's `resource`",
            ));
        }
    }
    Ok(account.to_string())
}

fn parse_tags(value: Option<&Value>) -> Result<BTreeMap<String, String>, Error> {
    let mut tags = BTreeMap::new();
    let mut put = |k: &str, v: &str| -> Result<(), Error> {
        check_text("tags", k)?;
        check_text("tags", v)?;
        if tags.len() >= MAX_TAGS {
            return Err(Error::invalid_field("tags", format!("more than {MAX_TAGS} tags")));
        }
        tags.insert(k.to_string(), v.to_string());
        Ok(())
    };
    match value {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (k, v) in map {
                match v {
                    Value::String(s) => put(k, s)?,
                    Value::Null => put(k, "")?,
                    Value::Number(n) => put(k, &n.to_string())?,
                    Value::Bool(b) => put(k, &b.to_string())?,
                    _ => return Err(Error::invalid_field("tags", "tag values must be strings")),
                }
            }
        }
        Some(Value::Array(items)) => {
            for item in items {
                match item {
                    // "key::value" (Conformity), or a bare key.
                    Value::String(s) => match s.split_once("::") {
                        Some((k, v)) => put(k, v)?,
                        None => put(s, "")?,
                    },
                    // {"Key": ..., "Value": ...} (the AWS shape).
                    Value::Object(o) => {
                        let k = o
                            .get("Key")
                            .or_else(|| o.get("key"))
                            .and_then(Value::as_str)
                            .ok_or_else(|| Error::invalid_field("tags", "a tag object without a Key"))?;
                        let v = o
                            .get("Value")
                            .or_else(|| o.get("value"))
                            .and_then(Value::as_str)
                            .unwrap_or("");
                        put(k, v)?;
                    }
                    _ => return Err(Error::invalid_field("tags", "expected strings or {Key, Value} objects")),
                }
            }
        }
        Some(other) => {
            return Err(Error::invalid_field(
                "tags",
                format!("expected a list or an object, got a {}", json_kind(other)),
            ))
        }
    }
    Ok(tags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<Intake, Error> {
        parse_conformity(&v.to_string(), Catalog::builtin(), "us-east-1")
    }

    fn failure(v: Value) -> Finding {
        match parse(v).unwrap() {
            Intake::Failure(f) => f,
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    fn s3_message() -> Value {
        serde_json::from_str(include_str!("../fixtures/conformity-s3-001.json")).unwrap()
    }

    #[test]
    fn documented_s3_message_becomes_a_finding_in_the_deployment_region() {
        let f = failure(s3_message());
        assert_eq!(f.rule_id, "S3-001");
        assert_eq!(f.account_id, "123456789012");
        assert_eq!(f.reported_region, "global");
        assert_eq!(f.region, "us-east-1");
        assert_eq!(f.resource, "my-public-bucket");
        assert_eq!(f.tags.get("env").map(String::as_str), Some("prod"));
    }

    #[test]
    fn real_world_variants_are_accepted() {
        let mut m = s3_message();
        let o = m.as_object_mut().unwrap();
        o.remove("status");
        o.insert("statuses".into(), json!(["FAILURE"]));
        o.insert("createdDate".into(), json!("1690000000000"));
        o.insert("tags".into(), json!({"env": "prod", "team": "web"}));
        o.insert("somethingNew".into(), json!({"nested": true}));
        o.remove("id");
        let f = failure(m);
        assert_eq!(f.created_at_ms, Some(1_690_000_000_000));
        assert_eq!(f.tags.len(), 2);
        assert!(f.check_id.starts_with("ccrn:aws:123456789012"));
    }

    #[test]
    fn a_double_encoded_message_is_accepted() {
        let text = serde_json::to_string(&s3_message().to_string()).unwrap();
        assert!(matches!(
            parse_conformity(&text, Catalog::builtin(), "us-east-1"),
            Ok(Intake::Failure(_))
        ));
    }

    #[test]
    fn success_is_ignored_not_acted_on() {
        let mut m = s3_message();
        m["status"] = json!("SUCCESS");
        assert!(matches!(parse(m), Ok(Intake::Ignored { .. })));
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
        let mut long = failure(s3_message());
        long.rule_id = "TrustedAdvisor-003".into();
        long.resource = "a".repeat(63);
        assert!(long.execution_name(7).len() <= 80);
    }

    #[test]
    fn hostile_and_malformed_messages_get_named_errors() {
        let cases: Vec<(Value, &str)> = vec![
            (json!([1, 2]), "MessageNotJson"),
            (json!(null), "MessageNotJson"),
            (json!({"ruleId": "S3-001"}), "MissingField"),
            (json!({"ruleId": 7}), "InvalidField"),
        ];
        for (v, name) in cases {
            assert_eq!(parse(v.clone()).unwrap_err().name(), name, "{v}");
        }
        assert_eq!(
            parse_conformity("not json", Catalog::builtin(), "us-east-1")
                .unwrap_err()
                .name(),
            "MessageNotJson"
        );
        let mut m = s3_message();
        m["resource"] = json!("../../etc/passwd");
        m["ccrn"] = json!("ccrn:aws:123456789012:S3:global:../../etc/passwd");
        assert_eq!(parse(m).unwrap_err().name(), "InvalidResourceId");
        let mut m = s3_message();
        m["ruleId"] = json!("S3-999");
        assert_eq!(parse(m).unwrap_err().name(), "UnknownRule");
        let mut m = s3_message();
        m["ccrn"] = json!("ccrn:aws:123456789012:S3:global:another-bucket");
        assert_eq!(parse(m).unwrap_err().name(), "InvalidField");
        let huge = format!("{{\"pad\": \"{}\"}}", "x".repeat(MAX_MESSAGE_BYTES));
        assert_eq!(
            parse_conformity(&huge, Catalog::builtin(), "us-east-1")
                .unwrap_err()
                .name(),
            "MessageTooLarge"
        );
    }
}

/// Intake never panics, whatever arrives: every rejection is one of its named errors.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::collection::{btree_map, vec};
    use proptest::prelude::*;

    /// The errors intake may return (README, "Named errors").
    const INTAKE_ERRORS: &[&str] = &[
        "MessageTooLarge",
        "MessageNotJson",
        "MissingField",
        "InvalidField",
        "InvalidResourceId",
        "UnknownRule",
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
        "tags",
        "accountId",
    ];

    fn intake(message: &str) -> Result<(), TestCaseError> {
        if let Err(e) = parse_conformity(message, Catalog::builtin(), "us-east-1") {
            prop_assert!(
                INTAKE_ERRORS.contains(&e.name()),
                "{} ({e}) is not an intake error",
                e.name()
            );
        }
        Ok(())
    }

    /// Strings a real sender might put in a field, and some it should not.
    fn plausible_string() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => prop::sample::select(vec![
                "EC2-002",
                "S3-001",
                "S3-010",
                "EC2-999",
                "S3-999",
                "RDS-001",
                "IAM-001",
                "FAILURE",
                "SUCCESS",
                "failure",
                "global",
                "us-east-1",
                "eu-central-2",
                "EC2",
                "S3",
                "sg-0123456789abcdef0",
                "sg-12345678",
                "my-public-bucket",
                "ccrn:aws:123456789012:EC2:us-east-1:sg-0123456789abcdef0",
                "ccrn:aws:123456789012:S3:global:my-public-bucket",
                "env::prod",
                "1700000000000",
                "",
                " ",
            ])
            .prop_map(String::from),
            1 => "(ccrn:aws:)?[0-9]{0,13}(:[A-Za-z0-9-]{0,12}){0,5}",
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

    fn fixture() -> String {
        include_str!("../fixtures/conformity-ec2-002.json").to_string()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_bytes_are_refused_by_name(bytes in vec(any::<u8>(), 0..2048)) {
            intake(&String::from_utf8_lossy(&bytes))?;
        }

        #[test]
        fn arbitrary_strings_are_refused_by_name(s in any::<String>()) {
            intake(&s)?;
        }

        #[test]
        fn arbitrary_json_objects_are_accepted_or_refused_by_name(v in message_object(), twice in any::<bool>()) {
            let text = v.to_string();
            // Some relays JSON-encode the message twice.
            let text = if twice { Value::String(text).to_string() } else { text };
            intake(&text)?;
        }

        #[test]
        fn a_real_message_with_bytes_changed_is_accepted_or_refused_by_name(
            edits in vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        ) {
            let mut bytes = fixture().into_bytes();
            for (at, b) in edits {
                let i = at.index(bytes.len());
                bytes[i] = b;
            }
            intake(&String::from_utf8_lossy(&bytes))?;
        }

        #[test]
        fn a_real_message_with_fields_replaced_is_accepted_or_refused_by_name(
            replaced in btree_map(
                prop::sample::select(FIELDS.to_vec()),
                prop_oneof![3 => plausible_string().prop_map(Value::String), 1 => json_value()],
                1..5,
            ),
        ) {
            let mut v: Value = serde_json::from_str(&fixture()).unwrap();
            for (field, value) in replaced {
                v[field] = value;
            }
            intake(&v.to_string())?;
        }
    }
}
