//! The documents the state machine carries from state to state. Each handler reads the fields it
//! needs from the execution's state and its result is stored under its own key
//! (`$.classification`, `$.remediation`, `$.verification`), so the whole story of a run is in
//! its output and history.

use serde::{Deserialize, Serialize};

use crate::finding::Finding;
use crate::finding::ResourceState;
use crate::plan::Plan;
use crate::spec::Mode;

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
    /// Another execution holds the resource: the state machine waits `wait_seconds`, then
    /// Remediate re-reads live state and plans again.
    Waiting,
    /// The plan re-derived from live state would remove access the approver never saw: ask again.
    Reapprove,
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
    /// The state the change leaves, computed from the fresh read and the plan (no read of its
    /// own: Verify's re-read, `$.verification.state`, is the live after-state; see
    /// [`Story::after`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<ResourceState>,
    /// What changed, one line each: the difference between `before` and `after`, so a fix
    /// completed by a retry lists every write, its own and the crashed attempt's.
    #[serde(default)]
    pub applied: Vec<String>,
    /// Set with `waiting`: how long the state machine waits before trying again (jittered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_seconds: Option<u64>,
    /// Set with `waiting`: when this execution started waiting for the resource (epoch seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_since: Option<u64>,
    /// Set with `remediated`: when the fix was applied (epoch seconds); Verify allows the
    /// family's settle time from then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_at: Option<u64>,
}

impl Remediation {
    /// A result that changed nothing.
    pub fn nothing(outcome: Outcome, reason: String) -> Remediation {
        Remediation {
            outcome,
            reason,
            plan: None,
            before: None,
            after: None,
            applied: Vec::new(),
            wait_seconds: None,
            waiting_since: None,
            applied_at: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Verification {
    pub compliant: bool,
    pub rule_id: String,
    pub resource: String,
    pub state: ResourceState,
    /// Not compliant yet, but the change may still be settling (a slow family: RDS, Redshift):
    /// the state machine waits this long, then verifies again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settling_seconds: Option<u64>,
}

/// Classify's input: the execution input.
#[derive(Debug, Clone, Deserialize)]
pub struct ClassifyInput {
    pub finding: Finding,
}

/// An execution's state document as it stands (`$`): what Remediate and RequestApproval are
/// given, since what they need depends on the path taken (an approval, an earlier wait).
#[derive(Debug, Clone, Deserialize)]
pub struct RunState {
    pub finding: Finding,
    pub classification: Classification,
    /// The approval gate's decision, once there was one.
    #[serde(default)]
    pub approval: Option<ApprovalDecision>,
    /// Remediate's previous result in this execution (`waiting` or `reapprove`), if any.
    #[serde(default)]
    pub remediation: Option<Remediation>,
}

/// Remediate's input: the state and the execution (`$$.Execution.Id`), which holds the lease.
#[derive(Debug, Clone, Deserialize)]
pub struct RemediateInput {
    pub execution: String,
    pub state: RunState,
}

/// Verify's input.
#[derive(Debug, Clone, Deserialize)]
pub struct VerifyInput {
    pub execution: String,
    pub finding: Finding,
    pub remediation: Remediation,
}

/// What the approval gate resolved (the task token's output, stored at `$.approval`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApprovalDecision {
    /// An [`ApprovalStatus`]'s word: `approved`, `rejected`, `already-compliant` or
    /// `resource-gone` (kept as the text the task output carried: a claim, checked by Remediate).
    pub decision: String,
    pub approver: String,
    pub decided_at: String,
    pub approval_id: String,
    /// The approval shown together with other findings on the same resource, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_id: Option<String>,
    /// The access the approver agreed to remove (every plan they were shown, combined).
    #[serde(default)]
    pub approved_removes: Vec<String>,
}

impl ApprovalDecision {
    /// Whether the decision is `status`.
    pub fn is(&self, status: ApprovalStatus) -> bool {
        self.decision == status.as_str()
    }
}

/// Where one approval (one finding's task) stands: `pending` until a decision or the deadline,
/// then one of the others, once (a conditional write), unless the execution could not be resumed
/// (the decision is then taken back to `pending`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ApprovalStatus {
    Pending,
    /// The approver approved and the live resource still fails the rule: the fix goes ahead.
    Approved,
    /// The approver rejected: nothing changes.
    Rejected,
    /// Approved, but the live resource passes the rule already: nothing to apply.
    AlreadyCompliant,
    /// Approved, but the live resource no longer exists.
    ResourceGone,
    /// No decision before the deadline, or the execution stopped waiting.
    Expired,
}

impl ApprovalStatus {
    pub const ALL: [ApprovalStatus; 6] = [
        ApprovalStatus::Pending,
        ApprovalStatus::Approved,
        ApprovalStatus::Rejected,
        ApprovalStatus::AlreadyCompliant,
        ApprovalStatus::ResourceGone,
        ApprovalStatus::Expired,
    ];

    /// The word stored in the table and sent as the task's `decision`.
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalStatus::Pending => "pending",
            ApprovalStatus::Approved => "approved",
            ApprovalStatus::Rejected => "rejected",
            ApprovalStatus::AlreadyCompliant => "already-compliant",
            ApprovalStatus::ResourceGone => "resource-gone",
            ApprovalStatus::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<ApprovalStatus> {
        ApprovalStatus::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Whether a decision was recorded (or the deadline passed): only `pending` can still change.
    pub fn is_final(self) -> bool {
        self != ApprovalStatus::Pending
    }
}

impl std::fmt::Display for ApprovalStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An execution's name from its ARN (`…:execution:<state machine>:<name>`), or the name itself.
pub fn execution_name(arn: &str) -> &str {
    arn.rsplit(':').next().unwrap_or(arn)
}

/// A serde enum's name as it is serialized (`DryRun` → `dry-run`).
pub fn kebab<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The typed pieces of a run's state document (`$`), each `None` when absent or not of its
/// shape: what the Notify task tells and the CLI shows.
pub struct Story {
    pub finding: Option<Finding>,
    pub classification: Option<Classification>,
    pub approval: Option<ApprovalDecision>,
    pub remediation: Option<Remediation>,
    pub verification: Option<Verification>,
    /// `$.error` as a Catch stored it: `{"Error": …, "Cause": …}`.
    pub error: Option<(String, String)>,
}

impl Story {
    pub fn read(doc: &serde_json::Value) -> Story {
        fn field<T: serde::de::DeserializeOwned>(doc: &serde_json::Value, key: &str) -> Option<T> {
            serde_json::from_value(doc.get(key)?.clone()).ok()
        }
        let text =
            |e: &serde_json::Value, k: &str| e.get(k).and_then(serde_json::Value::as_str).unwrap_or("").to_string();
        Story {
            finding: field(doc, "finding"),
            classification: field(doc, "classification"),
            approval: field(doc, "approval"),
            remediation: field(doc, "remediation"),
            verification: field(doc, "verification"),
            error: doc.get("error").map(|e| (text(e, "Error"), text(e, "Cause"))),
        }
    }

    /// The decision Classify made, as the state machine spells it (`auto`, `dry-run`, …).
    pub fn decision(&self) -> Option<String> {
        self.classification.as_ref().map(|c| kebab(&c.decision))
    }

    /// Whether the run is an undo (`auto-remediate undo`).
    pub fn is_undo(&self) -> bool {
        self.finding.as_ref().is_some_and(|f| f.undo.is_some())
    }

    /// The resource as the run left it: Verify's re-read once it proved the rule passes (the
    /// live state after the write), else the state Remediate computed (a run that did not
    /// verify).
    pub fn after(&self) -> Option<ResourceState> {
        let computed = self.remediation.as_ref()?.after.as_ref()?;
        Some(match &self.verification {
            Some(v) if v.compliant => v.state.clone(),
            _ => computed.clone(),
        })
    }

    /// The plan applied (or, before Remediate, the one classified).
    pub fn plan(&self) -> Option<&Plan> {
        self.remediation
            .as_ref()
            .and_then(|r| r.plan.as_ref())
            .or_else(|| self.classification.as_ref().and_then(|c| c.plan.as_ref()))
    }

    /// The name of the end state a succeeded run reached, from its output (see
    /// `statemachines/remediation.asl.json`: every `Succeed` state is told apart by the output).
    pub fn succeeded_outcome(&self) -> Option<&'static str> {
        if self.verification.as_ref().is_some_and(|v| v.compliant) {
            return Some(if self.is_undo() { "Restored" } else { "Healed" });
        }
        let by_outcome = |o: &str| match o {
            "dry-run" => Some("DryRunComplete"),
            "already-compliant" => Some("AlreadyCompliant"),
            "resource-gone" => Some("ResourceGone"),
            "excluded" => Some("Excluded"),
            "rule-off" => Some("RuleOff"),
            "unknown-rule" => Some("UnknownRule"),
            _ => None,
        };
        if let Some(found) = self.remediation.as_ref().and_then(|r| by_outcome(&kebab(&r.outcome))) {
            return Some(found);
        }
        if let Some(a) = &self.approval {
            if a.is(ApprovalStatus::Rejected) {
                return Some("ApprovalRejected");
            }
            if let Some(found) = by_outcome(&a.decision) {
                return Some(found);
            }
        }
        self.classification
            .as_ref()
            .and_then(|c| c.outcome.as_ref())
            .and_then(|o| by_outcome(&kebab(o)))
    }
}
