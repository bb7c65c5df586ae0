//! `auto-remediate undo <execution>`: restores the state recorded before a run's fix, as an
//! execution of its own (`undo-<name>`), through the approval gate unless the config's
//! `undo.mode` says otherwise.
//!
//! Refused, with what to do next, when the run changed nothing (a dry run, an already compliant
//! resource, a skip), when its before- or after-state is missing, when its rule's family cannot
//! undo, when the resource is gone, or when it changed since the fix (the difference is shown).
//! The undo run checks all of this again against the live resource before writing (fail closed).
//!
//! The execution's input names only the run to undo (`finding.undo.execution`, its ARN): the undo
//! run restores from the ledger's record of that run's fix (written by its Remediate), never from
//! input; `before`/`after` in the input are refused by name.

use std::fmt::Write;
use std::time::Duration;

use ar_core::aws::Member;
use ar_core::catalog::Catalog;
use ar_core::families::{self, Tags};
use ar_core::finding::{Recorded, Undo};
use ar_core::Error;
use aws_sdk_sfn::types::ExecutionStatus;
use indicatif::{ProgressBar, ProgressStyle};

use crate::audit::{self, Story, Target};
use crate::stack::aws;

/// The longest an execution name may be.
const NAME_MAX: usize = 80;

/// What happened: the text to print, and whether the undo ran (or waits for approval).
pub struct Outcome {
    pub text: String,
    pub ok: bool,
}

fn refuse(text: String) -> Result<Outcome, String> {
    Ok(Outcome { text, ok: false })
}

pub async fn run(target: &Target, execution: &str, wait: bool) -> Result<Outcome, String> {
    let (arn, d) = target.find(execution).await?;
    let name = d.name().unwrap_or(execution).to_string();
    if *d.status() == ExecutionStatus::Running {
        return refuse(format!("{name} is still running: undo it once it has ended."));
    }
    let events = target.history(&arn).await?;
    let story = Story::read(&audit::state_document(d.input(), d.output(), &events));
    let outcome = audit::outcome(d.status(), &story, &events).unwrap_or_default();
    let Some(finding) = story.finding.clone() else {
        return refuse(format!("{name} has no finding recorded: nothing to undo."));
    };
    if finding.undo.is_some() {
        return refuse(format!(
            "{name} is itself an undo. To heal the resource again, publish its finding again (or wait for the next scan)."
        ));
    }
    let remediation = story.remediation.as_ref().filter(|r| !r.applied.is_empty());
    let Some(remediation) = remediation else {
        let why = match outcome.as_str() {
            "DryRunComplete" => "a dry run writes nothing".to_string(),
            "" => "it wrote nothing".to_string(),
            o => format!("it ended in {o} without writing anything"),
        };
        return refuse(format!("{name} changed nothing ({why}): there is nothing to undo."));
    };
    let (Some(before), Some(after)) = (remediation.before.clone(), story.after()) else {
        return refuse(format!(
            "{name} has no recorded {} state: it cannot be restored. `auto-remediate show {name}` lists what it changed.",
            if remediation.before.is_none() { "before" } else { "after" }
        ));
    };
    let undo_name = undo_name(&name);
    let undo_arn = target.execution_arn(&undo_name);
    if target
        .sfn
        .describe_execution()
        .execution_arn(&undo_arn)
        .send()
        .await
        .is_ok()
    {
        return refuse(format!(
            "{name} was already undone (or an undo was started): see `auto-remediate show {undo_name}`."
        ));
    }
    let catalog = Catalog::builtin();
    let spec = catalog.require(&finding.rule_id).map_err(|e| e.to_string())?;
    // The execution names only the run to undo: its Remediate restores from the ledger's record
    // of that run's fix, never from input. The history's before/after serve this preview only.
    let undo_finding = ar_core::finding::Finding {
        undo: Some(Undo { execution: arn.clone() }),
        ..finding.clone()
    };
    let preview = Recorded {
        execution: arn.clone(),
        before,
        after,
        partial: None,
    };

    // The live resource first: refuse here rather than start a run that would refuse.
    // With the caller's own credentials, in the resource's account and region; it only reads.
    let ctx = target
        .aws
        .family_ctx(
            &finding,
            spec,
            Member {
                role_name: "auto-remediate-member",
                deployment_account: &finding.account_id,
                writes: false,
            },
        )
        .await
        .map_err(|e| e.to_string())?
        .with_recorded(preview);
    let plan = match families::inspect(&ctx, spec, &undo_finding, Tags::Skip).await {
        Err(Error::ResourceChanged(diff)) => {
            let mut text = format!("{name} is not undone: {} changed since its fix:\n", finding.resource);
            for line in diff.split(": ").skip(1).collect::<Vec<_>>().join(": ").split("; ") {
                let _ = writeln!(text, "  {line}");
            }
            let _ = write!(
                text,
                "Undoing now would overwrite that change. Compare with `auto-remediate show {name}`, then restore by hand if still wanted."
            );
            return refuse(text);
        }
        Err(Error::CannotUndo(why)) => return refuse(format!("{name} cannot be undone: {why}.")),
        Err(e) => return Err(format!("reading {} ({}): {e}", finding.resource, e.name())),
        Ok(None) => return refuse(format!("{} no longer exists: nothing to restore.", finding.resource)),
        Ok(Some(i)) if i.compliant() => {
            return refuse(format!(
                "{} is already as it was before {name}: nothing to restore.",
                finding.resource
            ))
        }
        Ok(Some(i)) => i.plan,
    };

    let input = serde_json::json!({ "finding": undo_finding }).to_string();
    let started = target
        .sfn
        .start_execution()
        .state_machine_arn(&target.state_machine_arn)
        .name(&undo_name)
        .input(input)
        .send()
        .await;
    if let Err(e) = started {
        let already = e.as_service_error().is_some_and(|s| s.is_execution_already_exists());
        if already {
            return refuse(format!(
                "{name} was already undone (or an undo was started): see `auto-remediate show {undo_name}`."
            ));
        }
        return Err(aws("states:StartExecution")(e));
    }
    let mut text = format!(
        "Undoing {name} ({} on {}) as execution {undo_name}:\n",
        finding.rule_id, finding.resource
    );
    for step in &plan.steps {
        let _ = writeln!(text, "  - {step}");
    }
    if !wait {
        let _ = write!(text, "Started. Follow it with `auto-remediate show {undo_name}`.");
        return Ok(Outcome { text, ok: true });
    }
    let (status, end) = follow(target, &undo_arn).await?;
    let ok = match (status.as_str(), end.as_deref()) {
        ("RUNNING", why) => {
            let _ = write!(
                text,
                "Waiting for approval: the approvers were e-mailed ({}). Follow it with `auto-remediate show {undo_name}`.",
                why.unwrap_or("the undo's decision is approve")
            );
            true
        }
        (_, Some("Restored")) => {
            let _ = write!(text, "Restored and verified: {} is as it was before {name}. `auto-remediate show {undo_name}` has the record.", finding.resource);
            true
        }
        (_, end) => {
            let _ = write!(
                text,
                "The undo ended in {} ({status}): nothing more was changed; see `auto-remediate show {undo_name}`.",
                end.unwrap_or("?")
            );
            false
        }
    };
    Ok(Outcome { text, ok })
}

/// Why an undo run waits at the approval gate, from its Classify decision's reason (`an undo of
/// <run>: <why>`): the part after the run's name.
fn waiting_reason(doc: &serde_json::Value) -> Option<String> {
    let reason = doc["classification"]["reason"].as_str()?;
    let why = reason.split_once(": ").map_or(reason, |(_, why)| why);
    Some(why.to_string())
}

/// `undo-<name>`, within Step Functions' 80 characters (the end kept: it holds the digest).
pub fn undo_name(name: &str) -> String {
    let full = format!("undo-{name}");
    if full.len() <= NAME_MAX {
        return full;
    }
    let keep = NAME_MAX - "undo-".len();
    format!("undo-{}", &name[name.len() - keep..])
}

/// Polls the execution, with a spinner, until it ends or waits for a person (the approval task).
/// Its status and, once ended, its end state; while waiting for a person, why it waits.
async fn follow(target: &Target, arn: &str) -> Result<(String, Option<String>), String> {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed:>3} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    let result = loop {
        let events = target.history(arn).await?;
        let current = events
            .iter()
            .rev()
            .find_map(|e| e.state_entered_event_details())
            .map(|d| d.name().to_string());
        bar.set_message(format!("undo running: {}", current.as_deref().unwrap_or("starting")));
        let d = target
            .sfn
            .describe_execution()
            .execution_arn(arn)
            .send()
            .await
            .map_err(aws("states:DescribeExecution"))?;
        if *d.status() != ExecutionStatus::Running {
            let story = Story::read(&audit::state_document(d.input(), d.output(), &events));
            break (
                d.status().as_str().to_string(),
                audit::outcome(d.status(), &story, &events),
            );
        }
        if current.as_deref() == Some("RequestApproval") {
            // Why it waits, as Classify decided it: `undo.mode`, or a family whose undo always
            // waits for an approver (`UNDO_GATED`).
            let doc = audit::state_document(None, None, &events);
            break ("RUNNING".to_string(), waiting_reason(&doc));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    bar.finish_and_clear();
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undo_names_fit_step_functions() {
        assert_eq!(undo_name("EC2-002-sg-1-abc"), "undo-EC2-002-sg-1-abc");
        let long = format!("S3-001-{}-0123456789abcdef", "b".repeat(80));
        let n = undo_name(&long);
        assert_eq!(n.len(), NAME_MAX);
        assert!(n.starts_with("undo-") && n.ends_with("0123456789abcdef"));
    }

    #[test]
    fn the_wait_says_the_decision_s_own_reason() {
        let doc = |reason: &str| serde_json::json!({"classification": {"reason": reason}});
        assert_eq!(
            waiting_reason(&doc(
                "an undo of KMS-004-k-1: the kms-pending-deletion family's undo always waits for an approver"
            ))
            .as_deref(),
            Some("the kms-pending-deletion family's undo always waits for an approver")
        );
        assert_eq!(
            waiting_reason(&doc("an undo of S3-002-b-1: `undo.mode` is approve")).as_deref(),
            Some("`undo.mode` is approve")
        );
        assert_eq!(waiting_reason(&serde_json::json!({})), None);
    }
}
