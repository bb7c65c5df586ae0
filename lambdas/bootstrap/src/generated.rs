//! The committed artefacts generated from the code's own declarations, so they cannot drift:
//! `lambdas/core/catalog/iam.json` (every rule's family and IAM actions, and each handler's role,
//! for Terraform's IAM) and `RULES.md` (what each rule changes, never touches, how to undo it,
//! where it is tested). A test regenerates both and fails when a committed copy is stale
//! (`UPDATE_GENERATED=1 cargo test -p ar-handlers` rewrites them).

use std::collections::BTreeSet;

use ar_core::catalog::Catalog;
use ar_core::rules::family::RuleAccess;
use ar_core::rules::FAMILIES;
use serde::Serialize;

use crate::Handler;

/// A handler's own actions and what it does with the rules' resources.
pub fn handler_permissions(h: Handler) -> (&'static [&'static str], RuleAccess) {
    match h {
        Handler::Trigger => (ar_trigger::ACTIONS, ar_trigger::RULE_ACCESS),
        Handler::Classify => (ar_classify::ACTIONS, ar_classify::RULE_ACCESS),
        Handler::Remediate => (ar_remediate::ACTIONS, ar_remediate::RULE_ACCESS),
        Handler::Verify => (ar_verify::ACTIONS, ar_verify::RULE_ACCESS),
        Handler::RequestApproval => (ar_approval::REQUEST_ACTIONS, RuleAccess::Read),
        Handler::ApprovalCallback => (ar_approval::CALLBACK_ACTIONS, RuleAccess::Read),
        Handler::Notify => (ar_notify::ACTIONS, ar_notify::RULE_ACCESS),
    }
}

fn sorted<'a>(it: impl IntoIterator<Item = &'a &'static str>) -> Vec<&'static str> {
    it.into_iter().copied().collect::<BTreeSet<_>>().into_iter().collect()
}

// Structs, not `json!` maps: field order must not depend on serde_json's features.
#[derive(Serialize)]
pub struct IamCatalog {
    #[serde(rename = "$comment")]
    comment: &'static str,
    rules: Vec<RuleIam>,
    families: Vec<FamilyIam>,
    handlers: Vec<HandlerIam>,
    rule_read_actions: Vec<&'static str>,
    rule_write_actions: Vec<&'static str>,
}

#[derive(Serialize)]
struct RuleIam {
    id: String,
    title: String,
    service: String,
    family: String,
    default_mode: &'static str,
    reads: &'static [&'static str],
    writes: &'static [&'static str],
}

#[derive(Serialize)]
struct FamilyIam {
    name: &'static str,
    resource: &'static str,
    reads: &'static [&'static str],
    writes: &'static [&'static str],
    settle_seconds: u64,
}

#[derive(Serialize)]
struct HandlerIam {
    name: &'static str,
    actions: Vec<&'static str>,
    rule_access: RuleAccess,
}

/// `lambdas/core/catalog/iam.json`.
pub fn iam_json(catalog: &Catalog) -> IamCatalog {
    IamCatalog {
        comment: "GENERATED from the code (rule families' and handlers' declared actions): do not edit; `UPDATE_GENERATED=1 cargo test -p ar-handlers` rewrites it.",
        rules: catalog
            .rules()
            .map(|r| RuleIam {
                id: r.id.clone(),
                title: r.title.clone(),
                service: r.service.clone(),
                family: r.family.clone(),
                default_mode: r.default_mode.as_str(),
                reads: r.reads(),
                writes: r.writes(),
            })
            .collect(),
        families: FAMILIES
            .iter()
            .map(|f| FamilyIam {
                name: f.name(),
                resource: f.resource(),
                reads: f.reads(),
                writes: f.writes(),
                settle_seconds: f.settle().as_secs(),
            })
            .collect(),
        handlers: Handler::ALL
            .iter()
            .map(|h| {
                let (own, access) = handler_permissions(*h);
                // A handler that reads the rules' resources may need them in a member account.
                let member = (access != RuleAccess::None).then_some(&ar_core::aws::STS_ASSUME_ROLE);
                HandlerIam {
                    name: h.name(),
                    actions: sorted(own.iter().chain(member)),
                    rule_access: access,
                }
            })
            .collect(),
        rule_read_actions: sorted(catalog.rules().flat_map(|r| r.reads())),
        rule_write_actions: sorted(catalog.rules().flat_map(|r| r.writes())),
    }
}

/// `RULES.md`.
pub fn rules_md(catalog: &Catalog) -> String {
    let mut out = String::from(
        "# Rules healed\n\nGENERATED from the catalog (`lambdas/core/catalog/rules.json`) and the rule families' own \
         declarations (`lambdas/core/src/rules/`): do not edit; `UPDATE_GENERATED=1 cargo test -p ar-handlers` rewrites it.\n\n\
         | rule | title | what changes | never touched | undo (from the recorded `before`) | default | tested |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for r in catalog.rules() {
        let d = r.family_impl().doc();
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} |\n",
            r.id,
            r.title,
            d.changes,
            d.never,
            d.undo,
            r.default_mode.as_str(),
            d.tested
        ));
    }
    out.push_str(&format!(
        "\n{} rules in {} families.\n",
        catalog.rules().count(),
        FAMILIES.len()
    ));
    out
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn every_rule_declares_reads_and_writes_and_no_wildcards() {
        for r in Catalog::builtin().rules() {
            assert!(!r.reads().is_empty() && !r.writes().is_empty(), "{}", r.id);
            for a in r.reads().iter().chain(r.writes()) {
                assert!(a.contains(':') && !a.contains('*'), "{}: {a}", r.id);
            }
        }
    }
}
