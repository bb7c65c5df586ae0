//! Unit tests of [`super`], kept beside it in their own file.

use super::*;

fn check(path: &str, fresh: &str) {
    let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path);
    if std::env::var("UPDATE_GENERATED").is_ok() {
        std::fs::write(&full, fresh).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&full).unwrap_or_default();
    assert!(
        committed == fresh,
        "{path} is stale: run `UPDATE_GENERATED=1 cargo test -p ar-handlers` and commit it"
    );
}

#[test]
fn the_committed_iam_catalog_and_rules_table_are_what_the_code_declares() {
    let catalog = Catalog::builtin();
    check(
        "lambdas/core/catalog/iam.json",
        &(serde_json::to_string_pretty(&iam_json(catalog)).unwrap() + "\n"),
    );
    check("RULES.md", &rules_md(catalog));
    check(
        "lambdas/core/catalog/sns-filter-policy.json",
        &(serde_json::to_string_pretty(&sns_filter_policy(catalog)).unwrap() + "\n"),
    );
}

/// RULES.md's undo cells come from each family's declaration: its `DOC.undo` (what revert
/// does, or why it cannot) and its `UNDO_GATED`; no family still says it cannot undo yet, and
/// no undo text claims a gate its family does not declare.
#[test]
fn the_undo_columns_come_from_each_family_s_declaration() {
    let catalog = Catalog::builtin();
    let md = rules_md(catalog);
    for r in catalog.rules() {
        let f = r.family_impl();
        let d = f.doc();
        let row = md
            .lines()
            .find(|l| l.starts_with(&format!("| {} | ", r.id)))
            .unwrap_or_else(|| panic!("no row for {}", r.id));
        assert!(
            row.contains(&format!("| {} | {} |", d.undo, undo_gate(f.undo_gated()))),
            "{row}"
        );
        assert!(
            !d.undo.contains("cannot undo yet") && !d.undo.is_empty(),
            "{}: {}",
            f.name(),
            d.undo
        );
        assert!(
            !d.undo.contains("gated"),
            "{}: the gate is the column's, from UNDO_GATED",
            f.name()
        );
    }
    let gated: Vec<&str> = FAMILIES.iter().filter(|f| f.undo_gated()).map(|f| f.name()).collect();
    assert_eq!(gated, ["kms-pending-deletion"]);
    for id in ["CT-001", "CT-003", "RS-023"] {
        let row = md.lines().find(|l| l.starts_with(&format!("| {id} | "))).unwrap();
        assert!(row.contains("`undo.mode` (default approve)"), "{row}");
    }
}

/// RULES.md says, per rule, which Security Hub controls and Config managed rules it heals
/// (every mapping of `sources.json`, on its rule's row), and every source id not healed with
/// its reason.
#[test]
fn rules_md_lists_each_rule_s_source_ids_and_the_unmapped_with_their_reasons() {
    let catalog = Catalog::builtin();
    let md = rules_md(catalog);
    let section = md
        .split("\n## Source ids per rule\n")
        .nth(1)
        .expect("the sources section");
    let s = sources();
    let mut mapped = 0;
    for (source, table) in [("Security Hub", &s.securityhub), ("AWS Config", &s.config)] {
        for (id, m) in table {
            for r in &m.rules {
                let row = section
                    .lines()
                    .find(|l| l.starts_with(&format!("| {r} | ")))
                    .unwrap_or_else(|| panic!("no sources row for {r}"));
                let cells: Vec<&str> = row.split(" | ").collect();
                let cell = if source == "Security Hub" { cells[1] } else { cells[2] };
                assert!(
                    cell.split("; ")
                        .any(|c| c.starts_with(&format!("{id} ")) || c == id.as_str()),
                    "{source} {id} not on {r}'s row: {row}"
                );
                mapped += 1;
            }
        }
    }
    assert!(mapped >= 30, "{mapped}");
    assert!(section.contains("| EC2-002 | EC2.13 [port 22, protocol tcp] on AwsEc2SecurityGroup | "));
    for (source, table) in [
        ("Security Hub", &s.unmapped.securityhub),
        ("AWS Config", &s.unmapped.config),
    ] {
        for (id, why) in table {
            assert!(section.contains(&format!("- {source} {id}: {why}\n")), "{source} {id}");
        }
    }
    // A rule no source maps to is named as Conformity's only.
    let only = section.lines().find(|l| l.starts_with("Conformity only (")).unwrap();
    assert!(
        only.contains("Organizations-002") && !only.contains("EC2-002,"),
        "{only}"
    );
}

mod sns_filter {
    use super::super::*;
    use serde_json::{json, Value};
    use std::path::{Path, PathBuf};

    fn repo(rel: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(rel)
    }

    fn policy() -> Value {
        serde_json::to_value(sns_filter_policy(Catalog::builtin())).unwrap()
    }

    fn matches(body: &str) -> bool {
        sns_body_filter_matches(&policy(), body).unwrap()
    }

    #[test]
    fn the_policy_is_every_catalog_rule_failing_and_within_the_sns_limits() {
        let p = policy();
        let ids: Vec<&str> = p["ruleId"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let mut want: Vec<&str> = Catalog::builtin().rules().map(|r| r.id.as_str()).collect();
        want.sort();
        want.dedup();
        assert_eq!(ids, want);
        assert_eq!(p["status"], json!(["FAILURE"]));
        // https://docs.aws.amazon.com/sns/latest/dg/subscription-filter-policy-constraints.html:
        // at most 5 keys; the product of the lengths of the value arrays at most 150; at
        // most 256 KB.
        let keys = p.as_object().unwrap();
        assert!(keys.len() <= 5, "{} keys", keys.len());
        let combinations: usize = keys.values().map(|v| v.as_array().unwrap().len()).product();
        assert!(combinations <= 150, "{combinations} combinations");
        let file = serde_json::to_string_pretty(&sns_filter_policy(Catalog::builtin())).unwrap();
        assert!(file.len() < 256 * 1024, "{} bytes", file.len());
    }

    #[test]
    fn the_evaluator_follows_sns_body_matching() {
        let p = json!({"status": ["FAILURE"], "ruleId": ["S3-001", "S3-002"]});
        let m = |body: Value| sns_body_filter_matches(&p, &body.to_string()).unwrap();
        assert!(m(json!({"status": "FAILURE", "ruleId": "S3-001", "other": 1})));
        assert!(m(json!({"status": ["SUCCESS", "FAILURE"], "ruleId": "S3-002"})));
        assert!(!m(json!({"status": "failure", "ruleId": "S3-001"})), "case-sensitive");
        assert!(!m(json!({"status": "FAILURE"})), "every key must be present");
        assert!(!m(json!({"status": "FAILURE", "ruleId": "S3-003"})));
        assert!(!m(json!({"status": "FAILURE", "ruleId": ["S3-003"]})));
        assert!(!m(json!({"status": "FAILURE", "ruleId": {"id": "S3-001"}})));
        assert!(!m(json!({"status": "FAILURE", "ruleId": null})));
        assert!(
            !m(json!({"data": {"status": "FAILURE", "ruleId": "S3-001"}})),
            "top level only"
        );
        assert!(
            !m(json!([{"status": "FAILURE", "ruleId": "S3-001"}])),
            "an array is no object"
        );
        assert!(!m(json!("FAILURE")));
        let num = json!({"n": ["1"]});
        assert!(!sns_body_filter_matches(&num, r#"{"n": 1}"#).unwrap(), "1 is not \"1\"");
        for body in ["", "Test Message from Cloud Conformity", "{\"status\":", "null", "42"] {
            assert!(!sns_body_filter_matches(&p, body).unwrap(), "{body:?}");
        }
        assert!(sns_body_filter_matches(&json!({"n": [{"prefix": "S3-"}]}), "{}").is_err());
        assert!(sns_body_filter_matches(&json!({"n": {"m": ["x"]}}), "{}").is_err());
    }

    /// Every file of tests/fixtures/conformity-samples/ (real messages, verbatim) with what
    /// the policy must do with it. A sample added there without an entry here fails the test.
    ///  - `channel-test-message.txt`: the plain-text channel test: not JSON, never delivered.
    ///  - `seed-runners-partial-events.json`: a wrapper, not a message; each object under
    ///    `events` is evaluated as a body (hand-written by the seed's authors, invoked directly
    ///    on a Lambda, never sent through SNS): only those carrying `status` and `ruleId` pass.
    ///  - `api-docs-*.json`: JSON:API responses of Conformity's API, not SNS bodies: evaluated
    ///    as they are (they do not pass, having only `data`); their `data.attributes` is not
    ///    evaluated (kebab-case keys, no `ruleId`: nothing Conformity publishes looks like it).
    #[test]
    fn the_real_conformity_samples_pass_or_not_as_they_should() {
        let dir = repo("tests/fixtures/conformity-samples");
        let expected: &[(&str, bool)] = &[
            ("channel-test-message.txt", false),
            ("seed-branch-R-Lambda-004-FailEvent.json", false),
            ("seed-branch-R-Lambda-004-SuccessEvent.json", false),
            ("seed-branch-R-Lambda-005-FailEvent.json", false),
            ("seed-branch-R-Lambda-005-SuccessEvent.json", false),
            ("seed-branch-R-SNS-001-FailEvent.json", false),
            ("seed-branch-R-SNS-004-FailEvent.json", false),
            ("seed-test-S3-002-event-2018-original.json", true),
            ("seed-runners-partial-events.json", false),
            ("api-docs-check-details-IAM-017.json", false),
            ("api-docs-check-suppress-response-Config-001.json", false),
        ];
        let mut seen = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_string();
            if name.ends_with(".md") {
                continue;
            }
            let want = expected
                .iter()
                .find(|(n, _)| *n == name)
                .unwrap_or_else(|| panic!("{name}: a sample with no expectation in this test"))
                .1;
            let body = std::fs::read_to_string(&path).unwrap();
            assert_eq!(matches(&body), want, "{name}");
            seen.push(name);
        }
        assert_eq!(seen.len(), expected.len(), "missing samples: {seen:?}");

        let wrapper: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("seed-runners-partial-events.json")).unwrap())
                .unwrap();
        let mut passed: Vec<&str> = wrapper["events"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, event)| matches(&event.to_string()))
            .map(|(_, event)| event["ruleId"].as_str().unwrap())
            .collect();
        passed.sort();
        assert_eq!(
            passed,
            [
                "CT-003",
                "GD-001",
                "Kinesis-001",
                "RDS-006",
                "S3-001",
                "SQS-004",
                "TrustedAdvisor-003",
                "VPC-001"
            ]
        );
    }

    /// The project's own fixtures: every FAILURE passes, any other status does not, and
    /// every catalog rule has a fixture that passes.
    #[test]
    fn every_failure_fixture_of_the_catalog_rules_passes() {
        let mut passed = BTreeSet::new();
        let mut count = 0;
        for entry in std::fs::read_dir(repo("tests/fixtures/conformity")).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            count += 1;
            let body = std::fs::read_to_string(&path).unwrap();
            let finding: Value = serde_json::from_str(&body).unwrap();
            let failure = finding["status"] == "FAILURE";
            assert_eq!(matches(&body), failure, "{}", path.display());
            if failure {
                passed.insert(finding["ruleId"].as_str().unwrap().to_string());
            }
        }
        assert!(count >= 47, "{count} fixtures");
        let rules: BTreeSet<String> = Catalog::builtin().rules().map(|r| r.id.clone()).collect();
        assert_eq!(passed, rules);
    }
}

#[test]
fn classify_and_trigger_write_nothing_and_only_the_callback_resumes_executions() {
    for h in Handler::ALL {
        let (own, access) = handler_permissions(h);
        if matches!(h, Handler::Classify | Handler::Trigger) {
            assert_ne!(access, RuleAccess::ReadWrite, "{h:?}");
            assert!(
                own.iter().all(|a| !a.starts_with("ec2:") && !a.starts_with("s3:")),
                "{h:?}"
            );
        }
        let resumes = own.iter().any(|a| a.starts_with("states:SendTask"));
        assert_eq!(resumes, h == Handler::ApprovalCallback, "{h:?}");
        assert!(own.iter().all(|a| *a != "*" && !a.ends_with(":*")), "{h:?}");
    }
}

/// The meta-test of iam.json: no family declares `iam:PassRole` without `iam:PassedToService`
/// (nor `iam:CreateServiceLinkedRole` without `iam:AWSServiceName`), and Terraform is given
/// the condition; the committed file with one condition removed is found.
#[test]
fn no_pass_role_or_service_linked_role_without_its_condition_and_a_dropped_one_is_found() {
    let iam = serde_json::to_value(iam_json(Catalog::builtin())).unwrap();
    assert_eq!(condition_problems(&iam), Vec::<String>::new());
    let passers: BTreeSet<&str> = FAMILIES
        .iter()
        .filter(|f| f.reads().iter().chain(f.writes()).any(|a| *a == "iam:PassRole"))
        .map(|f| f.name())
        .collect();
    assert_eq!(
        passers,
        BTreeSet::from(["config-recorder", "vpc-flow-logs"]),
        "families passing a role"
    );
    assert_eq!(
        iam["rule_action_conditions"]["iam:PassRole"]["StringEquals"]["iam:PassedToService"],
        serde_json::json!(["config.amazonaws.com", "vpc-flow-logs.amazonaws.com"])
    );

    let mut broken = iam.clone();
    for f in broken["families"].as_array_mut().unwrap() {
        if f["name"] == "vpc-flow-logs" {
            f.as_object_mut().unwrap().remove("conditions");
        }
    }
    broken["rule_action_conditions"]
        .as_object_mut()
        .unwrap()
        .remove("iam:CreateServiceLinkedRole");
    let problems = condition_problems(&broken);
    assert!(
        problems.contains(&"vpc-flow-logs: iam:PassRole without a iam:PassedToService condition".to_string()),
        "{problems:?}"
    );
    assert!(
        problems
            .contains(&"rule_action_conditions: iam:CreateServiceLinkedRole without iam:AWSServiceName".to_string()),
        "{problems:?}"
    );
}

/// The meta-test of the two member roles: read-only handlers can assume no role that
/// writes (each names the read role, whose actions hold no family's write), only remediate
/// names the write role, and each kind of break is found.
#[test]
fn read_only_handlers_cannot_assume_a_role_that_writes_and_a_break_is_found() {
    let iam = serde_json::to_value(iam_json(Catalog::builtin())).unwrap();
    assert_eq!(member_role_problems(&iam), Vec::<String>::new());
    let roles: Vec<(&str, Option<&str>)> = iam["handlers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["name"].as_str().unwrap(), h["member_role"].as_str()))
        .collect();
    assert_eq!(
        roles,
        [
            ("trigger", None),
            ("classify", Some("read")),
            ("remediate", Some("write")),
            ("verify", Some("read")),
            ("request-approval", Some("read")),
            ("approval-callback", Some("read")),
            ("notify", None),
        ]
    );
    // Each handler's code takes the same role from the same declaration.
    for h in Handler::ALL {
        let access = handler_permissions(h).1;
        assert_eq!(
            member_role_kind(access) == Some(MemberRoleKind::Write),
            access == RuleAccess::ReadWrite,
            "{h:?}"
        );
    }

    let mut broken = iam.clone();
    for h in broken["handlers"].as_array_mut().unwrap() {
        if h["name"] == "verify" {
            h["member_role"] = serde_json::json!("write");
        }
        if h["name"] == "notify" {
            h["actions"]
                .as_array_mut()
                .unwrap()
                .push(serde_json::json!("sts:AssumeRole"));
        }
    }
    broken["rule_read_actions"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!("ec2:RevokeSecurityGroupIngress"));
    let problems = member_role_problems(&broken);
    for want in [
        "verify: rule access Some(\"read\") with member role Some(\"write\")",
        "notify: rule access Some(\"none\") with member role None (sts:AssumeRole: true)",
        "the write role is assumed by [\"remediate\", \"verify\"]",
        "the read role's actions hold ec2:RevokeSecurityGroupIngress, which a family writes",
    ] {
        assert!(problems.iter().any(|p| p.starts_with(want)), "{want}: {problems:?}");
    }
}

#[test]
fn every_rule_declares_reads_and_writes_and_no_wildcards() {
    for r in Catalog::builtin().rules() {
        assert!(!r.reads().is_empty() && !r.writes().is_empty(), "{}", r.id);
        for a in r.reads().iter().chain(r.writes()) {
            assert!(a.contains(':') && !a.contains('*'), "{}: {a}", r.id);
        }
    }
}
