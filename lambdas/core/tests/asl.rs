//! The error names are an API between the handlers and the state machine: pinned both ways, from
//! the definition file alone (no stack needed: `cargo test -p ar-core --test asl`).

use std::collections::BTreeSet;

use ar_core::error::ERROR_NAMES;
use serde_json::Value;

fn definition() -> Value {
    serde_json::from_str(include_str!("../../../statemachines/remediation.asl.json")).unwrap()
}

fn error_equals(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::Array(names)) = m.get("ErrorEquals") {
                out.extend(names.iter().filter_map(Value::as_str).map(str::to_string));
            }
            m.values().for_each(|x| error_equals(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| error_equals(x, out)),
        _ => {}
    }
}

#[test]
fn every_custom_error_the_state_machine_matches_is_one_the_handlers_emit() {
    let mut names = BTreeSet::new();
    error_equals(&definition(), &mut names);
    for name in names.iter().filter(|n| {
        !["States.", "Lambda.", "Runtime.", "Sandbox."]
            .iter()
            .any(|p| n.starts_with(p))
    }) {
        assert!(
            ERROR_NAMES.contains(&name.as_str()),
            "the ASL matches {name}, which no handler emits"
        );
    }
}

#[test]
fn every_error_a_state_machine_handler_emits_is_matched_by_name() {
    let mut names = BTreeSet::new();
    error_equals(&definition(), &mut names);
    // Intake errors end in the trigger, before any execution; the rest reach the state machine.
    let intake = [
        "InvalidEnvelope",
        "MessageNotJson",
        "MessageTooLarge",
        "MissingField",
        "InvalidField",
        "InvalidResourceId",
        "AccountMismatch",
        "RegionMismatch",
    ];
    // These end the run through `States.ALL` on purpose: no state reacts to them differently.
    let by_catch_all = [
        "ConfigInvalid",
        "AccessDenied",
        "AwsError",
        "MemberRoleUnavailable",
        "UndeclaredAction",
        // An undo refused (the resource changed since the fix, or its family cannot undo): the
        // undo run ends in ClassificationFailed or RemediationFailed with the error as its cause.
        "ResourceChanged",
        "CannotUndo",
    ];
    for name in ERROR_NAMES
        .iter()
        .filter(|n| !intake.contains(n) && !by_catch_all.contains(n))
    {
        assert!(
            names.contains(*name),
            "handlers can emit {name}, but the ASL never matches it"
        );
    }
}

#[test]
fn every_next_names_a_state_and_every_task_has_a_timeout_and_a_catch() {
    let def = definition();
    let states = def["States"].as_object().unwrap();
    assert!(states.contains_key(def["StartAt"].as_str().unwrap()));
    let mut targets = Vec::new();
    for (name, s) in states {
        if let Some(n) = s.get("Next").and_then(Value::as_str) {
            targets.push(n.to_string());
        }
        if let Some(n) = s.get("Default").and_then(Value::as_str) {
            targets.push(n.to_string());
        }
        for key in ["Choices", "Catch"] {
            for c in s.get(key).and_then(Value::as_array).into_iter().flatten() {
                targets.push(c["Next"].as_str().unwrap().to_string());
            }
        }
        if s["Type"] == "Task" {
            assert!(
                s.get("TimeoutSeconds").is_some() || s.get("TimeoutSecondsPath").is_some(),
                "{name} has no timeout"
            );
            assert!(s.get("Catch").is_some(), "{name} has no Catch");
            assert!(s.get("Retry").is_some(), "{name} has no Retry");
        }
    }
    for t in targets {
        assert!(states.contains_key(&t), "Next {t} names no state");
    }
}
