//! The committed artefacts generated from the code's own declarations, so they cannot drift:
//! `lambdas/core/catalog/iam.json` (every rule's family and IAM actions, the conditions some of
//! those actions are granted under, and each handler's role, for Terraform's IAM),
//! `lambdas/core/catalog/sns-filter-policy.json` (the trigger's SNS subscription filter: failures
//! of the catalog's rules only) and `RULES.md` (what each rule
//! changes, never touches, how to undo it, where it is tested). A test regenerates them and fails
//! when a committed copy is stale (`UPDATE_GENERATED=1 cargo test -p ar-handlers` rewrites them).

use std::collections::{BTreeMap, BTreeSet};

use ar_core::catalog::sources::sources;
use ar_core::catalog::Catalog;
use ar_core::families::helpers::family::{ActionCondition, RuleAccess};
use ar_core::families::FAMILIES;
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
    rule_action_conditions: ActionConditions,
}

/// action → test → condition key → values: an IAM `Condition` block per rule action, the union of
/// what the families declare (`RuleFamily::CONDITIONS`). Terraform's modules/policies grants each
/// of these actions in a statement of its own under its block.
type ActionConditions = BTreeMap<&'static str, BTreeMap<&'static str, BTreeMap<&'static str, Vec<&'static str>>>>;

/// The rule actions IAM must never grant without a condition on the given key: a role handed to
/// any service, or any service's linked role created, would be a privilege escalation.
pub const REQUIRED_CONDITIONS: &[(&str, &str)] = &[
    ("iam:PassRole", "iam:PassedToService"),
    ("iam:CreateServiceLinkedRole", "iam:AWSServiceName"),
];

fn action_conditions() -> ActionConditions {
    let mut out = ActionConditions::new();
    for c in FAMILIES.iter().flat_map(|f| f.conditions()) {
        let values = out
            .entry(c.action)
            .or_default()
            .entry(c.test)
            .or_default()
            .entry(c.variable)
            .or_default();
        values.extend(c.values);
        values.sort_unstable();
        values.dedup();
    }
    out
}

/// What is wrong with an `iam.json` document's conditions: an action of [`REQUIRED_CONDITIONS`]
/// declared by a family without its condition key (in the family's `conditions`, and in
/// `rule_action_conditions`, which Terraform applies), or a condition on an action the family
/// does not declare.
pub fn condition_problems(iam: &serde_json::Value) -> Vec<String> {
    let mut problems = Vec::new();
    let strs = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    };
    let applied = &iam["rule_action_conditions"];
    for f in iam["families"].as_array().into_iter().flatten() {
        let name = f["name"].as_str().unwrap_or("?");
        let actions: Vec<String> = strs(&f["reads"]).into_iter().chain(strs(&f["writes"])).collect();
        let conditions = f["conditions"].as_array().cloned().unwrap_or_default();
        for (action, key) in REQUIRED_CONDITIONS {
            if !actions.iter().any(|a| a == action) {
                continue;
            }
            let declared = conditions
                .iter()
                .any(|c| c["action"] == *action && c["variable"] == *key && !strs(&c["values"]).is_empty());
            if !declared {
                problems.push(format!("{name}: {action} without a {key} condition"));
            }
            let in_policy = applied[action]
                .as_object()
                .is_some_and(|tests| tests.values().any(|keys| !strs(&keys[key]).is_empty()));
            if !in_policy {
                problems.push(format!("rule_action_conditions: {action} without {key}"));
            }
        }
        for c in &conditions {
            let action = c["action"].as_str().unwrap_or("?");
            if !actions.iter().any(|a| a == action) {
                problems.push(format!("{name}: a condition on {action}, which it does not declare"));
            }
        }
    }
    problems.sort();
    problems.dedup();
    problems
}

/// What is wrong with an `iam.json` document's member roles: a handler without `read-write`
/// access that may assume the write role (or any role but the read one), a handler without
/// access that may assume one at all, a write role for anyone but exactly one `read-write`
/// handler, and a read role (`rule_read_actions`, what Terraform gives it) holding an action
/// some family writes (`families[].writes`: the declarations, not the catalog's union).
pub fn member_role_problems(iam: &serde_json::Value) -> Vec<String> {
    let mut problems = Vec::new();
    let strs = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    };
    let mut writers = Vec::new();
    for h in iam["handlers"].as_array().into_iter().flatten() {
        let name = h["name"].as_str().unwrap_or("?");
        let assumes = strs(&h["actions"]).iter().any(|a| a == ar_core::aws::STS_ASSUME_ROLE);
        let role = h["member_role"].as_str();
        if role == Some("write") {
            writers.push(name.to_string());
        }
        match (h["rule_access"].as_str(), role) {
            (Some("read-write"), Some("write")) | (Some("read"), Some("read")) => {}
            (Some("none"), None) if !assumes => {}
            (access, role) => problems.push(format!(
                "{name}: rule access {access:?} with member role {role:?} (sts:AssumeRole: {assumes})"
            )),
        }
        if role.is_some() && !assumes {
            problems.push(format!("{name}: a member role but no sts:AssumeRole"));
        }
    }
    if writers.len() != 1 {
        problems.push(format!(
            "the write role is assumed by {writers:?}, not by exactly one read-write handler"
        ));
    }
    let written: BTreeSet<String> = iam["families"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|f| strs(&f["writes"]))
        .collect();
    for a in strs(&iam["rule_read_actions"]) {
        if written.contains(&a) {
            problems.push(format!("the read role's actions hold {a}, which a family writes"));
        }
    }
    problems
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
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    conditions: &'static [ActionCondition],
    settle_seconds: u64,
}

#[derive(Serialize)]
struct HandlerIam {
    name: &'static str,
    actions: Vec<&'static str>,
    rule_access: RuleAccess,
    /// Which member role its `sts:AssumeRole` may name (`Deps::member_role` picks the same):
    /// `read` (the rules' reads only) for `read`, `write` for `read-write`, none without access.
    #[serde(skip_serializing_if = "Option::is_none")]
    member_role: Option<MemberRoleKind>,
}

/// The two member roles: `read` holds the rules' read actions only and trusts the read-only
/// handlers' roles; `write` holds reads and writes and trusts the remediate role only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MemberRoleKind {
    Read,
    Write,
}

/// The member role a handler with `access` assumes, if any.
pub fn member_role_kind(access: RuleAccess) -> Option<MemberRoleKind> {
    match access {
        RuleAccess::None => None,
        RuleAccess::Read => Some(MemberRoleKind::Read),
        RuleAccess::ReadWrite => Some(MemberRoleKind::Write),
    }
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
                conditions: f.conditions(),
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
                    member_role: member_role_kind(access),
                }
            })
            .collect(),
        rule_read_actions: sorted(catalog.rules().flat_map(|r| r.reads())),
        rule_write_actions: sorted(catalog.rules().flat_map(|r| r.writes())),
        rule_action_conditions: action_conditions(),
    }
}

/// `lambdas/core/catalog/sns-filter-policy.json`: the filter policy of the trigger's subscription
/// to the CloudConformity topic, applied by SNS to the message body (`filter_policy_scope =
/// "MessageBody"` in infra/main.tf). Only failures of a rule the catalog heals reach the trigger.
/// A filter policy's keys are all matched against the message, so this file carries no comment key.
#[derive(Serialize)]
pub struct SnsFilterPolicy {
    status: [&'static str; 1],
    #[serde(rename = "ruleId")]
    rule_id: Vec<String>,
}

pub fn sns_filter_policy(catalog: &Catalog) -> SnsFilterPolicy {
    SnsFilterPolicy {
        status: ["FAILURE"],
        rule_id: catalog
            .rules()
            .map(|r| r.id.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
    }
}

/// What SNS does with a message body under a `MessageBody`-scoped filter policy, for the only
/// policy shape generated here: every key of the policy is a top-level key of the body, and its
/// value is a list of exact, case-sensitive strings. Per the SNS documentation: the body must be a
/// JSON object (anything else, such as Conformity's plain-text channel test, matches nothing);
/// every policy key must be present; a string value matches when it equals one of the listed
/// strings, an array value when any of its elements does; numbers, booleans, null and objects
/// never equal a string. Any other policy construct (nesting, `prefix`, `numeric`, `exists`,
/// `anything-but`, `$or`, non-string values) is refused rather than half-evaluated.
pub fn sns_body_filter_matches(policy: &serde_json::Value, body: &str) -> Result<bool, String> {
    use serde_json::Value;
    let policy = policy.as_object().ok_or("a filter policy is a JSON object")?;
    let mut allowed = Vec::with_capacity(policy.len());
    for (key, values) in policy {
        let values = values
            .as_array()
            .filter(|v| v.iter().all(Value::is_string))
            .ok_or_else(|| format!("{key}: only a list of exact strings is evaluated here"))?;
        allowed.push((key, values));
    }
    let Ok(Value::Object(message)) = serde_json::from_str::<Value>(body) else {
        return Ok(false);
    };
    let equals = |v: &Value, values: &Vec<Value>| v.is_string() && values.contains(v);
    Ok(allowed.iter().all(|(key, values)| match message.get(*key) {
        Some(Value::Array(items)) => items.iter().any(|v| equals(v, values)),
        Some(v) => equals(v, values),
        None => false,
    }))
}

/// RULES.md's "undo waits for" cell, from the family's `UNDO_GATED`.
fn undo_gate(gated: bool) -> &'static str {
    if gated {
        "an approver, always (gated: even when `undo.mode` is auto)"
    } else {
        "`undo.mode` (default approve)"
    }
}

/// `RULES.md`.
pub fn rules_md(catalog: &Catalog) -> String {
    let mut out = String::from(
        "# Rules healed\n\nGENERATED from the catalog (`lambdas/core/catalog/rules.json`) and the rule families' own \
         declarations (`lambdas/core/src/families/`): do not edit; `UPDATE_GENERATED=1 cargo test -p ar-handlers` rewrites it.\n\n\
         | rule | title | what changes | never touched | undo (from the recorded `before`) | undo waits for | default | tested |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for r in catalog.rules() {
        let f = r.family_impl();
        let d = f.doc();
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
            r.id,
            r.title,
            d.changes,
            d.never,
            d.undo,
            undo_gate(f.undo_gated()),
            if r.is_unverifiable() {
                format!("{} (unverifiable: see below)", r.default_mode.as_str())
            } else {
                r.default_mode.as_str().to_string()
            },
            d.tested
        ));
    }
    out.push_str(&format!(
        "\n{} rules in {} families.\n",
        catalog.rules().count(),
        FAMILIES.len()
    ));
    out.push_str(
        "\nAn undo (`auto-remediate undo <run>`) restores the run's recorded `before` as a run of its own, \
         from the fix journal in the ledger, refused when the resource changed since the fix; it waits \
         for an approver as `undo.mode` says (default approve), and always for a family whose undo \
         destroys something (gated).\n",
    );
    out.push_str(
        "\n## Rules whose failure cannot be confirmed from live state\n\n\
         Every fix re-reads the resource first; for these rules that read cannot tell a failing \
         resource from a passing one, so the fix would act on the finding's word alone (a forged \
         or mistaken message included). They default to `approve`, and `auto` for one of them is \
         refused when the config loads unless that rule sets `\"unverifiable_auto\": true` \
         (`\"rules\": {\"<id>\": {\"mode\": \"auto\", \"unverifiable_auto\": true}}`).\n\n",
    );
    for r in catalog.rules() {
        if let Some(why) = &r.unverifiable {
            out.push_str(&format!("- {} ({}): {why}\n", r.id, r.title));
        }
    }
    out.push_str(
        "\nEvery other rule's live read confirms the failure itself (the grant, statement, port \
         rule or setting, the key's age) before anything changes.\n",
    );
    out.push_str(&sources_md(catalog));
    out
}

/// RULES.md's sources section: the AWS Security Hub controls and AWS Config managed rules each
/// catalog rule heals (`lambdas/core/catalog/sources.json`, through
/// [`Sources::ids_for_rule`](ar_core::catalog::sources::Sources::ids_for_rule)), and those
/// considered and not healed, with why.
pub fn sources_md(catalog: &Catalog) -> String {
    let s = sources();
    let mut out = String::from(
        "\n## Source ids per rule\n\n\
         Every rule heals Conformity's check of the same id. Findings of AWS Security Hub (a control, \
         by its `SecurityControlId`) and AWS Config (a managed rule, by its identifier, known from the \
         Config rule's name: its documented name, `securityhub-<name>-<suffix>`, \
         `<name>-conformance-pack-<suffix>`, or a name of your own that the config's \
         `sources.config_rules` maps to the identifier) heal through the rules below \
         (`lambdas/core/catalog/sources.json`): each source id starts one run per rule it maps to, \
         together healing exactly what the source checks, and a run whose resource already passes \
         its rule ends `AlreadyCompliant`. A mapping with parameters holds only while the rule \
         keeps them (a port control's port): a config laying other values over them leaves the \
         source's findings acknowledged `RuleNotHealed`.\n\n\
         | rule | Security Hub controls | AWS Config managed rules (default rule name) |\n\
         |---|---|---|\n",
    );
    let mut conformity_only = Vec::new();
    for r in catalog.rules() {
        let ids = s.ids_for_rule(&r.id);
        if ids.is_empty() {
            conformity_only.push(r.id.as_str());
            continue;
        }
        let of = |source: &str| -> String {
            let list: Vec<String> = ids
                .iter()
                .filter(|(src, _)| *src == source)
                .map(|(src, id)| {
                    let m = if *src == "Security Hub" {
                        &s.securityhub[id]
                    } else {
                        &s.config[id]
                    };
                    let name = m.name.as_deref().map(|n| format!(" (`{n}`)")).unwrap_or_default();
                    let params: Vec<String> = m
                        .params
                        .iter()
                        .map(|(k, v)| format!("{k} {}", v.as_str().map_or_else(|| v.to_string(), str::to_string)))
                        .collect();
                    let params = if params.is_empty() {
                        String::new()
                    } else {
                        format!(" [{}]", params.join(", "))
                    };
                    format!("{id}{name}{params} on {}", m.resource_types.join(", "))
                })
                .collect();
            if list.is_empty() {
                "-".into()
            } else {
                list.join("; ")
            }
        };
        out.push_str(&format!(
            "| {} | {} | {} |\n",
            r.id,
            of("Security Hub"),
            of("AWS Config")
        ));
    }
    out.push_str(&format!(
        "\nConformity only ({}): {}.\n\n### Considered and not healed\n\n",
        conformity_only.len(),
        conformity_only.join(", ")
    ));
    for (source, table) in [
        ("Security Hub", &s.unmapped.securityhub),
        ("AWS Config", &s.unmapped.config),
    ] {
        for (id, why) in table {
            out.push_str(&format!("- {source} {id}: {why}\n"));
        }
    }
    out.push_str(
        "\nA finding of any of these, or of any other control or managed rule, is acknowledged \
         `RuleNotHealed` (a Security Hub control's with its reason above); nothing starts.\n",
    );
    out
}

#[cfg(test)]
mod tests;
