//! Intake never panics on an EventBridge event, however mutated, ends every rejection with an
//! intake error's name, and never acts on an account the event's findings do not name.

use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::{json, Value};

use super::super::awsconfig::tests as config_samples;
use super::super::securityhub::tests as hub_samples;
use super::*;
use crate::catalog::Catalog;

const INTAKE_ERRORS: &[&str] = &[
    "InvalidEnvelope",
    "MessageTooLarge",
    "MissingField",
    "InvalidField",
    "InvalidResourceId",
    "AccountMismatch",
    "RegionMismatch",
];

/// Real events to start from: every sample, and the failures the tests derive from them.
fn bases() -> Vec<Value> {
    let mut out = vec![
        serde_json::from_str(hub_samples::EC2_7_EVENT).unwrap(),
        serde_json::from_str(config_samples::ACCESS_KEYS_ROTATED).unwrap(),
        config_samples::about(
            "s3-bucket-public-read-prohibited",
            "AWS::S3::Bucket",
            "northbound-reports",
        ),
        config_samples::about("restricted-ssh", "AWS::EC2::SecurityGroup", "sg-0123456789abcdef0"),
        config_samples::about("guardduty-enabled-centralized", "AWS::::Account", "477575873490"),
        hub_samples::event(vec![hub_samples::s3_2_failed()]),
    ];
    for s in [
        hub_samples::SQS_1,
        hub_samples::S3_2_PASSED,
        hub_samples::RDS_1_CLUSTER,
        hub_samples::EC2_1,
        hub_samples::DOCS_CONSOLIDATED,
    ] {
        out.push(hub_samples::event(vec![hub_samples::sample(s)]));
    }
    out.push(hub_samples::event(vec![
        hub_samples::sample(hub_samples::SQS_1),
        hub_samples::s3_2_failed(),
    ]));
    out
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
        prop::sample::select(vec![
            "FAILED",
            "PASSED",
            "NON_COMPLIANT",
            "COMPLIANT",
            "ARCHIVED",
            "SUPPRESSED",
            "RESOLVED",
            "S3.2",
            "EC2.13",
            "GuardDuty.1",
            "restricted-ssh",
            "AWS::S3::Bucket",
            "AwsS3Bucket",
            "AWS::::Account:111111111111",
            "arn:aws:s3:::a-bucket",
            "arn:aws:ec2:us-east-1:222222222222:security-group/sg-0123456789abcdef0",
            "arn:aws:sqs:us-east-1:111111111111:q",
            "111111111111",
            "222222222222",
            "us-east-1",
            "global",
            "2021-07-22T15:22:40.888Z",
            "9999-99-99T99:99:99Z",
            "",
            " ",
        ])
        .prop_map(|s| Value::String(s.to_string())),
        Just(Value::String("x".repeat(300_000))),
    ]
}

fn any_json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            vec((".{0,12}", inner), 0..4).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// One edit at a path chosen by `steps`: replace the value there, or remove it.
fn mutate(at: &mut Value, steps: &[usize], new: Value, remove: bool) {
    let Some((step, rest)) = steps.split_first() else {
        *at = new;
        return;
    };
    match at {
        Value::Object(m) if !m.is_empty() => {
            let key = m.keys().nth(step % m.len()).unwrap().clone();
            if rest.is_empty() && remove {
                m.remove(&key);
            } else {
                mutate(m.get_mut(&key).unwrap(), rest, new, remove);
            }
        }
        Value::Array(a) if !a.is_empty() => {
            let idx = step % a.len();
            if rest.is_empty() && remove {
                a.remove(idx);
            } else {
                mutate(&mut a[idx], rest, new, remove);
            }
        }
        _ => *at = new,
    }
}

/// The accounts an event's findings name (Security Hub `AwsAccountId`s, Config `awsAccountId`).
fn named_accounts(e: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut add = |v: Option<&Value>| {
        if let Some(s) = v.and_then(Value::as_str) {
            out.push(s.trim().to_string());
        }
    };
    add(e.pointer("/detail/awsAccountId"));
    if let Some(list) = e.pointer("/detail/findings").and_then(Value::as_array) {
        for f in list {
            add(f.get("AwsAccountId"));
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn intake_never_panics_on_mutated_events_and_acts_only_in_a_named_account(
        base in 0usize..12,
        edits in vec((vec(any::<usize>(), 1..7), any_json(), any::<bool>()), 1..5),
    ) {
        let bases = bases();
        let mut e = bases[base % bases.len()].clone();
        for (steps, new, remove) in edits {
            mutate(&mut e, &steps, new, remove);
        }
        let named = named_accounts(&e);
        for r in sort(&e, &IntakeCtx::new(Catalog::builtin(), "us-east-1")) {
            match r {
                Err(err) => prop_assert!(INTAKE_ERRORS.contains(&err.name()), "{} ({err})", err.name()),
                Ok(Intake::Failure(f)) => {
                    prop_assert!(named.contains(&f.account_id), "acted on {} while the event names {named:?}", f.account_id);
                    prop_assert!(crate::ids::is_account_number(&f.account_id));
                }
                Ok(Intake::Acknowledged(_)) => {}
            }
        }
    }

    #[test]
    fn intake_never_panics_on_any_json(v in any_json()) {
        for r in sort(&v, &IntakeCtx::new(Catalog::builtin(), "us-east-1")) {
            if let Err(err) = r {
                prop_assert!(INTAKE_ERRORS.contains(&err.name()), "{} ({err})", err.name());
            }
        }
    }
}
