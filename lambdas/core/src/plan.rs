//! Plans: exactly what a remediation will change, as data a person can read.
//!
//! Classify writes the plan, a human may approve it, Remediate re-derives it from live state and
//! applies it, and the audit trail keeps it. Each change is one AWS write, of a family's own type.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Error;

/// One write of a family's fix: its own enum, serialized with an `action` tag
/// (`"ec2:RevokeIngress"`), so plans of every family travel as the same JSON.
pub trait Describe {
    /// One line for plans, e-mails and the audit trail.
    fn describe(&self) -> String;
}

/// What a remediation will do to one resource. A family builds it with its own change type
/// (`Plan<ec2_world_port::Change>`); across the family boundary (state machine, approvals, audit) the
/// changes are tagged JSON (`Plan`, i.e. `Plan<Value>`), compared as such.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound(serialize = "C: Serialize", deserialize = "C: DeserializeOwned"))]
pub struct Plan<C = Value> {
    pub rule_id: String,
    pub resource: String,
    pub region: String,
    /// One sentence.
    pub summary: String,
    /// The writes, in the order they are applied.
    pub changes: Vec<C>,
    /// Human-readable lines of `changes`.
    pub steps: Vec<String>,
    /// Access the fix cannot keep (e.g. other IP protocols of an all-traffic rule).
    #[serde(default)]
    pub cannot_keep: Vec<String>,
    /// What is explicitly left as it is.
    #[serde(default)]
    pub untouched: Vec<String>,
    /// The access this plan takes away, one canonical line each (`tcp 22 from 0.0.0.0/0`,
    /// `READ to AllUsers`): what an approver agrees to. A plan re-derived later from live state
    /// may be applied under the same approval only if it removes nothing beyond these.
    #[serde(default)]
    pub removes: Vec<String>,
}

impl<C: Describe> Plan<C> {
    pub fn new(rule_id: &str, resource: &str, region: &str, summary: String, changes: Vec<C>) -> Plan<C> {
        Plan {
            rule_id: rule_id.to_string(),
            resource: resource.to_string(),
            region: region.to_string(),
            summary,
            steps: changes.iter().map(Describe::describe).collect(),
            changes,
            cannot_keep: Vec::new(),
            untouched: Vec::new(),
            removes: Vec::new(),
        }
    }
}

impl<C: Serialize> Plan<C> {
    /// The plan with its changes as tagged JSON: what crosses the family boundary.
    pub fn erase(self) -> Plan {
        Plan {
            changes: self
                .changes
                .iter()
                .map(|c| serde_json::to_value(c).expect("changes serialize"))
                .collect(),
            rule_id: self.rule_id,
            resource: self.resource,
            region: self.region,
            summary: self.summary,
            steps: self.steps,
            cannot_keep: self.cannot_keep,
            untouched: self.untouched,
            removes: self.removes,
        }
    }
}

impl Plan {
    /// The changes as a family's own type; a change of another family is an error.
    pub fn changes_as<C: DeserializeOwned>(&self) -> Result<Vec<C>, Error> {
        self.changes
            .iter()
            .map(|c| {
                serde_json::from_value(c.clone())
                    .map_err(|e| Error::InvalidInput(format!("a change this rule's family does not make: {e}")))
            })
            .collect()
    }
}

impl<C> Plan<C> {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// What this plan would remove that `approved` (the access an approver agreed to remove)
    /// does not cover; empty when the plan stays within the approval.
    pub fn beyond<'a>(&'a self, approved: &[String]) -> Vec<&'a str> {
        self.removes
            .iter()
            .filter(|r| !approved.contains(r))
            .map(String::as_str)
            .collect()
    }
}
