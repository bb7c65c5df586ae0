//! Notify: tells the outcome topic how an execution ended. The state machine enters every end
//! state through a `Notify<End>` task (`statemachines/remediation.asl.json`), so every outcome is
//! covered, failures included; the config's `notify.outcomes` picks which publish.
//!
//! One short message each: the subject says what happened to which resource in which account;
//! the body gives the plan and what changed, the approver, the error of a failure, the console
//! link and the `auto-remediate show` command. Message attributes (`outcome`, `rule_id`,
//! `account_id`, `region`, `execution`) let a subscription filter. Nothing secret is in the
//! state (the approval task token never is), and nothing is read from the resource.
//!
//! A Security Hub finding is also updated back once all its runs have ended ([`securityhub`]).

pub mod securityhub;

use ar_core::deps::Deps;
use ar_core::ledger::RunRecord;
use ar_core::outcome::{end_state, EndState};
use ar_core::state::{execution_name, kebab, Story};
use ar_core::topic::{self, subject_line, Message};
use ar_core::Error;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The IAM actions this handler's own calls need (the outcome topic is encrypted with the
/// deployment's key, so publishing needs the key too; the run record goes to the state table).
/// The Security Hub update back ([`securityhub::ACTIONS`]) adds `securityhub:BatchUpdateFindings`
/// (granted in Terraform only when `subscribe_security_hub` is on) and `dynamodb:UpdateItem`.
pub const ACTIONS: &[&str] = &[
    "sns:Publish",
    "kms:GenerateDataKey",
    "kms:Decrypt",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "securityhub:BatchUpdateFindings",
];
/// What this handler does with the rules' resources: nothing.
pub const RULE_ACCESS: ar_core::families::helpers::family::RuleAccess =
    ar_core::families::helpers::family::RuleAccess::None;

/// The task's parameters: the end state about to be entered, the execution and its state (`$`).
#[derive(Debug, Clone, Deserialize)]
pub struct NotifyInput {
    pub outcome: String,
    pub execution: String,
    #[serde(default)]
    pub start_time: Option<String>,
    pub state: Value,
}

/// Stored at `$.notification`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Notification {
    pub published: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// Why nothing was published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Whether the run record (for `auto-remediate runs`) was written.
    #[serde(default)]
    pub recorded: bool,
    /// A Security Hub finding: what was sent back to it ([`securityhub`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_update: Option<securityhub::SourceUpdate>,
}

pub async fn handle(deps: &Deps, input: NotifyInput) -> Result<Notification, Error> {
    let end = end_state(&input.outcome)
        .ok_or_else(|| Error::InvalidInput(format!("outcome {:?} is not an end state", input.outcome)))?;
    // The record and the message are independent: both calls go out at once.
    let (recorded, published, source_update) = tokio::join!(
        record(deps, end, &input),
        publish(deps, end, &input),
        update_source(deps, end, &input)
    );
    match published? {
        Ok(message_id) => Ok(Notification {
            published: true,
            message_id,
            reason: None,
            recorded,
            source_update,
        }),
        Err(reason) => {
            tracing::info!(outcome = end.name, reason, "outcome not notified");
            Ok(Notification {
                published: false,
                message_id: None,
                reason: Some(reason),
                recorded,
                source_update,
            })
        }
    }
}

/// A Security Hub finding's update back; never fails the task (a failed call is said in the log
/// and in `$.notification.source_update`, and its claim is given back for a retry).
async fn update_source(deps: &Deps, end: &EndState, input: &NotifyInput) -> Option<securityhub::SourceUpdate> {
    let finding = Story::read(&input.state).finding?;
    securityhub::update(deps, end, execution_name(&input.execution), &finding).await
}

/// Every outcome is recorded, notified or not; a record that cannot be written is said in the
/// log and in $.notification (runs then describes that execution instead).
async fn record(deps: &Deps, end: &EndState, input: &NotifyInput) -> bool {
    let Ok(ledger) = deps.ledger() else {
        return false;
    };
    match ledger.record_run(&run_record(end, input)).await {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = e.name(), message = %e, "run record not written");
            false
        }
    }
}

/// Publishes the outcome's message: its message id, or why it is not sent (`Ok(Err(reason))`).
async fn publish(deps: &Deps, end: &EndState, input: &NotifyInput) -> Result<Result<Option<String>, String>, Error> {
    if !deps.settings.config.notify.notifies(end.name) {
        return Ok(Err(format!("{} is not in the config's notify.outcomes", end.name)));
    }
    let message = compose(end, input, &deps.settings.region);
    let sent = topic::publish(deps, &message).await?;
    if sent.is_ok() {
        tracing::info!(outcome = end.name, subject = message.subject, "outcome notified");
    }
    Ok(sent)
}

/// The run's record for `auto-remediate runs`.
pub fn run_record(end: &EndState, input: &NotifyInput) -> RunRecord {
    let story = Story::read(&input.state);
    let f = story.finding.as_ref();
    RunRecord {
        execution: execution_name(&input.execution).to_string(),
        outcome: end.name.to_string(),
        rule_id: f.map(|f| f.rule_id.clone()),
        resource: f.map(|f| f.resource.clone()),
        account_id: f.map(|f| f.account_id.clone()),
        region: f.map(|f| f.region.clone()),
        decision: story.decision(),
        approver: story.approval.as_ref().map(|a| a.approver.clone()),
    }
}

/// The message for an end state, from the execution's state.
pub fn compose(end: &EndState, input: &NotifyInput, region: &str) -> Message {
    let story = Story::read(&input.state);
    let name = execution_name(&input.execution);
    let (rule, resource, account, resource_region) = match &story.finding {
        Some(f) => (
            f.rule_id.as_str(),
            f.resource.as_str(),
            f.account_id.as_str(),
            f.region.as_str(),
        ),
        None => ("?", "?", "?", region),
    };
    let subject = subject_line(&format!(
        "{}: {rule} {resource} in {account} {resource_region}",
        end.name
    ));

    let mut body = vec![format!("{} {}", end.name, end.headline), String::new()];
    let mut line = |k: &str, v: &str| body.push(format!("{k:<12}{v}"));
    let title = story.finding.as_ref().and_then(|f| f.rule_title.clone()).or_else(|| {
        story
            .classification
            .as_ref()
            .and_then(|c| c.rule.as_ref().map(|r| r.title.clone()))
    });
    line(
        "Rule:",
        &format!("{rule}{}", title.map(|t| format!(" ({t})")).unwrap_or_default()),
    );
    line("Resource:", resource);
    line("Account:", &format!("{account}, region {resource_region}"));
    if let Some(c) = &story.classification {
        line("Decision:", &format!("{}: {}", kebab(&c.decision), c.reason));
    }
    if let Some(a) = &story.approval {
        line(
            "Approval:",
            &format!("{} by {} at {}", a.decision, a.approver, a.decided_at),
        );
    }
    if let Some((error, cause)) = &story.error {
        line("Error:", &format!("{error}: {}", first_line(cause)));
    }
    if let Some(v) = &story.verification {
        line(
            "Verified:",
            if v.compliant && end.name == "Restored" {
                "the resource as re-read is as recorded before the fix"
            } else if v.compliant {
                "the rule's check passes on the resource as re-read"
            } else {
                "the rule's check still fails"
            },
        );
    }
    let plan = story.plan();
    let applied = story
        .remediation
        .as_ref()
        .map(|r| r.applied.as_slice())
        .unwrap_or_default();
    if !applied.is_empty() {
        body.push(String::new());
        body.push("Changed:".into());
        body.extend(applied.iter().map(|a| format!("  - {a}")));
    } else if let Some(p) = plan {
        body.push(String::new());
        body.push(format!("Plan: {}", p.summary));
        body.extend(p.steps.iter().map(|s| format!("  - {s}")));
    }
    if let Some(p) = plan.filter(|p| !p.untouched.is_empty()) {
        body.push("Left as it was:".into());
        body.extend(p.untouched.iter().map(|s| format!("  - {s}")));
    }
    body.push(String::new());
    body.push(format!(
        "Console:    https://{region}.console.aws.amazon.com/states/home?region={region}#/v2/executions/details/{}",
        input.execution
    ));
    body.push(format!("Details:    auto-remediate show {name}"));
    if end.may_have_changed && end.name != "VerificationFailed" && !applied.is_empty() && !story.is_undo() {
        body.push(format!("Undo:       auto-remediate undo {name}"));
    }
    if let Some(t) = &input.start_time {
        body.push(format!("Started:    {t}"));
    }

    let mut attributes = vec![("outcome", end.name.to_string()), ("execution", name.to_string())];
    if let Some(f) = &story.finding {
        attributes.extend([
            ("rule_id", f.rule_id.clone()),
            ("account_id", f.account_id.clone()),
            ("region", f.region.clone()),
        ]);
    }
    Message {
        subject,
        body: body.join("\n") + "\n",
        attributes,
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ar_core::outcome::END_STATES;
    use ar_core::topic::SUBJECT_MAX;
    use serde_json::json;

    fn input(outcome: &str, state: Value) -> NotifyInput {
        NotifyInput {
            outcome: outcome.into(),
            execution: "arn:aws:states:us-east-1:123456789012:execution:auto-remediate:S3-001-b-1".into(),
            start_time: Some("2026-12-04T18:00:00.000Z".into()),
            state,
        }
    }

    fn finding() -> Value {
        json!({"source": "conformity", "check_id": "c", "rule_id": "S3-001", "rule_title": "Bucket readable by everyone",
               "service": "S3", "status": "FAILURE", "account_id": "123456789012", "region": "us-east-1",
               "reported_region": "global", "resource": "b"})
    }

    #[test]
    fn a_healed_run_says_what_changed_where_and_how_to_see_it() {
        let state = json!({
            "finding": finding(),
            "classification": {"decision": "auto", "mode": "auto", "reason": "S3-001 is in auto mode"},
            "remediation": {"outcome": "remediated", "reason": "r", "applied": ["removed AllUsers READ"]},
            "verification": {"compliant": true, "rule_id": "S3-001", "resource": "b", "state": {}}
        });
        let end = end_state("Healed").unwrap();
        let m = compose(end, &input("Healed", state), "us-east-1");
        assert_eq!(m.subject, "Healed: S3-001 b in 123456789012 us-east-1");
        for want in [
            "Rule:       S3-001 (Bucket readable by everyone)",
            "Decision:   auto: S3-001 is in auto mode",
            "  - removed AllUsers READ",
            "Details:    auto-remediate show S3-001-b-1",
            "Undo:       auto-remediate undo S3-001-b-1",
            "#/v2/executions/details/arn:aws:states:us-east-1:123456789012:execution:auto-remediate:S3-001-b-1",
        ] {
            assert!(m.body.contains(want), "{want:?} not in\n{}", m.body);
        }
        assert!(m.attributes.contains(&("outcome", "Healed".into())));
        assert!(m.attributes.contains(&("execution", "S3-001-b-1".into())));
    }

    #[test]
    fn a_failure_gives_its_error_and_offers_no_undo() {
        let state =
            json!({"finding": finding(), "error": {"Error": "AccessDenied", "Cause": "s3:PutBucketAcl denied\nmore"}});
        let m = compose(
            end_state("RemediationFailed").unwrap(),
            &input("RemediationFailed", state),
            "us-east-1",
        );
        assert!(
            m.body.contains("Error:      AccessDenied: s3:PutBucketAcl denied\n"),
            "{}",
            m.body
        );
        assert!(!m.body.contains("Undo:"));
        assert!(m.subject.starts_with("RemediationFailed: S3-001 b"));
    }

    #[test]
    fn subjects_fit_sns_for_every_outcome_and_any_resource_name() {
        let mut f = finding();
        f["resource"] = json!(format!("{}\nnewline é", "x".repeat(200)));
        for end in END_STATES {
            let m = compose(end, &input(end.name, json!({"finding": f})), "us-east-1");
            assert!(m.subject.len() <= SUBJECT_MAX, "{}", m.subject);
            assert!(
                m.subject.chars().all(|c| c.is_ascii_graphic() || c == ' '),
                "{}",
                m.subject
            );
            assert!(m.body.starts_with(end.name));
        }
        // A state that is not a run's (no finding) still gives a message.
        let m = compose(
            end_state("Rejected").unwrap(),
            &input("Rejected", json!({})),
            "eu-west-1",
        );
        assert!(m.subject.starts_with("Rejected: ? ?"));
    }
}
