//! The rule catalog: which Conformity rules auto-remediate heals, as data.
//!
//! `catalog/rules.json` lists each rule once: its id and title, the resource type it targets,
//! the family of code that heals it with that family's parameters, its risk, its default gate and
//! the IAM actions it reads and writes. Adding a rule of an existing family is a data change only;
//! a new family adds one module under `families/`. The state machine never names a rule.
//! [`sources`] is the other table of the same kind: which Security Hub controls and AWS Config
//! managed rules each catalog rule heals (`catalog/sources.json`).

pub mod sources;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::error::Error;
use crate::families;
use crate::families::helpers::family::DynFamily;

pub use crate::spec::{Mode, RuleSpec};

/// The family lookups of a rule: the registry sits above the catalog's plain data ([`crate::spec`]).
impl RuleSpec {
    /// The family's code (the catalog is checked against the registry when parsed).
    pub fn family_impl(&self) -> &'static dyn DynFamily {
        families::family(&self.family).expect("the catalog names only registered families (checked at parse)")
    }

    /// The IAM actions the rule's fix reads with, declared by its family.
    pub fn reads(&self) -> &'static [&'static str] {
        self.family_impl().reads()
    }

    /// The IAM actions the rule's fix writes with, declared by its family.
    pub fn writes(&self) -> &'static [&'static str] {
        self.family_impl().writes()
    }
}

#[derive(Deserialize)]
struct CatalogFile {
    rules: Vec<RuleSpec>,
}

/// The parsed catalog, keyed by rule id.
#[derive(Debug)]
pub struct Catalog {
    pub(crate) rules: BTreeMap<String, RuleSpec>,
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
            let family = families::family(&rule.family)
                .ok_or_else(|| Error::ConfigInvalid(format!("rule {}: no family named {:?}", rule.id, rule.family)))?;
            family
                .check_params(&rule.params)
                .map_err(|e| Error::ConfigInvalid(format!("rule {}: {e}", rule.id)))?;
            if rule.is_unverifiable() && rule.default_mode != Mode::Approve {
                return Err(Error::ConfigInvalid(format!(
                    "rule {}: its failure cannot be confirmed live (unverifiable), so its default_mode must be approve",
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
    fn builtin_catalog_parses_with_every_rule_in_a_family_declaring_its_iam() {
        let catalog = Catalog::builtin();
        assert_eq!(catalog.rules().count(), 47);
        for rule in catalog.rules() {
            assert!(is_rule_id_shaped(&rule.id), "{}", rule.id);
            assert!(!rule.reads().is_empty() && !rule.writes().is_empty(), "{}", rule.id);
        }
    }

    #[test]
    fn ec2_002_is_ssh_and_gated() {
        let rule = Catalog::builtin().require("EC2-002").unwrap();
        assert_eq!(rule.default_mode, Mode::Approve);
        assert_eq!(rule.family, "ec2-world-port");
        assert_eq!(rule.params["port"], 22);
    }

    #[test]
    fn a_rule_of_no_family_or_with_another_familys_params_is_refused() {
        let entry = |family: &str, params: &str| {
            format!(
                r#"{{"rules": [{{"id": "S3-001", "title": "t", "service": "S3", "family": "{family}",
                   "params": {params}, "risk": "HIGH", "default_mode": "auto"}}]}}"#
            )
        };
        assert!(Catalog::parse(&entry("s3-acl", r#"{"grantee": "AllUsers", "permission": "READ"}"#)).is_ok());
        for bad in [
            entry("s3-nope", "{}"),
            entry("s3-acl", r#"{"port": 22, "protocol": "tcp", "name": "SSH"}"#),
        ] {
            assert_eq!(Catalog::parse(&bad).unwrap_err().name(), "ConfigInvalid", "{bad}");
        }
    }

    /// The rules whose failure the live read cannot confirm: only TrustedAdvisor-003 (every other
    /// family's read shows the failing grant, statement, port rule, setting or key age itself).
    #[test]
    fn every_unverifiable_rule_defaults_to_approve_and_says_why() {
        let catalog = Catalog::builtin();
        let unverifiable: Vec<&str> = catalog
            .rules()
            .filter(|r| r.is_unverifiable())
            .map(|r| r.id.as_str())
            .collect();
        assert_eq!(unverifiable, vec!["TrustedAdvisor-003"]);
        for rule in catalog.rules().filter(|r| r.is_unverifiable()) {
            assert_eq!(rule.default_mode, Mode::Approve, "{}", rule.id);
            assert!(
                !rule.unverifiable.as_deref().unwrap_or_default().is_empty(),
                "{}",
                rule.id
            );
            assert!(
                rule.why_gate.is_some(),
                "{}: the approval says why it is gated",
                rule.id
            );
        }
        for rule in ["IAM-001", "IAM-038", "S3-001", "S3-014", "EC2-002", "KMS-004"] {
            assert!(
                !catalog.require(rule).unwrap().is_unverifiable(),
                "{rule} is confirmed live"
            );
        }
    }

    #[test]
    fn an_unverifiable_rule_defaulting_to_auto_is_refused() {
        let entry = |mode: &str| {
            format!(
                r#"{{"rules": [{{"id": "TrustedAdvisor-003", "title": "t", "service": "TrustedAdvisor",
                   "family": "iam-exposed-key", "params": {{}}, "risk": "VERY_HIGH",
                   "default_mode": "{mode}", "unverifiable": "why"}}]}}"#
            )
        };
        assert!(Catalog::parse(&entry("approve")).is_ok());
        let err = Catalog::parse(&entry("auto")).unwrap_err();
        assert_eq!(err.name(), "ConfigInvalid");
        assert!(err.to_string().contains("TrustedAdvisor-003"), "{err}");
    }

    #[test]
    fn rule_id_shape() {
        assert!(is_rule_id_shaped("TrustedAdvisor-003"));
        assert!(!is_rule_id_shaped("S3-1"));
        assert!(!is_rule_id_shaped("../S3-001"));
        assert!(!is_rule_id_shaped("S3001"));
    }
}
