//! The user's configuration: one JSON document, the same locally and on AWS, parsed once at cold
//! start. Unknown fields are rejected so a typo never silently means "default".
//!
//! ```json
//! {
//!   "rules": { "EC2-002": { "mode": "auto" }, "S3-001": { "mode": "dry-run" } },
//!   "exclusion_tags": ["auto-remediate=skip", "service::auto-remediate"],
//!   "accounts": ["123456789012"]
//! }
//! ```
//! A rule not listed uses its catalog default. `exclusion_tags` defaults to the two above; a
//! resource carrying any of them (live or in the finding) is never touched. `accounts` defaults to
//! the deployment's own account; another account is entered through `member_role` (default
//! `auto-remediate-member`, the write role, remediate only) or `member_read_role` (default
//! `<member_role>-read`, the handlers that only read). A rule's `params` are laid over its catalog parameters and checked by
//! its family (`Catalog::configured`). `notify.outcomes` lists the end states that publish to
//! the outcome topic (default: all but `RuleOff`); `undo.mode` decides `auto-remediate undo`
//! runs (default `approve`). `sources.config_rules` maps AWS Config rules named otherwise than
//! AWS documents them to their managed rule identifiers ([`SourcesConfig`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, Mode};
use crate::error::Error;
pub use crate::keys::{KeyRing, KeySource, SigningKey};

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// off | dry-run | approve | auto
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    /// This rule's approval deadline, overriding `approval.timeout_seconds`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_timeout_seconds: Option<u64>,
    /// This rule's parameters over the catalog's (`{"retention_days": 14}`, a KMS key, a log
    /// bucket): what RULES.md lists as configurable for its family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<serde_json::Map<String, serde_json::Value>>,
    /// Accepts `auto` for a rule whose failure cannot be confirmed from live state (the catalog's
    /// `unverifiable`, e.g. TrustedAdvisor-003): without it such a rule in `auto` is refused when
    /// the config loads, since a forged or mistaken finding would then act with no human. Only
    /// valid on such a rule.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unverifiable_auto: bool,
}

/// A tag that excludes a resource: `key=value`, `key::value` (the seed's form), or `key` for any value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ExclusionTag {
    pub key: String,
    pub value: Option<String>,
}

impl TryFrom<String> for ExclusionTag {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let (key, value) = match s.split_once("::").or_else(|| s.split_once('=')) {
            Some((k, v)) => (k.trim(), Some(v.trim().to_string())),
            None => (s.trim(), None),
        };
        if key.is_empty() {
            return Err(format!("exclusion tag {s:?} has an empty key"));
        }
        Ok(ExclusionTag {
            key: key.to_string(),
            value,
        })
    }
}

impl From<ExclusionTag> for String {
    fn from(t: ExclusionTag) -> String {
        match t.value {
            Some(v) => format!("{}={v}", t.key),
            None => t.key,
        }
    }
}

impl ExclusionTag {
    pub fn matches(&self, tags: &BTreeMap<String, String>) -> bool {
        match tags.get(&self.key) {
            Some(v) => self.value.as_deref().is_none_or(|want| want == v),
            None => false,
        }
    }
}

fn default_exclusion_tags() -> Vec<ExclusionTag> {
    vec![
        ExclusionTag::try_from("auto-remediate=skip".to_string()).unwrap(),
        ExclusionTag::try_from("service::auto-remediate".to_string()).unwrap(),
    ]
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub rules: BTreeMap<String, RuleConfig>,
    #[serde(default = "default_exclusion_tags")]
    pub exclusion_tags: Vec<ExclusionTag>,
    /// Accounts this deployment may act in; empty means the deployment's own account. Each is
    /// an account number, or `{"id": <account number>, "conformity_ids": [...]}` naming the
    /// scanner's own ids for it (how a finding without `cloudProviderId` finds its account).
    #[serde(default)]
    pub accounts: Vec<AccountEntry>,
    /// The role remediate assumes in every other allowed account to apply fixes: the rules'
    /// reads and writes (`infra/modules/member-role` creates it, trusting the remediate role only).
    #[serde(default = "default_member_role")]
    pub member_role: String,
    /// The role the handlers that only read (classify, verify, request-approval, the approval
    /// callback) assume there: the rules' reads only, trusting those handlers' roles only.
    /// Default `<member_role>-read`; read through [`Config::member_read_role`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_read_role: Option<String>,
    /// Who approves gated fixes, from which address, and how long they have.
    #[serde(default)]
    pub approval: ApprovalConfig,
    /// Which outcomes are told to the outcome topic.
    #[serde(default)]
    pub notify: NotifyConfig,
    /// How `auto-remediate undo` runs are decided.
    #[serde(default)]
    pub undo: UndoConfig,
    /// The blast-radius circuit breaker: at most so many `auto` changes per account and rule
    /// family in a rolling hour (default 50), the rest gated.
    #[serde(default)]
    pub breaker: BreakerConfig,
    /// What the sources' own messages need told: the managed rules behind AWS Config rules
    /// named otherwise than AWS documents them.
    #[serde(default, skip_serializing_if = "SourcesConfig::is_empty")]
    pub sources: SourcesConfig,
}

/// The sources' settings (`sources`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourcesConfig {
    /// AWS Config rule name to the managed rule identifier it runs
    /// (`{"org-s3-no-public-read": "S3_BUCKET_PUBLIC_READ_PROHIBITED"}`): a Config event names
    /// the rule, never its identifier, and intake knows a managed rule by its documented name,
    /// Security Hub's `securityhub-<name>-<suffix>` or a conformance pack's
    /// `<name>-conformance-pack-<suffix>` only. A name listed here is looked up first, exactly.
    /// Each identifier must be one `catalog/sources.json` maps.
    #[serde(default)]
    pub config_rules: BTreeMap<String, String>,
}

impl SourcesConfig {
    pub fn is_empty(&self) -> bool {
        self.config_rules.is_empty()
    }

    /// Refuses, naming the entry, a `config_rules` name that is no Config rule name and an
    /// identifier auto-remediate does not heal (one `catalog/sources.json` lists as unmapped says
    /// why; a documented rule name given for its identifier says which identifier).
    pub fn validate(&self) -> Result<(), Error> {
        let s = crate::catalog::sources::sources();
        for (name, identifier) in &self.config_rules {
            let shown: String = name.chars().take(140).collect();
            if !is_config_rule_name(name) {
                return Err(Error::ConfigInvalid(format!(
                    "sources.config_rules: {shown:?} is not an AWS Config rule name \
                     (1 to 128 characters, at least one not a space, no control characters)"
                )));
            }
            let key = format!("sources.config_rules.{name}");
            if identifier.trim().is_empty() {
                return Err(Error::ConfigInvalid(format!(
                    "{key}: empty; give the managed rule identifier the Config rule runs \
                     (its SourceIdentifier, e.g. S3_BUCKET_PUBLIC_READ_PROHIBITED)"
                )));
            }
            if s.config.contains_key(identifier) {
                continue;
            }
            let why = if let Some(why) = s.unmapped.config.get(identifier) {
                format!("the managed rule {identifier} is not healed by auto-remediate: {why}")
            } else if let Some((id, _)) = s
                .config
                .iter()
                .find(|(_, m)| m.name.as_deref() == Some(identifier.as_str()))
            {
                format!("{identifier:?} is the documented rule name of {id}; give the identifier {id}")
            } else {
                let known: Vec<&str> = s.config.keys().map(String::as_str).collect();
                format!(
                    "{:?} is not a managed rule identifier auto-remediate heals (one of {})",
                    identifier.chars().take(140).collect::<String>(),
                    known.join(", ")
                )
            };
            return Err(Error::ConfigInvalid(format!("{key}: {why}")));
        }
        Ok(())
    }
}

/// An AWS Config rule name as the API takes it (`ConfigRuleName`): 1 to 128 characters, at
/// least one not white space, none a control character (a line break cannot match AWS's
/// pattern).
pub fn is_config_rule_name(s: &str) -> bool {
    (1..=128).contains(&s.chars().count()) && s.chars().any(|c| !c.is_whitespace()) && !s.chars().any(char::is_control)
}

/// The blast-radius circuit breaker's settings (`crate::breaker`): on by default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakerConfig {
    /// At most this many `auto` changes per AWS account and rule family within the last hour;
    /// further `auto` findings go to the approval gate (to a dry run without approvers) until the
    /// window clears or `auto-remediate breaker reset`. Default 50; `0` turns the breaker off.
    #[serde(default = "default_max_auto_changes_per_hour")]
    pub max_auto_changes_per_hour: u64,
    /// A family's own limit over the one above (`{"s3-acl": 200}`; `0` turns it off for that family).
    #[serde(default)]
    pub families: BTreeMap<String, u64>,
    /// Once this many fixes per AWS account and rule family within the last hour failed
    /// verification (the rule still failing after Remediate), the breaker opens for that account
    /// and family as if the change limit were reached. Default 5; `0` turns this part off.
    #[serde(default = "default_max_verification_failures_per_hour")]
    pub max_verification_failures_per_hour: u64,
}

fn default_max_auto_changes_per_hour() -> u64 {
    50
}

fn default_max_verification_failures_per_hour() -> u64 {
    5
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            max_auto_changes_per_hour: default_max_auto_changes_per_hour(),
            families: BTreeMap::new(),
            max_verification_failures_per_hour: default_max_verification_failures_per_hour(),
        }
    }
}

impl BreakerConfig {
    /// The hourly limit of `auto` changes for a rule family, `None` when the breaker is off for it.
    pub fn limit_for(&self, family: &str) -> Option<u64> {
        let limit = self
            .families
            .get(family)
            .copied()
            .unwrap_or(self.max_auto_changes_per_hour);
        (limit > 0).then_some(limit)
    }

    /// The hourly limit of fixes that failed verification, `None` when that part is off.
    pub fn failure_limit(&self) -> Option<u64> {
        (self.max_verification_failures_per_hour > 0).then_some(self.max_verification_failures_per_hour)
    }

    /// Both limits for a rule family.
    pub fn limits_for(&self, family: &str) -> Limits {
        Limits {
            changes: self.limit_for(family),
            failures: self.failure_limit(),
        }
    }
}

/// Undo runs' settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UndoConfig {
    /// `approve` (default: an undo re-opens access, so a person confirms it), `auto`, `dry-run`,
    /// or `off` (undo refused).
    #[serde(default = "default_undo_mode")]
    pub mode: Mode,
}

fn default_undo_mode() -> Mode {
    Mode::Approve
}

impl Default for UndoConfig {
    fn default() -> Self {
        UndoConfig {
            mode: default_undo_mode(),
        }
    }
}

/// The outcome notifications' settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    /// The end states (`Healed`, `VerificationFailed`, …: [`crate::outcome::END_STATES`]) whose
    /// executions publish a message; by default every one but `RuleOff`.
    #[serde(default = "default_notified_outcomes")]
    pub outcomes: Vec<String>,
}

fn default_notified_outcomes() -> Vec<String> {
    crate::outcome::END_STATES
        .iter()
        .filter(|e| e.notified_by_default)
        .map(|e| e.name.to_string())
        .collect()
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            outcomes: default_notified_outcomes(),
        }
    }
}

impl NotifyConfig {
    pub fn notifies(&self, outcome: &str) -> bool {
        self.outcomes.iter().any(|o| o == outcome)
    }
}

fn default_member_role() -> String {
    "auto-remediate-member".into()
}

fn default_approval_timeout() -> u64 {
    3600
}

/// The approval gate's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalConfig {
    /// E-mail addresses asked to approve; each gets links bound to their address.
    #[serde(default)]
    pub approvers: Vec<String>,
    /// The SES identity approval e-mails are sent from.
    #[serde(default)]
    pub sender: Option<String>,
    /// How long a decision may take before the request expires (at most 7 days).
    #[serde(default = "default_approval_timeout")]
    pub timeout_seconds: u64,
    /// How long the first approval request for a resource waits for the scan's other findings on
    /// that resource, so the approver gets one e-mail for all of them (0 to 60 seconds).
    #[serde(default = "default_batch_window")]
    pub batch_window_seconds: u64,
}

fn default_batch_window() -> u64 {
    3
}

impl Default for ApprovalConfig {
    fn default() -> Self {
        ApprovalConfig {
            approvers: Vec::new(),
            sender: None,
            timeout_seconds: default_approval_timeout(),
            batch_window_seconds: default_batch_window(),
        }
    }
}

/// A plausible single e-mail address (no display names, no lists, no header injection).
pub fn is_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && s.len() <= 254
                && s.chars()
                    .all(|c| c.is_ascii_graphic() && !matches!(c, '<' | '>' | ',' | ';' | '"' | '\\' | '(' | ')'))
                && !domain.contains('@')
        }
        None => false,
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            rules: BTreeMap::new(),
            exclusion_tags: default_exclusion_tags(),
            accounts: Vec::new(),
            member_role: default_member_role(),
            member_read_role: None,
            approval: ApprovalConfig::default(),
            notify: NotifyConfig::default(),
            undo: UndoConfig::default(),
            breaker: BreakerConfig::default(),
            sources: SourcesConfig::default(),
        }
    }
}

impl Config {
    /// The member role the read-only handlers assume: `member_read_role`, else `<member_role>-read`.
    pub fn member_read_role(&self) -> String {
        self.member_read_role
            .clone()
            .unwrap_or_else(|| format!("{}-read", self.member_role))
    }

    /// Parses and validates a config document against the catalog.
    pub fn parse(text: &str, catalog: &Catalog) -> Result<Config, Error> {
        let config: Config = serde_json::from_str(text).map_err(|e| Error::ConfigInvalid(e.to_string()))?;
        config.validate(catalog)?;
        Ok(config)
    }

    /// Refuses a config that cannot work, naming the field: unknown rule ids, malformed addresses,
    /// timeouts or accounts, `auto` for a rule whose failure cannot be confirmed live without its
    /// `unverifiable_auto`, and rules in `approve` mode (set in `rules` or by the catalog default)
    /// with no one to ask or no address to ask from.
    pub fn validate(&self, catalog: &Catalog) -> Result<(), Error> {
        for id in self.rules.keys() {
            if catalog.get(id).is_none() {
                return Err(Error::ConfigInvalid(format!("rules.{id}: not a rule in the catalog")));
            }
        }
        catalog.configured(self)?;
        for (id, rc) in &self.rules {
            let Some(spec) = catalog.get(id) else { continue };
            match (&spec.unverifiable, rc.mode, rc.unverifiable_auto) {
                (Some(why), Some(Mode::Auto), false) => {
                    return Err(Error::ConfigInvalid(format!(
                        "rules.{id}: mode auto for a rule whose failure cannot be confirmed from live state \
                         ({why}), so a forged or mistaken finding would act with no human; \
                         set rules.{id}.unverifiable_auto to true to accept that, or use approve"
                    )))
                }
                (None, _, true) => {
                    return Err(Error::ConfigInvalid(format!(
                        "rules.{id}.unverifiable_auto: {id}'s failure is confirmed from live state, \
                         nothing to acknowledge; remove the field"
                    )))
                }
                _ => {}
            }
        }
        let role_name = |r: &str| {
            !r.is_empty() && r.len() <= 64 && r.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
        };
        if !role_name(&self.member_role) {
            return Err(Error::ConfigInvalid(format!(
                "member_role: {:?} is not an IAM role name",
                self.member_role
            )));
        }
        let read_role = self.member_read_role();
        if !role_name(&read_role) {
            return Err(Error::ConfigInvalid(match &self.member_read_role {
                Some(r) => format!("member_read_role: {r:?} is not an IAM role name"),
                None => format!(
                    "member_read_role: the default {read_role:?} (member_role + \"-read\") is not an IAM role name; set member_read_role"
                ),
            }));
        }
        if read_role == self.member_role {
            return Err(Error::ConfigInvalid(format!(
                "member_read_role: {read_role:?} is member_role too; the read role must be another role, holding no write"
            )));
        }
        for (field, addr) in self
            .approval
            .approvers
            .iter()
            .map(|a| ("approval.approvers", a))
            .chain(self.approval.sender.iter().map(|a| ("approval.sender", a)))
        {
            if !is_email(addr) {
                return Err(Error::ConfigInvalid(format!(
                    "{field}: {addr:?} is not an e-mail address"
                )));
            }
        }
        if let Some(f) = self
            .breaker
            .families
            .keys()
            .find(|f| crate::families::family(f).is_none())
        {
            return Err(Error::ConfigInvalid(format!("breaker.families.{f}: not a rule family")));
        }
        self.sources.validate()?;
        let timeouts = self.rules.values().filter_map(|r| r.approval_timeout_seconds);
        if std::iter::once(self.approval.timeout_seconds)
            .chain(timeouts)
            .any(|t| !(1..=7 * 86400).contains(&t))
        {
            return Err(Error::ConfigInvalid(
                "approval timeouts must be between 1 and 604800 seconds".into(),
            ));
        }
        if let Some(bad) = self
            .notify
            .outcomes
            .iter()
            .find(|o| crate::outcome::end_state(o).is_none())
        {
            let known: Vec<&str> = crate::outcome::END_STATES.iter().map(|e| e.name).collect();
            return Err(Error::ConfigInvalid(format!(
                "notify.outcomes: {bad:?} is not an outcome (one of {})",
                known.join(", ")
            )));
        }
        if self.approval.batch_window_seconds > 60 {
            return Err(Error::ConfigInvalid(
                "approval.batch_window_seconds must be at most 60".into(),
            ));
        }
        let mut scanner_ids: BTreeMap<&str, &str> = BTreeMap::new();
        for account in &self.accounts {
            if !is_account_number(&account.id) {
                return Err(Error::ConfigInvalid(format!(
                    "accounts: {:?} is not a 12-digit account number",
                    account.id
                )));
            }
            for cc in &account.conformity_ids {
                if !is_scanner_account_id(cc) {
                    return Err(Error::ConfigInvalid(format!(
                        "accounts: conformity id {cc:?} of {} is not a Conformity account id (1-64 letters, digits, `_` or `-`)",
                        account.id
                    )));
                }
                if let Some(other) = scanner_ids.insert(cc, &account.id).filter(|o| *o != account.id) {
                    return Err(Error::ConfigInvalid(format!(
                        "accounts: conformity id {cc:?} is given for both {other} and {}",
                        account.id
                    )));
                }
            }
        }
        let gated: Vec<&str> = catalog
            .rules()
            .filter(|r| self.mode_for(&r.id, catalog) == Mode::Approve)
            .map(|r| r.id.as_str())
            .collect();
        let mut missing = Vec::new();
        if self.approval.approvers.is_empty() {
            missing.push(("approval.approvers", "empty"));
        }
        if self.approval.sender.is_none() {
            missing.push(("approval.sender", "missing"));
        }
        if !gated.is_empty() && !missing.is_empty() {
            let what: Vec<String> = missing.iter().map(|(f, why)| format!("{f}: {why}")).collect();
            let fields: Vec<&str> = missing.iter().map(|(f, _)| *f).collect();
            return Err(Error::ConfigInvalid(format!(
                "{}, but rules {} are in approve mode (explicitly or by their catalog default): \
                 set {}, or give those rules another mode (auto, dry-run or off) in `rules`",
                what.join("; "),
                gated.join(", "),
                fields.join(" and ")
            )));
        }
        Ok(())
    }

    /// The mode for a rule: the config's, else the catalog default. Unknown rules are off.
    pub fn mode_for(&self, rule_id: &str, catalog: &Catalog) -> Mode {
        self.rules
            .get(rule_id)
            .and_then(|r| r.mode)
            .or_else(|| catalog.get(rule_id).map(|r| r.default_mode))
            .unwrap_or(Mode::Off)
    }

    /// How long approvers have to decide on a rule's fix.
    pub fn approval_timeout_for(&self, rule_id: &str) -> u64 {
        self.rules
            .get(rule_id)
            .and_then(|r| r.approval_timeout_seconds)
            .unwrap_or(self.approval.timeout_seconds)
    }

    /// The first exclusion tag that `tags` carries, if any.
    pub fn excluded_by(&self, tags: &BTreeMap<String, String>) -> Option<&ExclusionTag> {
        self.exclusion_tags.iter().find(|t| t.matches(tags))
    }

    pub fn account_allowed(&self, account: &str, deployment_account: &str) -> bool {
        if self.accounts.is_empty() {
            account == deployment_account
        } else {
            self.accounts.iter().any(|a| a.id == account)
        }
    }

    /// The AWS account the config maps a scanner's account id to (`accounts[].conformity_ids`).
    pub fn account_for_scanner_id(&self, scanner_id: &str) -> Option<&str> {
        self.accounts
            .iter()
            .find(|a| a.conformity_ids.iter().any(|c| c == scanner_id))
            .map(|a| a.id.as_str())
    }
}

pub use crate::ids::is_account_number;

/// A Conformity account id as it appears in messages: short (`oZX1TUZ6p`, `H19NxM15-`) or a UUID.
pub fn is_scanner_account_id(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
}

/// One entry of `accounts`: an AWS account number, written alone (`"123456789012"`) or with the
/// scanner's ids for it (`{"id": "123456789012", "conformity_ids": ["HJzFMHchx"]}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountEntry {
    pub id: String,
    pub conformity_ids: Vec<String>,
}

impl From<&str> for AccountEntry {
    fn from(id: &str) -> Self {
        AccountEntry {
            id: id.to_string(),
            conformity_ids: Vec::new(),
        }
    }
}

impl Serialize for AccountEntry {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.conformity_ids.is_empty() {
            s.serialize_str(&self.id)
        } else {
            serde_json::json!({"id": self.id, "conformity_ids": self.conformity_ids}).serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for AccountEntry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(id) => Ok(AccountEntry {
                id,
                conformity_ids: Vec::new(),
            }),
            serde_json::Value::Object(mut m) => {
                if let Some(k) = m.keys().find(|k| !matches!(k.as_str(), "id" | "conformity_ids")) {
                    return Err(D::Error::custom(format!(
                        "unknown field `{k}` in an account entry, expected `id` or `conformity_ids`"
                    )));
                }
                let id = match m.remove("id") {
                    Some(serde_json::Value::String(id)) => id,
                    _ => {
                        return Err(D::Error::custom(
                            "an account entry needs `id`, the account number as a string",
                        ))
                    }
                };
                let conformity_ids = match m.remove("conformity_ids") {
                    None => Vec::new(),
                    Some(v) => serde_json::from_value(v)
                        .map_err(|_| D::Error::custom("`conformity_ids` must be a list of strings"))?,
                };
                Ok(AccountEntry { id, conformity_ids })
            }
            _ => Err(D::Error::custom(
                "an account is a 12-digit string or {\"id\": ..., \"conformity_ids\": [...]}",
            )),
        }
    }
}

mod settings;
pub use settings::{fetch_config, parse_s3_url, Settings, CONFIG_S3, CONFIG_S3_MAX_BYTES, CONFIG_S3_VERSION};

/// The limits in force for one account and family (`None`: that part of the breaker is off).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `auto` changes per hour.
    pub changes: Option<u64>,
    /// Fixes that failed verification per hour.
    pub failures: Option<u64>,
}

/// The catalog with a config laid over it. Defined here, above both: the catalog never reads the
/// config.
impl Catalog {
    /// The catalog with the config's per-rule `params` laid over the catalog's, each checked by
    /// its family.
    pub fn configured(&self, config: &Config) -> Result<Catalog, Error> {
        let mut rules = self.rules.clone();
        for (id, rc) in &config.rules {
            let (Some(spec), Some(over)) = (rules.get_mut(id), rc.params.as_ref()) else {
                continue;
            };
            let mut merged = match &spec.params {
                serde_json::Value::Object(m) => m.clone(),
                _ => serde_json::Map::new(),
            };
            for name in spec.family_impl().fixed_params() {
                if let Some(v) = over.get(*name).filter(|v| merged.get(*name) != Some(*v)) {
                    return Err(Error::ConfigInvalid(format!(
                        "rules.{id}.params.{name}: {v} is not {id}'s; {id} checks {} (a parameter of what the rule checks cannot be changed)",
                        merged.get(*name).map(|c| c.to_string()).unwrap_or_else(|| "nothing".into())
                    )));
                }
            }
            merged.extend(over.clone());
            spec.params = serde_json::Value::Object(merged);
            spec.family_impl()
                .check_params(&spec.params)
                .map_err(|e| Error::ConfigInvalid(format!("rules.{id}.params: {e}")))?;
        }
        Ok(Catalog { rules })
    }
}

#[cfg(test)]
mod tests;
