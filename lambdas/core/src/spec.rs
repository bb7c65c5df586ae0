//! The catalog's plain data: a rule ([`RuleSpec`]) and how it is handled ([`Mode`]). Model layer:
//! it names no family; the lookups of a rule's family live with the registry
//! ([`crate::catalog`]).

use serde::{Deserialize, Serialize};

/// How a rule is handled: the user's config picks one per rule, the catalog gives the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Never act on this rule.
    Off,
    /// Compute and record the plan, change nothing.
    DryRun,
    /// Wait for a human to approve the plan.
    Approve,
    /// Apply the plan at once.
    Auto,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Off => "off",
            Mode::DryRun => "dry-run",
            Mode::Approve => "approve",
            Mode::Auto => "auto",
        }
    }
}

/// One rule of the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub id: String,
    pub title: String,
    pub service: String,
    /// The family of code that heals it (a name in `families::FAMILIES`).
    pub family: String,
    /// That family's parameters for this rule.
    pub params: serde_json::Value,
    pub risk: String,
    pub default_mode: Mode,
    /// Why the default is a human gate, where it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why_gate: Option<String>,
    /// Set (to why) on a rule whose failure the live read cannot confirm: the fix acts on the
    /// finding's word (TrustedAdvisor-003: an exposed key looks like any active key), so a forged
    /// or mistaken finding would act too. Such a rule defaults to `approve` (checked when the
    /// catalog is parsed), and `auto` for it is refused when the config loads unless the rule's
    /// `unverifiable_auto` acknowledges it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unverifiable: Option<String>,
}

impl RuleSpec {
    /// Whether the live read cannot confirm this rule fails ([`RuleSpec::unverifiable`]).
    pub fn is_unverifiable(&self) -> bool {
        self.unverifiable.is_some()
    }
}
