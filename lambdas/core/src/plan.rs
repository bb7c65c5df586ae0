//! Plans: exactly what a remediation will change, as data a person can read.
//!
//! Classify writes the plan, a human may approve it, Remediate re-derives it from live state and
//! applies it, and the audit trail keeps it. Each [`Change`] is one AWS write.

use serde::{Deserialize, Serialize};

use crate::rules::ec2_ports::IngressRule;
use crate::rules::s3_acl::AclGrant;

/// One write a remediation performs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action")]
pub enum Change {
    /// Remove one grant from a bucket ACL (every other grant and the owner are kept).
    #[serde(rename = "s3:RemoveGrant")]
    RemoveGrant { grant: AclGrant },
    /// Add an ingress rule that keeps access the revoked rule gave, minus the offending port.
    #[serde(rename = "ec2:AuthorizeIngress")]
    AuthorizeIngress { rule: IngressRule },
    /// Revoke one ingress rule, by its rule id.
    #[serde(rename = "ec2:RevokeIngress")]
    RevokeIngress { rule: IngressRule },
}

impl Change {
    /// One line for plans, emails and the audit trail.
    pub fn describe(&self) -> String {
        match self {
            Change::RemoveGrant { grant } => format!("remove grant {}", grant.describe()),
            Change::AuthorizeIngress { rule } => format!("add ingress {}", rule.describe()),
            Change::RevokeIngress { rule } => format!("revoke ingress {}", rule.describe()),
        }
    }
}

/// What a remediation will do to one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub rule_id: String,
    pub resource: String,
    pub region: String,
    /// One sentence.
    pub summary: String,
    /// The writes, in the order they are applied.
    pub changes: Vec<Change>,
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

impl Plan {
    pub fn new(rule_id: &str, resource: &str, region: &str, summary: String, changes: Vec<Change>) -> Plan {
        Plan {
            rule_id: rule_id.to_string(),
            resource: resource.to_string(),
            region: region.to_string(),
            summary,
            steps: changes.iter().map(Change::describe).collect(),
            changes,
            cannot_keep: Vec::new(),
            untouched: Vec::new(),
            removes: Vec::new(),
        }
    }

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
