//! The rule catalog: which Conformity rules auto-remediate heals, as data.
//!
//! `catalog/rules.json` lists each rule once: its id and title, the resource type it targets,
//! the family of code that heals it with that family's parameters, its risk, its default gate and
//! the IAM actions it reads and writes. Adding a rule of an existing family is a data change only;
//! a new family adds one module under `rules/`. The state machine never names a rule.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::error::Error;

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

/// The kind of AWS resource a rule targets; it decides which resource ids are well formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResourceKind {
    S3Bucket,
    SecurityGroup,
}

impl ResourceKind {
    pub fn describe(self) -> &'static str {
        match self {
            ResourceKind::S3Bucket => "S3 bucket name",
            ResourceKind::SecurityGroup => "security group id",
        }
    }

    /// Whether `id` has the shape of this kind's identifiers (rejects path-like or injected ids).
    pub fn is_valid_id(self, id: &str) -> bool {
        match self {
            ResourceKind::S3Bucket => is_bucket_name(id),
            ResourceKind::SecurityGroup => is_security_group_id(id),
        }
    }

    /// Global resources (S3 buckets) are addressed from the deployment's region.
    pub fn is_global(self) -> bool {
        matches!(self, ResourceKind::S3Bucket)
    }
}

fn is_bucket_name(id: &str) -> bool {
    let b = id.as_bytes();
    (3..=63).contains(&b.len())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'.' || *c == b'-')
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && !id.contains("..")
        && !id.starts_with("xn--")
        && !id
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()))
}

fn is_security_group_id(id: &str) -> bool {
    match id.strip_prefix("sg-") {
        Some(hex) => {
            (hex.len() == 8 || hex.len() == 17) && hex.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
        }
        None => false,
    }
}

/// Which S3 ACL grantee group a rule is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum GranteeGroup {
    AllUsers,
    AuthenticatedUsers,
}

impl GranteeGroup {
    pub fn uri(self) -> &'static str {
        match self {
            GranteeGroup::AllUsers => "http://acs.amazonaws.com/groups/global/AllUsers",
            GranteeGroup::AuthenticatedUsers => "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3AclParams {
    pub grantee: GranteeGroup,
    /// READ, READ_ACP, WRITE, WRITE_ACP or FULL_CONTROL.
    pub permission: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorldPortParams {
    pub port: u16,
    /// Only `tcp` today.
    pub protocol: String,
    /// The service's name, for plans and emails.
    pub name: String,
}

/// The family of code that heals a rule, with that family's parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "family", content = "params")]
pub enum Family {
    #[serde(rename = "s3-acl")]
    S3Acl(S3AclParams),
    #[serde(rename = "ec2-world-port")]
    Ec2WorldPort(WorldPortParams),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IamActions {
    pub read: Vec<String>,
    pub write: Vec<String>,
}

/// One rule of the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleSpec {
    pub id: String,
    pub title: String,
    pub service: String,
    pub resource: ResourceKind,
    #[serde(flatten)]
    pub family: Family,
    pub risk: String,
    pub default_mode: Mode,
    /// Why the default is a human gate, where it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why_gate: Option<String>,
    pub iam: IamActions,
}

#[derive(Deserialize)]
struct CatalogFile {
    rules: Vec<RuleSpec>,
}

/// The parsed catalog, keyed by rule id.
#[derive(Debug)]
pub struct Catalog {
    rules: BTreeMap<String, RuleSpec>,
}

static CATALOG: OnceLock<Catalog> = OnceLock::new();

impl Catalog {
    /// The catalog compiled into this binary.
    pub fn builtin() -> &'static Catalog {
        CATALOG.get_or_init(|| {
            Catalog::parse(include_str!("../catalog/rules.json")).expect("catalog/rules.json is valid (tested)")
        })
    }

    pub fn parse(text: &str) -> Result<Catalog, Error> {
        let file: CatalogFile =
            serde_json::from_str(text).map_err(|e| Error::ConfigInvalid(format!("rule catalog: {e}")))?;
        let mut rules = BTreeMap::new();
        for rule in file.rules {
            if rule.iam.read.is_empty() || rule.iam.write.is_empty() {
                return Err(Error::ConfigInvalid(format!(
                    "rule {} declares no IAM actions",
                    rule.id
                )));
            }
            if let Some(dup) = rules.insert(rule.id.clone(), rule) {
                return Err(Error::ConfigInvalid(format!("rule {} is listed twice", dup.id)));
            }
        }
        Ok(Catalog { rules })
    }

    pub fn get(&self, rule_id: &str) -> Option<&RuleSpec> {
        self.rules.get(rule_id)
    }

    /// Looks a rule up, or names the error.
    pub fn require(&self, rule_id: &str) -> Result<&RuleSpec, Error> {
        self.get(rule_id).ok_or_else(|| Error::UnknownRule(rule_id.to_string()))
    }

    pub fn rules(&self) -> impl Iterator<Item = &RuleSpec> {
        self.rules.values()
    }
}

/// Whether `rule_id` has the shape of a Conformity rule id (`S3-001`, `EC2-002`, `TrustedAdvisor-003`).
pub fn is_rule_id_shaped(rule_id: &str) -> bool {
    match rule_id.rsplit_once('-') {
        Some((svc, num)) => {
            (1..=32).contains(&svc.len())
                && svc.bytes().all(|c| c.is_ascii_alphanumeric())
                && svc.as_bytes()[0].is_ascii_alphabetic()
                && num.len() == 3
                && num.bytes().all(|c| c.is_ascii_digit())
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalog_parses_with_every_rule_declaring_its_iam() {
        let catalog = Catalog::builtin();
        assert_eq!(catalog.rules().count(), 21);
        for rule in catalog.rules() {
            assert!(is_rule_id_shaped(&rule.id), "{}", rule.id);
            assert!(!rule.iam.read.is_empty() && !rule.iam.write.is_empty(), "{}", rule.id);
        }
    }

    #[test]
    fn ec2_002_is_ssh_and_gated() {
        let rule = Catalog::builtin().require("EC2-002").unwrap();
        assert_eq!(rule.default_mode, Mode::Approve);
        match &rule.family {
            Family::Ec2WorldPort(p) => assert_eq!(p.port, 22),
            other => panic!("unexpected family {other:?}"),
        }
    }

    #[test]
    fn s3_008_is_authenticated_users_write() {
        match &Catalog::builtin().require("S3-008").unwrap().family {
            Family::S3Acl(p) => {
                assert_eq!(p.grantee, GranteeGroup::AuthenticatedUsers);
                assert_eq!(p.permission, "WRITE");
            }
            other => panic!("unexpected family {other:?}"),
        }
    }

    #[test]
    fn resource_ids_of_the_wrong_shape_are_rejected() {
        let sg = ResourceKind::SecurityGroup;
        assert!(sg.is_valid_id("sg-0123456789abcdef0"));
        assert!(sg.is_valid_id("sg-12345678"));
        for bad in [
            "sg-123",
            "../sg-12345678",
            "sg-1234567g",
            "SG-12345678",
            "sg-12345678/..",
            "",
        ] {
            assert!(!sg.is_valid_id(bad), "{bad}");
        }
        let b = ResourceKind::S3Bucket;
        assert!(b.is_valid_id("my-bucket.logs"));
        for bad in [
            "My-Bucket",
            "../etc/passwd",
            "a",
            "bucket..x",
            "192.168.1.1",
            "-bucket",
            "bucket/key",
            "bu cket",
        ] {
            assert!(!b.is_valid_id(bad), "{bad}");
        }
    }

    #[test]
    fn rule_id_shape() {
        assert!(is_rule_id_shaped("TrustedAdvisor-003"));
        assert!(!is_rule_id_shaped("S3-1"));
        assert!(!is_rule_id_shaped("../S3-001"));
        assert!(!is_rule_id_shaped("S3001"));
    }
}
