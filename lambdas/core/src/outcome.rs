//! How an execution ends: the state machine's end states, by name. Each is reached through a
//! `Notify<End>` task that tells the outcome topic (`statemachines/remediation.asl.json`); the
//! config's `notify.outcomes` picks which of them publish. The CLI reports a run's outcome by the
//! same names.

/// An end state of the state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndState {
    /// The state's name in the ASL, and the outcome's name everywhere else.
    pub name: &'static str,
    /// A `Succeed` state (the execution SUCCEEDED); otherwise a `Fail` state.
    pub succeeded: bool,
    /// Whether anything may have been written to the resource.
    pub may_have_changed: bool,
    /// One line for a person: what happened.
    pub headline: &'static str,
    /// Notified unless the config's `notify.outcomes` says otherwise.
    pub notified_by_default: bool,
}

const fn end(
    name: &'static str,
    succeeded: bool,
    may_have_changed: bool,
    notified_by_default: bool,
    headline: &'static str,
) -> EndState {
    EndState {
        name,
        succeeded,
        may_have_changed,
        headline,
        notified_by_default,
    }
}

/// Every end state, in the order the ASL lists them.
pub const END_STATES: &[EndState] = &[
    end(
        "Healed",
        true,
        true,
        true,
        "Remediated, and verified: the rule's check passes on the live resource.",
    ),
    end(
        "Restored",
        true,
        true,
        true,
        "Undone: the state recorded before the fix is restored, and verified on the live resource.",
    ),
    end(
        "DryRunComplete",
        true,
        false,
        true,
        "Dry run: the plan below was computed; nothing was written.",
    ),
    end(
        "AlreadyCompliant",
        true,
        false,
        true,
        "The live resource already passes the rule: nothing was changed.",
    ),
    end(
        "ResourceGone",
        true,
        false,
        true,
        "The resource no longer exists: nothing was changed.",
    ),
    end(
        "Excluded",
        true,
        false,
        true,
        "The resource carries an exclusion tag: nothing was changed.",
    ),
    end(
        "RuleOff",
        true,
        false,
        false,
        "The rule is off in the configuration: nothing was changed.",
    ),
    end(
        "UnknownRule",
        true,
        false,
        true,
        "The rule is not in the catalog: nothing was changed.",
    ),
    end(
        "Rejected",
        false,
        false,
        true,
        "The finding was refused (wrong account, unknown rule or invalid input): nothing was changed.",
    ),
    end(
        "ClassificationFailed",
        false,
        false,
        true,
        "Classify could not decide: nothing was changed.",
    ),
    end(
        "PartiallyApplied",
        false,
        true,
        true,
        "Part of the plan was applied; no access beyond the plan was removed. Re-run it.",
    ),
    end("RemediationFailed", false, true, true, "The fix could not be applied."),
    end(
        "VerificationFailed",
        false,
        true,
        true,
        "After remediation the rule's check still fails on the live resource.",
    ),
    end(
        "ApprovalRejected",
        true,
        false,
        true,
        "An approver rejected the fix: nothing was changed.",
    ),
    end(
        "ApprovalExpired",
        false,
        false,
        true,
        "No decision before the approval deadline: nothing was changed.",
    ),
    end(
        "ApprovalRequestFailed",
        false,
        false,
        true,
        "The approval request could not be sent: nothing was changed.",
    ),
    end(
        "ResourceBusy",
        false,
        false,
        true,
        "Other remediations kept the resource busy for longer than this one may wait: nothing was changed.",
    ),
    end(
        "ApprovalBypass",
        false,
        false,
        true,
        "An approve decision that did not come from the approval pages (not proven by the approval store): nothing was changed.",
    ),
];

/// The end state of that name.
pub fn end_state(name: &str) -> Option<&'static EndState> {
    END_STATES.iter().find(|e| e.name == name)
}

/// The `Notify…` task in front of an end state.
pub fn notify_state(end: &str) -> String {
    format!("Notify{end}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_states_are_unique_and_named_for_the_state_machine() {
        let mut names: Vec<&str> = END_STATES.iter().map(|e| e.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), END_STATES.len());
        assert_eq!(end_state("Healed").map(|e| e.succeeded), Some(true));
        assert_eq!(end_state("VerificationFailed").map(|e| e.succeeded), Some(false));
        assert!(end_state("Healthy").is_none());
    }

    /// The ASL's end states are exactly these, each of the right type, each entered only from its
    /// `Notify…` task, and every `Notify…` task goes on to its end state whether it succeeds or not.
    #[test]
    fn the_state_machine_reaches_every_end_through_its_notify_task() {
        let asl: serde_json::Value =
            serde_json::from_str(include_str!("../../../statemachines/remediation.asl.json")).unwrap();
        let states = asl["States"].as_object().unwrap();
        let ends: Vec<&str> = states
            .iter()
            .filter(|(_, s)| matches!(s["Type"].as_str(), Some("Succeed" | "Fail")))
            .map(|(n, _)| n.as_str())
            .collect();
        let mut want: Vec<&str> = END_STATES.iter().map(|e| e.name).collect();
        let mut got = ends.clone();
        want.sort();
        got.sort();
        assert_eq!(got, want, "the ASL's end states and END_STATES differ");
        for e in END_STATES {
            let ty = if e.succeeded { "Succeed" } else { "Fail" };
            assert_eq!(states[e.name]["Type"], ty, "{}", e.name);
            let notify = &states[&notify_state(e.name)];
            assert_eq!(notify["Type"], "Task", "{} has no Notify task", e.name);
            assert_eq!(notify["Next"], e.name);
            assert_eq!(notify["Parameters"]["outcome"], e.name);
            for c in notify["Catch"].as_array().unwrap() {
                assert_eq!(c["Next"], e.name, "a failed notification must still end in {}", e.name);
            }
            // Nothing else leads to the end state.
            let text = serde_json::to_string(&asl).unwrap();
            let into = format!("\"Next\":\"{}\"", e.name);
            let default = format!("\"Default\":\"{}\"", e.name);
            assert_eq!(
                text.matches(&into).count(),
                1 + notify["Catch"].as_array().unwrap().len(),
                "{} is entered other than through its Notify task",
                e.name
            );
            assert!(!text.contains(&default), "{} is a Choice default", e.name);
        }
        assert_eq!(asl["StartAt"], "Classify");
    }
}
