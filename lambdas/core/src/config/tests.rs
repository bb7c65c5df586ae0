//! Unit tests of [`super`], kept beside it in their own file.

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

const APPROVERS: &str = r#""approval": {"approvers": ["a@example.com"], "sender": "ar@example.com"}"#;

#[test]
fn rule_params_are_checked_by_their_family_and_the_member_role_must_be_a_role_name() {
    let catalog = Catalog::builtin();
    let bad_params = r#"{"rules": {"S3-012": {"mode": "auto", "params": {"retention_days": 7}}}}"#;
    let err = Config::parse(bad_params, catalog).unwrap_err();
    assert_eq!(err.name(), "ConfigInvalid");
    assert!(err.to_string().contains("rules.S3-012.params"), "{err}");
    // What the rule checks is not the config's: EC2-002 is tcp 22. The same value, and another
    // family's tunable parameter, are accepted.
    for (over, ok) in [
        (r#"{"port": 3389}"#, false),
        (r#"{"protocol": "udp"}"#, false),
        (r#"{"port": 22, "protocol": "tcp"}"#, true),
        (r#"{"name": "Secure Shell"}"#, true),
    ] {
        let text = format!(r#"{{"rules": {{"EC2-002": {{"mode": "auto", "params": {over}}}}}, {APPROVERS}}}"#);
        match Config::parse(&text, catalog) {
            Ok(_) => assert!(ok, "{over} was accepted"),
            Err(e) => {
                assert!(!ok, "{over}: {e}");
                assert_eq!(e.name(), "ConfigInvalid");
                assert!(e.to_string().contains("rules.EC2-002.params."), "{e}");
                assert!(e.to_string().contains("EC2-002 checks"), "{e}");
            }
        }
    }
    let tuned =
        format!(r#"{{"rules": {{"IAM-001": {{"mode": "auto", "params": {{"max_age_days": 60}}}}}}, {APPROVERS}}}"#);
    assert!(Config::parse(&tuned, catalog).is_ok(), "{tuned}");
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
    let text = r#"{"member_role": "ar-w", "approval": {"approvers": ["a@example.com"], "sender": "ar@example.com"}}"#;
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
    let doc =
        format!(r#"{{"rules": {{"TrustedAdvisor-003": {{"mode": "auto", "unverifiable_auto": false}}}}, {APPROVAL}}}"#);
    assert!(
        Config::parse(&doc, Catalog::builtin()).is_err(),
        "false acknowledges nothing"
    );
}

#[test]
fn auto_for_an_unverifiable_rule_is_accepted_with_its_acknowledgement() {
    let doc =
        format!(r#"{{"rules": {{"TrustedAdvisor-003": {{"mode": "auto", "unverifiable_auto": true}}}}, {APPROVAL}}}"#);
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
        Limits {
            changes: Some(50),
            failures: Some(5)
        }
    );
    let parse = |b: &str| Config::parse(&format!(r#"{{{APPROVAL}, "breaker": {b}}}"#), Catalog::builtin());
    let c = parse(r#"{"max_verification_failures_per_hour": 2, "families": {"s3-acl": 0}}"#).unwrap();
    // Each part is on or off on its own: a family without a change limit still trips on failures.
    assert_eq!(
        c.breaker.limits_for("s3-acl"),
        Limits {
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

/// `sources.config_rules` names the managed rule behind a Config rule named otherwise than AWS
/// documents it: accepted for an identifier `catalog/sources.json` maps, and refused naming the
/// key otherwise: an identifier listed as unmapped (with why), an unknown or empty one, the
/// documented name given for the identifier, and a name that is no Config rule name.
#[test]
fn config_rule_names_map_to_healed_managed_rules_and_anything_else_is_refused_by_key() {
    let catalog = Catalog::builtin();
    let parse = |rules: &str| {
        Config::parse(
            &format!(r#"{{{APPROVERS}, "sources": {{"config_rules": {rules}}}}}"#),
            catalog,
        )
    };
    let ok = parse(
        r#"{"org-s3-no-public-read": "S3_BUCKET_PUBLIC_READ_PROHIBITED", "Org SSH (prod)_1": "INCOMING_SSH_DISABLED"}"#,
    )
    .unwrap();
    assert_eq!(
        ok.sources.config_rules["org-s3-no-public-read"],
        "S3_BUCKET_PUBLIC_READ_PROHIBITED"
    );
    assert!(parse("{}").unwrap().sources.is_empty());
    assert!(Config::parse(&format!("{{{APPROVERS}}}"), catalog)
        .unwrap()
        .sources
        .is_empty());
    let long = "r".repeat(128);
    assert!(parse(&format!(r#"{{"{long}": "INCOMING_SSH_DISABLED"}}"#)).is_ok());
    let too_long = "r".repeat(129);
    for (rules, key, why) in [
        (
            r#"{"org-keys": "ACCESS_KEYS_ROTATED"}"#.to_string(),
            "sources.config_rules.org-keys:",
            "ACCESS_KEYS_ROTATED is not healed by auto-remediate: resourceId is the IAM user id",
        ),
        (
            r#"{"org-x": "S3_BUCKET_VERSIONING"}"#.to_string(),
            "sources.config_rules.org-x:",
            "not a managed rule identifier auto-remediate heals (one of ",
        ),
        (r#"{"org-x": ""}"#.to_string(), "sources.config_rules.org-x:", "empty"),
        (r#"{"org-x": " "}"#.to_string(), "sources.config_rules.org-x:", "empty"),
        (
            r#"{"org-ssh": "restricted-ssh"}"#.to_string(),
            "sources.config_rules.org-ssh:",
            "documented rule name of INCOMING_SSH_DISABLED",
        ),
        (
            r#"{"": "INCOMING_SSH_DISABLED"}"#.to_string(),
            "sources.config_rules:",
            "is not an AWS Config rule name",
        ),
        (
            r#"{"   ": "INCOMING_SSH_DISABLED"}"#.to_string(),
            "sources.config_rules:",
            "is not an AWS Config rule name",
        ),
        (
            r#"{"a\nb": "INCOMING_SSH_DISABLED"}"#.to_string(),
            "sources.config_rules:",
            "is not an AWS Config rule name",
        ),
        (
            format!(r#"{{"{too_long}": "INCOMING_SSH_DISABLED"}}"#),
            "sources.config_rules:",
            "1 to 128 characters",
        ),
        (r#"["restricted-ssh"]"#.to_string(), "", "invalid type"),
    ] {
        let err = parse(&rules).unwrap_err();
        assert_eq!(err.name(), "ConfigInvalid", "{rules}");
        let text = err.to_string();
        assert!(text.contains(key) && text.contains(why), "{rules}: {text}");
    }
    let err = Config::parse(
        &format!(r#"{{{APPROVERS}, "sources": {{"config_rule": {{}}}}}}"#),
        catalog,
    )
    .unwrap_err();
    assert!(err.to_string().contains("unknown field `config_rule`"), "{err}");
}
