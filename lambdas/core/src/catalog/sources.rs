//! What each source's own check ids heal here: `catalog/sources.json`, data like the catalog.
//!
//! A Security Hub control (its `SecurityControlId`) or an AWS Config managed rule (its
//! identifier, found from the rule's name) maps to the catalog rules whose fixes together heal
//! exactly what it checks, and to the source's resource types those rules' families act on.
//! Each mapped rule becomes its own finding (its own run); a rule whose check already passes on
//! the resource ends `AlreadyCompliant`. `unmapped` says, for each control and managed rule
//! considered and left out, why.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Deserialize;

use crate::spec::RuleSpec;

/// One source check's mapping.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// AWS Config only: the name AWS documents for the managed rule (its default rule name).
    #[serde(default)]
    pub name: Option<String>,
    /// The catalog rules healing it, together.
    pub rules: Vec<String>,
    /// The catalog parameters each mapped rule must have for the mapping to hold: what the
    /// source check is about (EC2.13's port 22). A config that lays other values over them
    /// (`rules.<id>.params`) leaves the source's findings unhealed ([`Mapping::params_differ`]).
    #[serde(default)]
    pub params: serde_json::Map<String, serde_json::Value>,
    /// The source's resource types (ASFF `Resources[].Type`, Config's CloudFormation type) the
    /// rules' families act on.
    pub resource_types: Vec<String>,
    /// Why the mapping is exact (for RULES.md and the report).
    pub why: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unmapped {
    pub securityhub: BTreeMap<String, String>,
    pub config: BTreeMap<String, String>,
}

/// The whole table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sources {
    #[serde(rename = "$comment")]
    pub comment: String,
    /// Security Hub control id (`S3.2`) to its mapping.
    pub securityhub: BTreeMap<String, Mapping>,
    /// AWS Config managed rule identifier (`S3_BUCKET_PUBLIC_READ_PROHIBITED`) to its mapping.
    pub config: BTreeMap<String, Mapping>,
    pub unmapped: Unmapped,
}

pub const SOURCES_JSON: &str = include_str!("../../catalog/sources.json");

static SOURCES: LazyLock<Sources> =
    LazyLock::new(|| serde_json::from_str(SOURCES_JSON).expect("catalog/sources.json is checked by its tests"));

pub fn sources() -> &'static Sources {
    &SOURCES
}

impl Mapping {
    /// Why `spec` (the rule as configured) does not heal what this mapping's source check is
    /// about, if it does not: a parameter of [`Mapping::params`] the config changed (EC2-002 laid
    /// over with port 3389 would close RDP on an EC2.13 finding about SSH).
    pub fn params_differ(&self, spec: &RuleSpec) -> Option<String> {
        self.params.iter().find_map(|(name, want)| {
            let got = spec.params.get(name);
            (got != Some(want)).then(|| {
                format!(
                    "{} is configured with {name} {} (rules.{}.params), the check is about {name} {want}",
                    spec.id,
                    got.map_or_else(|| "unset".to_string(), |v| v.to_string()),
                    spec.id
                )
            })
        })
    }
}

impl Sources {
    /// The Security Hub control's mapping, if healed here.
    pub fn control(&self, control_id: &str) -> Option<&Mapping> {
        self.securityhub.get(control_id)
    }

    /// The AWS Config managed rule a rule name stands for, and its mapping. AWS names a managed
    /// rule with its documented name by default (`restricted-ssh` for `INCOMING_SSH_DISABLED`);
    /// Security Hub's own rules are `securityhub-<name>-<suffix>` and a conformance pack's
    /// `<name>-conformance-pack-<suffix>`. Any other name is not recognised (the event names
    /// the rule, never its identifier).
    pub fn config_rule(&self, rule_name: &str) -> Option<(&str, &Mapping)> {
        let base = config_rule_base(rule_name);
        self.config
            .iter()
            .find(|(_, m)| m.name.as_deref() == Some(base))
            .map(|(id, m)| (id.as_str(), m))
    }

    /// The managed rule a Config rule's name stands for: `configured` (the config's
    /// `sources.config_rules`, rule name to identifier) for exactly that name first, then
    /// [`Sources::config_rule`]'s names. A configured identifier this table does not map (the
    /// config refuses one when it loads) is no rule.
    pub fn config_rule_named(
        &self,
        rule_name: &str,
        configured: &BTreeMap<String, String>,
    ) -> Option<(&str, &Mapping)> {
        match configured.get(rule_name) {
            Some(identifier) => self
                .config
                .get_key_value(identifier.as_str())
                .map(|(id, m)| (id.as_str(), m)),
            None => self.config_rule(rule_name),
        }
    }

    /// The catalog rules each source id heals, per rule (for RULES.md): `(source, id)` pairs.
    pub fn ids_for_rule(&self, rule_id: &str) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        for (id, m) in &self.securityhub {
            if m.rules.iter().any(|r| r == rule_id) {
                out.push(("Security Hub", id.clone()));
            }
        }
        for (id, m) in &self.config {
            if m.rules.iter().any(|r| r == rule_id) {
                out.push(("AWS Config", id.clone()));
            }
        }
        out
    }
}

/// A Config rule name without Security Hub's or a conformance pack's decoration.
pub fn config_rule_base(name: &str) -> &str {
    if let Some(at) = name.find("-conformance-pack-") {
        return &name[..at];
    }
    if let Some(rest) = name.strip_prefix("securityhub-") {
        // `securityhub-<name>-<8 hex>`
        if let Some((base, suffix)) = rest.rsplit_once('-') {
            if suffix.len() == 8 && suffix.bytes().all(|c| c.is_ascii_hexdigit()) {
                return base;
            }
        }
        return rest;
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use serde_json::json;

    #[test]
    fn every_mapped_rule_is_in_the_catalog_and_nothing_is_both_mapped_and_unmapped() {
        let catalog = Catalog::builtin();
        let s = sources();
        for (source, table) in [("securityhub", &s.securityhub), ("config", &s.config)] {
            for (id, m) in table {
                assert!(!m.rules.is_empty(), "{source} {id} maps to no rule");
                assert!(!m.resource_types.is_empty(), "{source} {id} names no resource type");
                assert!(!m.why.trim().is_empty(), "{source} {id} says not why");
                for r in &m.rules {
                    assert!(
                        catalog.get(r).is_some(),
                        "{source} {id} maps to {r}, not in the catalog"
                    );
                }
                // One family per mapping's resource: the rules act on the same kind of resource.
                let kinds: std::collections::BTreeSet<_> = m
                    .rules
                    .iter()
                    .map(|r| catalog.get(r).unwrap().family_impl().resource())
                    .collect();
                assert_eq!(kinds.len(), 1, "{source} {id} mixes resource kinds: {kinds:?}");
                assert_eq!(
                    source == "config",
                    m.name.is_some(),
                    "{source} {id}: `name` is Config's only"
                );
            }
        }
        for id in s.unmapped.securityhub.keys() {
            assert!(
                !s.securityhub.contains_key(id),
                "Security Hub {id} is mapped and unmapped"
            );
        }
        for id in s.unmapped.config.keys() {
            assert!(!s.config.contains_key(id), "Config {id} is mapped and unmapped");
        }
    }

    #[test]
    fn config_rule_names_are_recognised_with_security_hub_and_conformance_pack_decoration() {
        let s = sources();
        for name in [
            "s3-bucket-public-read-prohibited",
            "securityhub-s3-bucket-public-read-prohibited-86a20c57",
            "s3-bucket-public-read-prohibited-conformance-pack-6cruwvtg2",
        ] {
            assert_eq!(
                s.config_rule(name).map(|(id, _)| id),
                Some("S3_BUCKET_PUBLIC_READ_PROHIBITED"),
                "{name}"
            );
        }
        assert_eq!(
            s.config_rule("restricted-ssh").map(|(id, _)| id),
            Some("INCOMING_SSH_DISABLED")
        );
        for name in [
            "access-keys-rotated",
            "my-own-rule",
            "",
            "securityhub-",
            "-conformance-pack-x",
        ] {
            assert!(s.config_rule(name).is_none(), "{name}");
        }
    }

    /// A mapping's `params` are its rules' own catalog parameters, and every port control says
    /// its port: EC2.13 and restricted-ssh are tcp 22, EC2.14 tcp 3389.
    #[test]
    fn each_port_control_names_its_port_and_its_rule_closes_exactly_that_port() {
        let catalog = Catalog::builtin();
        let s = sources();
        for (source, table) in [("securityhub", &s.securityhub), ("config", &s.config)] {
            for (id, m) in table {
                for r in &m.rules {
                    let spec = catalog.get(r).unwrap();
                    assert_eq!(m.params_differ(spec), None, "{source} {id} on {r}");
                    if spec.family == "ec2-world-port" {
                        assert!(m.params.contains_key("port"), "{source} {id} names no port");
                    }
                }
            }
        }
        let port = |m: &Mapping| (m.params["protocol"].clone(), m.params["port"].clone());
        assert_eq!(port(&s.securityhub["EC2.13"]), (json!("tcp"), json!(22)));
        assert_eq!(port(&s.securityhub["EC2.14"]), (json!("tcp"), json!(3389)));
        assert_eq!(port(&s.config["INCOMING_SSH_DISABLED"]), (json!("tcp"), json!(22)));
    }

    /// A config laying another port over EC2-002 (or another protocol) does not make EC2.13 or
    /// restricted-ssh close that port: their findings are acknowledged RuleNotHealed, naming why.
    #[test]
    fn a_port_control_is_not_healed_by_a_rule_configured_for_another_port() {
        use crate::config::Config;
        use crate::intake::securityhub::tests::{event, s3_2_failed};
        use crate::intake::{eventbridge, Intake, IntakeCtx};

        let sg = "sg-0123456789abcdef0";
        let mut f = s3_2_failed();
        f["Compliance"]["SecurityControlId"] = json!("EC2.13");
        f["Resources"][0]["Type"] = json!("AwsEc2SecurityGroup");
        f["Resources"][0]["Id"] = json!(format!("arn:aws:ec2:us-east-1:111111111111:security-group/{sg}"));
        let ec2_13 = event(vec![f]);
        let restricted_ssh = crate::intake::awsconfig::tests::about("restricted-ssh", "AWS::EC2::SecurityGroup", sg);

        let approval = r#""approval": {"approvers": ["a@example.com"], "sender": "ar@example.com"}"#;
        for (name, value) in [("port", json!(3389)), ("protocol", json!("udp"))] {
            // A config cannot give EC2-002 another port or protocol: it is refused when it loads.
            let text = format!(
                r#"{{"rules": {{"EC2-002": {{"mode": "auto", "params": {{"{name}": {value}}}}}}}, {approval}}}"#
            );
            match Config::parse(&text, Catalog::builtin()) {
                Err(crate::Error::ConfigInvalid(m)) => {
                    assert!(m.contains(&format!("rules.EC2-002.params.{name}")), "{m}")
                }
                other => panic!("{name} {value}: expected ConfigInvalid, got {:?}", other.map(|_| ())),
            }
            // And intake holds the line by itself: a catalog whose EC2-002 says another port
            // (which no config can make) still never heals an SSH control with it.
            let mut rules = Catalog::builtin().rules.clone();
            rules.get_mut("EC2-002").unwrap().params[name] = value.clone();
            let configured = Catalog { rules };
            let over = format!("{name} {value}");
            let cx = IntakeCtx::new(&configured, "us-east-1");
            for e in [&ec2_13, &restricted_ssh] {
                let results = eventbridge::sort(e, &cx);
                assert_eq!(results.len(), 1, "{results:?}");
                match &results[0] {
                    Ok(Intake::Acknowledged(a)) => {
                        assert_eq!(a.reason, crate::intake::AckReason::RuleNotHealed, "{a:?}");
                        assert_eq!(a.rule_id.as_deref(), Some("EC2-002"));
                        assert!(a.detail.contains("rules.EC2-002.params"), "{}", a.detail);
                    }
                    other => panic!("{over}: expected an acknowledgement, got {other:?}"),
                }
            }
        }
        // The catalog's own EC2-002 heals both.
        let cx = IntakeCtx::new(Catalog::builtin(), "us-east-1");
        for e in [&ec2_13, &restricted_ssh] {
            match &eventbridge::sort(e, &cx)[..] {
                [Ok(Intake::Failure(f))] => assert_eq!((f.rule_id.as_str(), f.resource.as_str()), ("EC2-002", sg)),
                other => panic!("expected one failure, got {other:?}"),
            }
        }
    }

    #[test]
    fn rules_list_their_source_ids() {
        let ids = sources().ids_for_rule("EC2-002");
        assert!(ids.contains(&("Security Hub", "EC2.13".to_string())));
        assert!(ids.contains(&("AWS Config", "INCOMING_SSH_DISABLED".to_string())));
        assert!(sources().ids_for_rule("Organizations-002").is_empty());
    }
}
