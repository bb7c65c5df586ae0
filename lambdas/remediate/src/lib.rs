//! Remediate: re-reads live state, applies the minimal fix, records before and after.
//!
//! The plan is derived again from a fresh read, never trusted from the input. A plan a human
//! approved must still be exactly what would be applied, or nothing is changed (`PlanChanged`).
//! Dry-run returns the plan and writes nothing. A resource gone, excluded since classification,
//! or already compliant ends in its named outcome.

use ar_core::deps::Deps;
use ar_core::rules::{self, Tags};
use ar_core::state::{Decision, Outcome, RemediateInput, Remediation};
use ar_core::Error;

fn nothing(outcome: Outcome, reason: String) -> Remediation {
    Remediation {
        outcome,
        reason,
        plan: None,
        before: None,
        after: None,
        applied: Vec::new(),
    }
}

pub async fn handle(deps: &Deps, input: RemediateInput) -> Result<Remediation, Error> {
    let finding = &input.finding;
    let decision = input.classification.decision;
    if decision == Decision::Skip {
        return Err(Error::InvalidInput("Remediate was given a skipped finding".into()));
    }
    let spec = deps.admit(finding)?;
    let clients = deps.aws.rule_clients(&finding.region);
    let Some(fresh) = rules::inspect(&clients, spec, finding, Tags::Read).await? else {
        return Ok(nothing(
            Outcome::ResourceGone,
            format!("{} no longer exists", finding.resource),
        ));
    };
    if let Some(tag) = deps.settings.config.excluded_by(&fresh.tags) {
        return Ok(nothing(
            Outcome::Excluded,
            format!("{} is now tagged {}", finding.resource, String::from(tag.clone())),
        ));
    }
    if fresh.compliant() {
        return Ok(Remediation {
            before: Some(fresh.state),
            ..nothing(
                Outcome::AlreadyCompliant,
                format!("{} already passes {}", finding.resource, spec.id),
            )
        });
    }
    if decision == Decision::DryRun {
        return Ok(Remediation {
            outcome: Outcome::DryRun,
            reason: "dry run: nothing was written".into(),
            plan: Some(fresh.plan),
            before: Some(fresh.state),
            after: None,
            applied: Vec::new(),
        });
    }
    if decision == Decision::Approve {
        let approved = input
            .classification
            .plan
            .as_ref()
            .ok_or_else(|| Error::InvalidInput("an approved decision without a plan".into()))?;
        if approved.changes != fresh.plan.changes {
            return Err(Error::PlanChanged(format!(
                "approved [{}], now [{}]",
                approved.steps.join("; "),
                fresh.plan.steps.join("; ")
            )));
        }
    }
    let applied = rules::apply(&clients, spec, finding, &fresh).await?;
    tracing::info!(
        rule_id = spec.id,
        resource = finding.resource,
        changes = applied.len(),
        "remediated"
    );
    let after = rules::inspect(&clients, spec, finding, Tags::Skip)
        .await?
        .map(|i| i.state);
    Ok(Remediation {
        outcome: Outcome::Remediated,
        reason: fresh.plan.summary.clone(),
        plan: Some(fresh.plan),
        before: Some(fresh.state),
        after,
        applied,
    })
}
