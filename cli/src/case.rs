//! What the demo's steps share (its main flow in [`crate::demo`], the approval scenario in
//! [`crate::approval`]): one failure to report ([`Case`]) and its publishing, the bound on each
//! execution, the step headings and the print of a run's plan and changes.

use std::time::Duration;

use crate::conformity;
use crate::progress::Run;
use crate::stack::{aws, Stack};

/// How long each execution may take, from publishing to its end (not counting a wait for approval).
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// One failure the demo reports and expects healed.
pub struct Case {
    pub rule_id: &'static str,
    /// As Conformity reports it: `global` for S3.
    pub region: String,
    pub resource: String,
    pub text: String,
}

impl Case {
    /// The prefix of the execution the trigger starts for it: `<ruleId>-<resource>-`.
    pub fn execution_prefix(&self) -> String {
        ar_core::finding::execution_name_prefix(self.rule_id, &self.resource)
    }
}

pub fn heading(n: u32, title: &str) {
    println!("\n{n}. {title}");
}

pub async fn publish(stack: &Stack, case: &Case, now: u64) -> Result<(), String> {
    let message = conformity::failure(
        &stack.info.account_id,
        case.rule_id,
        &case.region,
        &case.resource,
        &case.text,
        now,
    );
    let out = stack
        .sns
        .publish()
        .topic_arn(&stack.info.topic_arn)
        .message(message.to_string())
        .send()
        .await
        .map_err(aws("sns:Publish"))?;
    println!(
        "  {} FAILURE on {} → SNS message {}",
        case.rule_id,
        case.resource,
        out.message_id().unwrap_or("?")
    );
    Ok(())
}

/// Prints the plan and what was applied, from the Remediate state's output.
pub fn print_remediation(run: &Result<Run, String>) {
    let run = match run {
        Ok(run) => run,
        Err(e) => return println!("    (no execution to show: {e})"),
    };
    let remediation = match run.remediation() {
        Some(Ok(r)) => r,
        Some(Err(e)) => return println!("    ({e})"),
        None => {
            return println!(
                "    (Remediate did not run: the execution ended in {})",
                run.last_state().unwrap_or("no state")
            )
        }
    };
    let outcome = serde_json::to_value(remediation.outcome).unwrap_or_default();
    println!("    outcome: {}", outcome.as_str().unwrap_or("?"));
    let plan = remediation.plan.as_ref();
    if plan.map(|p| &p.summary) != Some(&remediation.reason) {
        println!("    reason: {}", remediation.reason);
    }
    if let Some(plan) = plan {
        println!("    plan: {}", plan.summary);
        for step in &plan.steps {
            println!("      • {step}");
        }
        for lost in &plan.cannot_keep {
            println!("      ! cannot keep: {lost}");
        }
    }
    let planned = plan.map(|p| p.steps.len()).unwrap_or_default();
    println!(
        "    applied: {} of {planned} planned change(s)",
        remediation.applied.len()
    );
    if plan.map(|p| &p.steps) != Some(&remediation.applied) {
        for done in &remediation.applied {
            println!("      ✓ {done}");
        }
    }
}
