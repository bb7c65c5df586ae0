//! The statuses the approvals table records, as types. Each is stored, logged and sent to the
//! state machine as the same lowercase word as before (`pending`, `already-compliant`, …): the
//! table's items, the task output the ASL reads and Remediate's proof (`ar_core::approvals`) are
//! unchanged by these types. [`ApprovalStatus`] lives in core's model layer (`ar_core::state`),
//! beside the decision it names, so Remediate's proof and the CLI read the same words.

use std::fmt;

use serde::{Deserialize, Serialize};

pub use ar_core::state::ApprovalStatus;

/// Where a batch (the approvals gathered on one resource) stands: `open` while gathering, then
/// `closed` (members final), `sending` (what the e-mail shows is recorded: the pages serve it),
/// `sent` (every approver's e-mail went out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BatchStatus {
    Open,
    Closed,
    Sending,
    Sent,
}

impl BatchStatus {
    pub const ALL: [BatchStatus; 4] = [
        BatchStatus::Open,
        BatchStatus::Closed,
        BatchStatus::Sending,
        BatchStatus::Sent,
    ];

    /// The word stored in the table.
    pub fn as_str(self) -> &'static str {
        match self {
            BatchStatus::Open => "open",
            BatchStatus::Closed => "closed",
            BatchStatus::Sending => "sending",
            BatchStatus::Sent => "sent",
        }
    }

    pub fn parse(s: &str) -> Option<BatchStatus> {
        BatchStatus::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether the approval pages serve it: once what it shows is recorded.
    pub fn is_served(self) -> bool {
        matches!(self, BatchStatus::Sending | BatchStatus::Sent)
    }
}

impl fmt::Display for BatchStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stored words are data (old items, the ASL's `decision` choices, Remediate's proof):
    /// these are the exact words the table held before the enum.
    #[test]
    fn statuses_are_stored_and_sent_as_the_same_words_as_before() {
        let words: Vec<&str> = ApprovalStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            words,
            [
                "pending",
                "approved",
                "rejected",
                "already-compliant",
                "resource-gone",
                "expired"
            ]
        );
        let batch: Vec<&str> = BatchStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(batch, ["open", "closed", "sending", "sent"]);
    }

    #[test]
    fn each_status_round_trips_through_its_word_and_through_serde() {
        for s in ApprovalStatus::ALL {
            assert_eq!(ApprovalStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert_eq!(serde_json::from_value::<ApprovalStatus>(s.as_str().into()).unwrap(), s);
            assert_eq!(s.to_string(), s.as_str());
        }
        for s in BatchStatus::ALL {
            assert_eq!(BatchStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert_eq!(ApprovalStatus::parse("Approved"), None);
        assert_eq!(ApprovalStatus::parse("already_compliant"), None);
        assert_eq!(BatchStatus::parse(""), None);
    }

    /// The decisions the state machine reads from the task output (`$.approval.decision`).
    #[test]
    fn the_asl_names_every_decision_word_the_callback_sends() {
        let asl = include_str!("../../../statemachines/remediation.asl.json");
        for s in [
            ApprovalStatus::Approved,
            ApprovalStatus::Rejected,
            ApprovalStatus::AlreadyCompliant,
            ApprovalStatus::ResourceGone,
        ] {
            assert!(asl.contains(&format!("\"{}\"", s.as_str())), "{s}");
        }
    }
}
