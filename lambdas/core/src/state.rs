//! The documents the state machine carries from state to state. Each handler reads the fields it
//! needs from the execution's state and its result is stored under its own key
//! (`$.classification`, `$.remediation`, `$.verification`), so the whole story of a run is in
//! its output and history.

use serde::{Deserialize, Serialize};

use crate::catalog::Mode;
use crate::finding::Finding;
use crate::plan::Plan;
use crate::rules::ResourceState;

/// What Classify decided. The state machine's `Choice` reads `decision` and `outcome`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    Skip,
    DryRun,
    Auto,
    Approve,
}

/// Why nothing is (or was) done; also the named end states of the state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The rule is `off` in the config.
    RuleOff,
    /// The rule is not in the catalog.
    UnknownRule,
    /// The resource carries an exclusion tag.
    Excluded,
    /// The resource no longer exists.
    ResourceGone,
    /// The live resource already passes the rule.
    AlreadyCompliant,
    /// Dry run: the plan was computed, nothing written.
    DryRun,
    /// The plan was applied.
    Remediated,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RuleRef {
    pub id: String,
    pub title: String,
    pub risk: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Classification {
    pub decision: Decision,
    /// Set when the decision is `skip`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    pub mode: Mode,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleRef>,
    /// What fails the rule now.
    #[serde(default)]
    pub offending: Vec<String>,
    /// Exactly what will change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<Plan>,
    /// Set when the decision is `approve`: the approval task's deadline (`TimeoutSecondsPath`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_timeout_seconds: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Remediation {
    pub outcome: Outcome,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<Plan>,
    /// The state before any change: enough to undo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<ResourceState>,
    /// The state re-read after the change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<ResourceState>,
    /// One line per write performed.
    #[serde(default)]
    pub applied: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Verification {
    pub compliant: bool,
    pub rule_id: String,
    pub resource: String,
    pub state: ResourceState,
}

/// Classify's input: the execution input.
#[derive(Debug, Clone, Deserialize)]
pub struct ClassifyInput {
    pub finding: Finding,
}

/// Remediate's input.
#[derive(Debug, Clone, Deserialize)]
pub struct RemediateInput {
    pub finding: Finding,
    pub classification: Classification,
}

/// Verify's input.
#[derive(Debug, Clone, Deserialize)]
pub struct VerifyInput {
    pub finding: Finding,
    pub remediation: Remediation,
}

/// What the approval gate resolved (the task token's output, stored at `$.approval`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApprovalDecision {
    /// `approved`, `rejected` or `already-compliant`.
    pub decision: String,
    pub approver: String,
    pub decided_at: String,
    pub approval_id: String,
}
