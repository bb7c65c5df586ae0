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
//! runs (default `approve`).

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
    pub fn limits_for(&self, family: &str) -> crate::breaker::Limits {
        crate::breaker::Limits {
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
        if let Some(f) = self.breaker.families.keys().find(|f| crate::rules::family(f).is_none()) {
            return Err(Error::ConfigInvalid(format!("breaker.families.{f}: not a rule family")));
        }
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

/// A 12-digit AWS account number.
pub fn is_account_number(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|c| c.is_ascii_digit())
}

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

/// Where a config kept in S3 is (`s3://bucket/key`), and its version.
pub const CONFIG_S3: &str = "AUTO_REMEDIATE_CONFIG_S3";
pub const CONFIG_S3_VERSION: &str = "AUTO_REMEDIATE_CONFIG_S3_VERSION";
/// The largest config document read from S3 (one of 1,000 accounts is about 20 KB).
pub const CONFIG_S3_MAX_BYTES: i64 = 1024 * 1024;

/// The bucket and key of an `s3://bucket/key` URL.
pub fn parse_s3_url(url: &str) -> Result<(&str, &str), Error> {
    url.strip_prefix("s3://")
        .and_then(|rest| rest.split_once('/'))
        .filter(|(bucket, key)| !bucket.is_empty() && !key.is_empty())
        .ok_or_else(|| Error::ConfigInvalid(format!("{CONFIG_S3}: {url:?} is not s3://<bucket>/<key>")))
}

/// The config document at `url` (at `version` when given), as text.
pub async fn fetch_config(s3: &aws_sdk_s3::Client, url: &str, version: Option<&str>) -> Result<String, Error> {
    let (bucket, key) = parse_s3_url(url)?;
    let failed = |e: String| Error::ConfigInvalid(format!("{CONFIG_S3} {url}: {e}"));
    let out = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .set_version_id(version.map(str::to_string))
        .send()
        .await
        .map_err(|e| failed(Error::from_sdk("s3:GetObject", e).to_string()))?;
    if out.content_length().unwrap_or(0) > CONFIG_S3_MAX_BYTES {
        return Err(failed(format!(
            "{} bytes, more than the {CONFIG_S3_MAX_BYTES} read",
            out.content_length().unwrap_or(0)
        )));
    }
    let bytes = out
        .body
        .collect()
        .await
        .map_err(|e| failed(format!("reading the object: {e}")))?
        .into_bytes();
    String::from_utf8(bytes.to_vec()).map_err(|_| failed("not UTF-8 text".into()))
}

/// Process settings from the environment, read once at cold start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `AWS_REGION`: where global resources are addressed and the stack runs.
    pub region: String,
    /// `AUTO_REMEDIATE_ACCOUNT_ID`: the account this deployment runs in.
    pub account_id: String,
    /// `STATE_MACHINE_ARN`: needed by the trigger only.
    pub state_machine_arn: Option<String>,
    pub config: Config,
    /// `STATE_TABLE`: the DynamoDB table of resource leases, fix journals and check generations.
    pub state_table: Option<String>,
    /// `APPROVAL_TABLE`: the DynamoDB table of pending approvals.
    pub approval_table: Option<String>,
    /// `APPROVAL_BASE_URL`: where the approval pages are served (API Gateway, or the local stack).
    pub approval_base_url: Option<String>,
    /// The keys that sign and verify approval links, once loaded (see [`crate::keys`]).
    pub signing_keys: Option<KeyRing>,
    /// Where they come from: `APPROVAL_SIGNING_KEY[_FILE]` (loaded at once), a Secrets Manager
    /// secret or SSM parameters (loaded by [`Settings::load_signing_keys`] at cold start).
    pub signing_key_source: Option<KeySource>,
    /// `AUTO_REMEDIATE_OUTBOX_DIR`: also write each e-mail sent there (the local stack).
    pub outbox_dir: Option<std::path::PathBuf>,
    /// `OUTCOME_TOPIC_ARN`: where the Notify task publishes how each execution ended.
    pub outcome_topic_arn: Option<String>,
}

impl Settings {
    /// Reads `AWS_REGION`, `AUTO_REMEDIATE_ACCOUNT_ID`, `STATE_MACHINE_ARN` and the config from
    /// `AUTO_REMEDIATE_CONFIG` (the JSON itself) or `AUTO_REMEDIATE_CONFIG_FILE` (a path).
    pub fn from_env() -> Result<Settings, Error> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// [`Settings::from_lookup`], and a config kept in S3: `AUTO_REMEDIATE_CONFIG_S3`
    /// (`s3://bucket/key`) read once with `s3` (the deployment's credentials), at the version
    /// `AUTO_REMEDIATE_CONFIG_S3_VERSION` names when set (Terraform sets it, so a changed config
    /// changes every function's configuration and starts fresh cold starts). A config too large
    /// for Lambda's 4 KB environment lives there (infra/main.tf). Setting it beside
    /// `AUTO_REMEDIATE_CONFIG` or `AUTO_REMEDIATE_CONFIG_FILE` is refused: one source, never a
    /// silent choice.
    pub async fn load(get: impl Fn(&str) -> Option<String>, s3: &aws_sdk_s3::Client) -> Result<Settings, Error> {
        let nonempty = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let Some(url) = nonempty(CONFIG_S3) else {
            return Self::from_lookup(get);
        };
        if let Some(other) = ["AUTO_REMEDIATE_CONFIG", "AUTO_REMEDIATE_CONFIG_FILE"]
            .into_iter()
            .find(|k| nonempty(k).is_some())
        {
            return Err(Error::ConfigInvalid(format!(
                "{CONFIG_S3} and {other} are both set: set one config source"
            )));
        }
        let version = nonempty(CONFIG_S3_VERSION);
        let text = fetch_config(s3, &url, version.as_deref()).await?;
        let origin = match &version {
            Some(v) => format!("{CONFIG_S3} {url} (version {v})"),
            None => format!("{CONFIG_S3} {url}"),
        };
        Self::from_parts(get, Some((origin, text)))
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Settings, Error> {
        Self::from_parts(get, None)
    }

    /// The settings, the config document being `fetched` (where it came from, its text) when
    /// read by [`Settings::load`].
    fn from_parts(get: impl Fn(&str) -> Option<String>, fetched: Option<(String, String)>) -> Result<Settings, Error> {
        let region = get("AWS_REGION")
            .or_else(|| get("AWS_DEFAULT_REGION"))
            .ok_or_else(|| Error::ConfigInvalid("AWS_REGION is not set".into()))?;
        let account_id = get("AUTO_REMEDIATE_ACCOUNT_ID")
            .ok_or_else(|| Error::ConfigInvalid("AUTO_REMEDIATE_ACCOUNT_ID is not set".into()))?;
        if account_id.len() != 12 || !account_id.bytes().all(|c| c.is_ascii_digit()) {
            return Err(Error::ConfigInvalid(
                "AUTO_REMEDIATE_ACCOUNT_ID is not a 12-digit account number".into(),
            ));
        }
        let catalog = Catalog::builtin();
        let config = match (get("AUTO_REMEDIATE_CONFIG"), get("AUTO_REMEDIATE_CONFIG_FILE")) {
            _ if fetched.is_some() => {
                let (origin, text) = fetched.expect("checked");
                Config::parse(&text, catalog).map_err(|e| e.context(&origin))?
            }
            (Some(text), _) if !text.trim().is_empty() => {
                Config::parse(&text, catalog).map_err(|e| e.context("AUTO_REMEDIATE_CONFIG"))?
            }
            (_, Some(path)) if !path.trim().is_empty() => {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| Error::ConfigInvalid(format!("AUTO_REMEDIATE_CONFIG_FILE {path}: {e}")))?;
                Config::parse(&text, catalog).map_err(|e| e.context(&format!("AUTO_REMEDIATE_CONFIG_FILE {path}")))?
            }
            _ => {
                let config = Config::default();
                config.validate(catalog).map_err(|e| {
                    e.context("neither AUTO_REMEDIATE_CONFIG nor AUTO_REMEDIATE_CONFIG_FILE is set, so the catalog defaults apply")
                })?;
                config
            }
        };
        let signing_key_source = KeySource::from_lookup(&get)?;
        let nonempty = |k: &str| get(k).filter(|s| !s.is_empty());
        Ok(Settings {
            region,
            account_id,
            state_machine_arn: nonempty("STATE_MACHINE_ARN"),
            config,
            state_table: nonempty("STATE_TABLE"),
            approval_table: nonempty("APPROVAL_TABLE"),
            approval_base_url: nonempty("APPROVAL_BASE_URL").map(|u| u.trim_end_matches('/').to_string()),
            signing_keys: match &signing_key_source {
                Some(KeySource::Loaded(ring)) => Some(ring.clone()),
                _ => None,
            },
            signing_key_source,
            outbox_dir: nonempty("AUTO_REMEDIATE_OUTBOX_DIR").map(std::path::PathBuf::from),
            outcome_topic_arn: nonempty("OUTCOME_TOPIC_ARN"),
        })
    }

    /// Loads the signing keys where they are kept in AWS (Secrets Manager, SSM): once, at cold start.
    pub async fn load_signing_keys(&mut self, sdk: &aws_config::SdkConfig) -> Result<(), Error> {
        if let Some(source) = &self.signing_key_source {
            self.signing_keys = Some(source.load(sdk).await?);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_default_to_their_catalog_mode() {
        let c = Config::parse(
            r#"{"rules": {"EC2-002": {"mode": "auto"}}, "approval": {"approvers": ["a@example.com"], "sender": "ar@example.com"}}"#,
            Catalog::builtin(),
        )
        .unwrap();
        assert_eq!(c.mode_for("EC2-002", Catalog::builtin()), Mode::Auto);
        assert_eq!(c.mode_for("EC2-003", Catalog::builtin()), Mode::Approve);
        assert_eq!(c.mode_for("S3-002", Catalog::builtin()), Mode::Auto);
        assert_eq!(c.mode_for("XYZ-001", Catalog::builtin()), Mode::Off);
    }

    #[test]
    fn typos_and_unknown_rules_are_config_errors() {
        for bad in [
            r#"{"rule": {}}"#,
            r#"{"rules": {"EC2-002": {"mdoe": "auto"}}}"#,
            r#"{"rules": {"EC2-002": {"mode": "yes"}}}"#,
            r#"{"rules": {"EC2-999": {"mode": "auto"}}}"#,
            r#"{"accounts": ["12345"]}"#,
            r#"{"notify": {"outcomes": ["Healthy"]}}"#,
            r#"{"notify": {"outcome": ["Healed"]}}"#,
        ] {
            assert_eq!(
                Config::parse(bad, Catalog::builtin()).unwrap_err().name(),
                "ConfigInvalid",
                "{bad}"
            );
        }
    }

    #[test]
    fn both_exclusion_tag_forms_match() {
        let c = Config::default();
        let tags = |k: &str, v: &str| BTreeMap::from([(k.to_string(), v.to_string())]);
        assert!(c.excluded_by(&tags("auto-remediate", "skip")).is_some());
        assert!(c.excluded_by(&tags("service", "auto-remediate")).is_some());
        assert!(c.excluded_by(&tags("auto-remediate", "yes")).is_none());
    }

    #[test]
    fn rule_params_are_checked_by_their_family_and_the_member_role_must_be_a_role_name() {
        let catalog = Catalog::builtin();
        let bad_params = r#"{"rules": {"S3-012": {"mode": "auto", "params": {"retention_days": 7}}}}"#;
        let err = Config::parse(bad_params, catalog).unwrap_err();
        assert_eq!(err.name(), "ConfigInvalid");
        assert!(err.to_string().contains("rules.S3-012.params"), "{err}");
        for role in ["", "a/b", "role name"] {
            let text = format!(r#"{{"member_role": "{role}", "rules": {{"S3-001": {{"mode": "auto"}}}}}}"#);
            let err = Config::parse(&text, catalog).unwrap_err();
            assert!(err.to_string().contains("member_role"), "{role:?}: {err}");
        }
    }

    /// A config kept in S3: its URL must name a bucket and a key, and it is never read beside
    /// another source (refused before any call: the endpoint here is unreachable). Without it,
    /// `load` is `from_lookup`. The read itself is tested against moto (tests/stack/startup.rs).
    #[tokio::test]
    async fn a_config_in_s3_is_one_source_with_a_bucket_and_a_key() {
        assert_eq!(parse_s3_url("s3://b/k/config.json").unwrap(), ("b", "k/config.json"));
        for bad in ["s3://b", "s3://b/", "s3:///k", "https://b/k", "b/k"] {
            assert_eq!(parse_s3_url(bad).unwrap_err().name(), "ConfigInvalid", "{bad}");
        }
        let s3 = aws_sdk_s3::Client::new(&crate::aws::local_sdk_config("http://127.0.0.1:9", "us-east-1"));
        let base = [
            ("AWS_REGION", "us-east-1"),
            ("AUTO_REMEDIATE_ACCOUNT_ID", "111111111111"),
        ];
        let load = |extra: Vec<(&'static str, &'static str)>| {
            let vars: Vec<(&str, &str)> = base.iter().copied().chain(extra).collect();
            let s3 = s3.clone();
            async move { Settings::load(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string()), &s3).await }
        };
        for other in ["AUTO_REMEDIATE_CONFIG", "AUTO_REMEDIATE_CONFIG_FILE"] {
            let err = load(vec![(CONFIG_S3, "s3://b/k"), (other, "{}")]).await.unwrap_err();
            assert!(err.to_string().contains("set one config source"), "{err}");
        }
        let err = load(vec![(CONFIG_S3, "s3://b")]).await.unwrap_err();
        assert!(err.to_string().contains("is not s3://<bucket>/<key>"), "{err}");
        let text =
            r#"{"member_role": "ar-w", "approval": {"approvers": ["a@example.com"], "sender": "ar@example.com"}}"#;
        let inline = load(vec![(CONFIG_S3, " "), ("AUTO_REMEDIATE_CONFIG", text)])
            .await
            .unwrap();
        assert_eq!(inline.config.member_role, "ar-w");
    }

    /// The read-only handlers' member role: `<member_role>-read` unless named; a name that is
    /// no role name, or the write role's own name, is refused naming `member_read_role`.
    #[test]
    fn the_member_read_role_defaults_from_member_role_and_is_never_the_write_role() {
        let catalog = Catalog::builtin();
        let parse = |fields: &str| Config::parse(&format!("{{{APPROVAL}, {fields}}}"), catalog);
        assert_eq!(Config::default().member_read_role(), "auto-remediate-member-read");
        assert_eq!(
            parse(r#""member_role": "ar-w""#).unwrap().member_read_role(),
            "ar-w-read"
        );
        let named = parse(r#""member_role": "ar-w", "member_read_role": "ar-r""#).unwrap();
        assert_eq!(
            (named.member_role.as_str(), named.member_read_role().as_str()),
            ("ar-w", "ar-r")
        );
        for (fields, why) in [
            (r#""member_read_role": "a/b""#, "not an IAM role name"),
            (r#""member_read_role": """#, "not an IAM role name"),
            (r#""member_read_role": "auto-remediate-member""#, "is member_role too"),
            (r#""member_role": "ar", "member_read_role": "ar""#, "is member_role too"),
        ] {
            let err = parse(fields).unwrap_err();
            assert_eq!(err.name(), "ConfigInvalid");
            assert!(
                err.to_string().contains("member_read_role") && err.to_string().contains(why),
                "{fields}: {err}"
            );
        }
        // 60 characters: a valid write role whose derived read role (65) is not.
        let long = "r".repeat(60);
        let err = parse(&format!(r#""member_role": "{long}""#)).unwrap_err();
        assert!(err.to_string().contains("set member_read_role"), "{err}");
        assert!(parse(&format!(r#""member_role": "{long}", "member_read_role": "r""#)).is_ok());
    }

    const APPROVAL: &str = r#""approval": {"approvers": ["a@example.com"], "sender": "ar@example.com"}"#;

    #[test]
    fn an_unverifiable_rule_defaults_to_approve() {
        let c = Config::parse(&format!("{{{APPROVAL}}}"), Catalog::builtin()).unwrap();
        assert_eq!(c.mode_for("TrustedAdvisor-003", Catalog::builtin()), Mode::Approve);
    }

    #[test]
    fn auto_for_an_unverifiable_rule_is_refused_without_its_acknowledgement() {
        let doc = format!(r#"{{"rules": {{"TrustedAdvisor-003": {{"mode": "auto"}}}}, {APPROVAL}}}"#);
        let err = Config::parse(&doc, Catalog::builtin()).unwrap_err();
        assert_eq!(err.name(), "ConfigInvalid");
        let text = err.to_string();
        for needle in [
            "rules.TrustedAdvisor-003",
            "cannot be confirmed from live state",
            "rules.TrustedAdvisor-003.unverifiable_auto",
        ] {
            assert!(text.contains(needle), "{needle} in {text}");
        }
        let doc = format!(
            r#"{{"rules": {{"TrustedAdvisor-003": {{"mode": "auto", "unverifiable_auto": false}}}}, {APPROVAL}}}"#
        );
        assert!(
            Config::parse(&doc, Catalog::builtin()).is_err(),
            "false acknowledges nothing"
        );
    }

    #[test]
    fn auto_for_an_unverifiable_rule_is_accepted_with_its_acknowledgement() {
        let doc = format!(
            r#"{{"rules": {{"TrustedAdvisor-003": {{"mode": "auto", "unverifiable_auto": true}}}}, {APPROVAL}}}"#
        );
        let c = Config::parse(&doc, Catalog::builtin()).unwrap();
        assert_eq!(c.mode_for("TrustedAdvisor-003", Catalog::builtin()), Mode::Auto);
        // Other modes need no acknowledgement.
        for mode in ["approve", "dry-run", "off"] {
            let doc = format!(r#"{{"rules": {{"TrustedAdvisor-003": {{"mode": "{mode}"}}}}, {APPROVAL}}}"#);
            assert!(Config::parse(&doc, Catalog::builtin()).is_ok(), "{mode}");
        }
        // The acknowledgement on a rule confirmed live is a mistake, named.
        let doc = format!(r#"{{"rules": {{"IAM-001": {{"mode": "auto", "unverifiable_auto": true}}}}, {APPROVAL}}}"#);
        let err = Config::parse(&doc, Catalog::builtin()).unwrap_err();
        assert!(err.to_string().contains("rules.IAM-001.unverifiable_auto"), "{err}");
    }

    #[test]
    fn the_shipped_configs_load() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        for path in [
            "tests/config.json",
            "tests/config-approve.json",
            "tests/config-burst.json",
            "local/config.json",
            "infra/examples/complete/config.json",
        ] {
            let text = std::fs::read_to_string(root.join(path)).unwrap();
            Config::parse(&text, Catalog::builtin()).unwrap_or_else(|e| panic!("{path}: {e}"));
        }
    }

    #[test]
    fn accounts_default_to_the_deployment_account() {
        let c = Config::default();
        assert!(c.account_allowed("123456789012", "123456789012"));
        assert!(!c.account_allowed("210987654321", "123456789012"));
    }

    /// The ids of the rules whose catalog default is `approve`.
    fn approve_by_default() -> Vec<String> {
        Catalog::builtin()
            .rules()
            .filter(|r| r.default_mode == Mode::Approve)
            .map(|r| r.id.clone())
            .collect()
    }

    #[test]
    fn approve_mode_by_default_without_approvers_names_the_field_and_the_rules() {
        let err = Config::parse(r#"{"approval": {"sender": "ar@example.com"}}"#, Catalog::builtin()).unwrap_err();
        assert_eq!(err.name(), "ConfigInvalid");
        let text = err.to_string();
        assert!(text.contains("approval.approvers: empty"), "{text}");
        assert!(!text.contains("approval.sender"), "{text}");
        let gated = approve_by_default();
        assert!(gated.len() > 2);
        for id in &gated {
            assert!(text.contains(id.as_str()), "{id} in {text}");
        }
    }

    #[test]
    fn an_explicit_approve_rule_without_a_sender_is_refused_and_named() {
        // Every rule off but one, explicitly in approve mode.
        let mut rules: BTreeMap<String, RuleConfig> = Catalog::builtin()
            .rules()
            .map(|r| {
                (
                    r.id.clone(),
                    RuleConfig {
                        mode: Some(Mode::Off),
                        ..RuleConfig::default()
                    },
                )
            })
            .collect();
        rules.get_mut("S3-002").unwrap().mode = Some(Mode::Approve);
        let doc = serde_json::json!({"rules": rules, "approval": {"approvers": ["a@example.com"]}});
        let err = Config::parse(&doc.to_string(), Catalog::builtin()).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("approval.sender: missing"), "{text}");
        assert!(text.contains("rules S3-002 are in approve mode"), "{text}");

        rules.get_mut("S3-002").unwrap().mode = Some(Mode::Auto);
        let doc = serde_json::json!({ "rules": rules });
        assert!(
            Config::parse(&doc.to_string(), Catalog::builtin()).is_ok(),
            "no approve rule: no approvers needed"
        );
    }

    #[test]
    fn unknown_rules_and_malformed_accounts_name_their_field() {
        let approval = r#""approval": {"approvers": ["a@example.com"], "sender": "ar@example.com"}"#;
        for (doc, field) in [
            (
                format!(r#"{{"rules": {{"EC2-999": {{"mode": "auto"}}}}, {approval}}}"#),
                "rules.EC2-999",
            ),
            (
                format!(r#"{{"accounts": ["12345678901"], {approval}}}"#),
                "accounts: \"12345678901\"",
            ),
            (format!(r#"{{"accounts": ["12345678901x"], {approval}}}"#), "accounts"),
            (format!(r#"{{"accounts": ["1234567890123"], {approval}}}"#), "accounts"),
            (
                r#"{"approval": {"approvers": ["not an address"], "sender": "ar@example.com"}}"#.to_string(),
                "approval.approvers",
            ),
        ] {
            let err = Config::parse(&doc, Catalog::builtin()).unwrap_err();
            assert_eq!(err.name(), "ConfigInvalid", "{doc}");
            assert!(err.to_string().contains(field), "{field} in {err}");
        }
    }

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    }

    const BASE: [(&str, &str); 2] = [
        ("AWS_REGION", "us-east-1"),
        ("AUTO_REMEDIATE_ACCOUNT_ID", "123456789012"),
    ];

    #[test]
    fn no_config_at_all_fails_at_cold_start_naming_what_to_set() {
        let err = Settings::from_lookup(env(&BASE)).unwrap_err();
        assert_eq!(err.name(), "ConfigInvalid");
        let text = err.to_string();
        for needle in [
            "AUTO_REMEDIATE_CONFIG",
            "approval.approvers: empty",
            "approval.sender: missing",
            "EC2-002",
            "S3-001",
        ] {
            assert!(text.contains(needle), "{needle} in {text}");
        }
        assert!(Config::default().validate(Catalog::builtin()).is_err());
    }

    #[test]
    fn a_config_that_cannot_work_fails_at_cold_start_naming_its_variable() {
        let vars = [BASE[0], BASE[1], ("AUTO_REMEDIATE_CONFIG", r#"{"accounts": ["1"]}"#)];
        let err = Settings::from_lookup(env(&vars)).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("configuration error: AUTO_REMEDIATE_CONFIG: accounts"),
            "{err}"
        );

        let ok = r#"{"approval": {"approvers": ["a@example.com"], "sender": "ar@example.com"}}"#;
        let vars = [BASE[0], BASE[1], ("AUTO_REMEDIATE_CONFIG", ok)];
        assert!(Settings::from_lookup(env(&vars)).is_ok());
    }

    #[test]
    fn settings_name_the_missing_variable() {
        let err = Settings::from_lookup(|_| None).unwrap_err();
        assert!(err.to_string().contains("AWS_REGION"));
    }

    #[test]
    fn the_breaker_is_on_by_default_with_family_overrides_and_off_only_when_set_to_zero() {
        let c = Config::default();
        assert_eq!(c.breaker.limit_for("s3-acl"), Some(50));
        let c: Config = serde_json::from_str(
            r#"{"breaker": {"max_auto_changes_per_hour": 20, "families": {"s3-acl": 0, "ec2-world-port": 5}}}"#,
        )
        .unwrap();
        assert_eq!(c.breaker.limit_for("s3-acl"), None);
        assert_eq!(c.breaker.limit_for("ec2-world-port"), Some(5));
        assert_eq!(c.breaker.limit_for("kms-key-rotation"), Some(20));
        let c: Config = serde_json::from_str(r#"{"breaker": {"max_auto_changes_per_hour": 0}}"#).unwrap();
        assert_eq!(c.breaker.limit_for("s3-acl"), None);
        let c: Config = serde_json::from_str(r#"{"breaker": {"families": {"s3-acl": 7}}}"#).unwrap();
        assert_eq!(c.breaker.limit_for("s3-acl"), Some(7));
        assert_eq!(c.breaker.limit_for("ec2-world-port"), Some(50));
        assert!(serde_json::from_str::<Config>(r#"{"breaker": {"max_changes": 3}}"#).is_err());
        let bad: Config = serde_json::from_str(r#"{"breaker": {"families": {"s3-acls": 3}}}"#).unwrap();
        let err = bad.validate(Catalog::builtin()).unwrap_err().to_string();
        assert!(err.contains("breaker.families.s3-acls"), "{err}");
    }

    #[test]
    fn verification_failures_open_the_breaker_at_5_by_default_and_never_when_set_to_zero() {
        let c = Config::default();
        assert_eq!(c.breaker.failure_limit(), Some(5));
        assert_eq!(
            c.breaker.limits_for("s3-acl"),
            crate::breaker::Limits {
                changes: Some(50),
                failures: Some(5)
            }
        );
        let parse = |b: &str| Config::parse(&format!(r#"{{{APPROVAL}, "breaker": {b}}}"#), Catalog::builtin());
        let c = parse(r#"{"max_verification_failures_per_hour": 2, "families": {"s3-acl": 0}}"#).unwrap();
        // Each part is on or off on its own: a family without a change limit still trips on failures.
        assert_eq!(
            c.breaker.limits_for("s3-acl"),
            crate::breaker::Limits {
                changes: None,
                failures: Some(2)
            }
        );
        let c = parse(r#"{"max_verification_failures_per_hour": 0}"#).unwrap();
        assert_eq!(c.breaker.failure_limit(), None);
        assert_eq!(c.breaker.limits_for("s3-acl").changes, Some(50));
        // Refused when the config loads, by name: negative, fractional or textual values, and misspellings.
        for bad in [
            r#"{"max_verification_failures_per_hour": -1}"#,
            r#"{"max_verification_failures_per_hour": 2.5}"#,
            r#"{"max_verification_failures_per_hour": "5"}"#,
            r#"{"max_verification_failure_per_hour": 5}"#,
        ] {
            let err = parse(bad).unwrap_err();
            assert_eq!(err.name(), "ConfigInvalid", "{bad}");
        }
        let err = parse(r#"{"max_verification_failure_per_hour": 5}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("max_verification_failure_per_hour"), "{err}");
    }
}
