//! A finding: what one source's message becomes ([`crate::intake`]), and what the state machine
//! carries from Classify to Verify, whatever the source.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

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
    /// Where it came from: `conformity`, `securityhub` or `config` ([`crate::intake`]).
    pub source: String,
    /// The scanner's check id (unique per rule and resource).
    pub check_id: String,
    pub rule_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_title: Option<String>,
    pub service: String,
    pub status: Status,
    /// The AWS account number, as intake resolved it (never the `ccrn`'s account part, which is
    /// the scanner's own id).
    pub account_id: String,
    /// Where `account_id` came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_source: Option<AccountSource>,
    /// The scanner's own id of the account (Conformity's `accountId`), when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scanner_account: Option<String>,
    /// The region to act in (README, "Intake": the finding's region, or the deployment's for
    /// global services and for `global`).
    pub region: String,
    /// The region as the scanner reported it (`global` or a region).
    pub reported_region: String,
    /// The AWS resource id (bucket name, `sg-...`; the region for region-level checks).
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
    /// The source's own ids of this finding, for updates back to it (Security Hub: `Id` and
    /// `ProductArn`, what `BatchUpdateFindings` names a finding by; Config: the rule name,
    /// resource type and resource id of the evaluation). Empty for Conformity.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub source_ids: BTreeMap<String, String>,
    /// Set on an undo run (`auto-remediate undo`): the run restores the state recorded before
    /// that execution's fix instead of healing the rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undo: Option<Undo>,
}

/// Where intake found a finding's AWS account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AccountSource {
    /// Conformity's `cloudProviderId` (messages since about 2021).
    CloudProviderId,
    /// An AWS ARN inside the console `link` (2019 messages).
    Link,
    /// The config's `accounts` entry listing the scanner's account id.
    Config,
    /// The finding's own account field (Security Hub `AwsAccountId`, Config `awsAccountId`).
    Event,
}

/// What an undo run is given: the run to undo, and nothing else. The states it restores and
/// checks against come from the ledger's record of that run's fix ([`Recorded`], written by the
/// run's own Remediate), never from input: a field that could carry state (`before`, `after`) is
/// refused by name (`InvalidInput`: unknown field).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Undo {
    /// The execution whose fix is undone (its ARN).
    pub execution: String,
}

/// What the ledger recorded about a run's fix, as an undo reads it: the run, the resource it
/// changed, the state before (the undo's target) and the state its plan left (the resource must
/// still be so, or the undo is refused with `ResourceChanged`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The execution whose fix is undone (its ARN).
    pub execution: String,
    pub before: ResourceState,
    pub after: ResourceState,
    /// On a retry of an undo run whose earlier attempt journaled its plan and died part way:
    /// that plan. The resource may then be anywhere between `after` and that plan's end (any
    /// subset of its changes made), and the undo completes the restore instead of refusing.
    pub partial: Option<crate::plan::Plan>,
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

/// A resource's rule-relevant state as recorded: the family's state as JSON, tagged with the
/// family's name under `kind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ResourceState(pub serde_json::Value);

impl ResourceState {
    /// The family that recorded it.
    pub fn kind(&self) -> Option<&str> {
        self.0.get("kind").and_then(serde_json::Value::as_str)
    }
}

#[cfg(test)]
mod undo_tests {
    use super::*;

    #[test]
    fn an_undo_names_only_the_run_and_state_fields_are_refused_by_name() {
        let ok: Undo = serde_json::from_value(serde_json::json!({ "execution": "arn:x" })).unwrap();
        assert_eq!(ok.execution, "arn:x");
        for field in ["before", "after"] {
            let e = serde_json::from_value::<Undo>(serde_json::json!({ "execution": "arn:x", field: {} }))
                .unwrap_err()
                .to_string();
            assert!(e.contains(&format!("unknown field `{field}`")), "{e}");
        }
    }
}
