//! Intake never panics, whatever arrives, and never acts on an account other than the one the
//! message's sources name.

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
        include_str!("../../../../../tests/fixtures/conformity/EC2-002.json"),
        include_str!("../../../../../tests/fixtures/conformity-s3-001-tagged.json"),
        include_str!("../../../../../tests/fixtures/conformity-samples/seed-test-S3-002-event-2018-original.json"),
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
        let mut bytes = include_str!("../../../../../tests/fixtures/conformity/EC2-002.json").as_bytes().to_vec();
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
