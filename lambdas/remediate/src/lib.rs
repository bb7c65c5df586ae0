//! Remediate: takes the resource's lease, re-reads live state, applies the minimal fix, records
//! before and after.
//!
//! - **One remediation per resource at a time**: the lease (see `ar_core::ledger`) is taken before
//!   the fresh read and released by Verify. Held by another execution: a few jittered retries
//!   here, then `waiting` (the state machine waits, then calls again; bounded by [`MAX_WAIT`]).
//! - **Plans follow live state, decisions follow intent**: the plan is derived again from the
//!   fresh read. Under an approval it is applied if it removes nothing beyond what the approver
//!   agreed to remove; otherwise `reapprove` sends the new plan to the approver.
//! - **Partial applies complete**: a journal (state before, plan) is written before the first
//!   write; a retry after a crash finishes the same intent, and `before`/`applied` cover every
//!   write, the crashed attempt's included. Undo runs too: their retry accepts the resource
//!   part way along the journaled undo plan (`Recorded::partial`) and restores the rest.
//! - **Undo from the record**: the journal, keyed by execution and never overwritten, also holds
//!   the resource, the state the plan leaves (`after`) and whether the run was an undo. An undo
//!   run names only the run it undoes (`finding.undo.execution`); its before/after come from that
//!   run's journal (`Ledger::recorded`, loaded by `Deps::ctx`), refused (`CannotUndo`) when there
//!   is none, when it is about another resource, or when the run was itself an undo; the live
//!   resource must still be as the fix left it (`ResourceChanged`).
//!
//! - **Approvals proven by the store**: an approve decision is acted on only when the approval
//!   store's record proves it (`ar_core::approvals::prove`): a `SendTaskSuccess` sent with a
//!   token read from the history ends in `ApprovalBypass` before anything is read or changed.
//!
//! Dry-run returns the plan and writes nothing. A resource gone, excluded since classification,
//! or already compliant ends in its named outcome.

use std::time::Duration;

/// The IAM actions this handler's own calls need, besides its rules' (takes and releases the resource lease, writes the fix journal, reads an undone run's journal).
pub const ACTIONS: &[&str] = &["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"];
/// What this handler does with the rules' resources.
pub const RULE_ACCESS: ar_core::families::helpers::family::RuleAccess =
    ar_core::families::helpers::family::RuleAccess::ReadWrite;

use ar_core::approvals;
use ar_core::aws::Ctx;
use ar_core::catalog::RuleSpec;
use ar_core::deps::Deps;
use ar_core::families::{self, Tags};
use ar_core::ledger::{self, now_epoch, Busy, Journal, Ledger};
use ar_core::state::{Decision, Outcome, RemediateInput, Remediation, RunState};
use ar_core::Error;

/// How long Remediate itself retries a held lease before handing the wait to the state machine.
const PATIENCE: Duration = Duration::from_secs(8);
/// How long an execution waits in all for a resource other remediations keep busy.
pub const MAX_WAIT: u64 = 4 * ledger::LEASE_SECONDS;

pub async fn handle(deps: &Deps, input: RemediateInput) -> Result<Remediation, Error> {
    let RemediateInput { execution, state } = input;
    let finding = &state.finding;
    let decision = state.classification.decision;
    let spec = deps.admit(finding)?;
    // Proven before any role is assumed: a forged approval reads nothing in the member account.
    let approved = match decision {
        Decision::Approve => Some(approved_removes(deps, &execution, &state).await?),
        _ => None,
    };
    let clients = deps.ctx(finding, spec).await?;
    match decision {
        Decision::Skip => return Err(Error::InvalidInput("Remediate was given a skipped finding".into())),
        Decision::DryRun => return dry_run(deps, spec, &clients, &state).await,
        Decision::Auto | Decision::Approve => {}
    }
    let ledger = deps.ledger()?;
    let resource = ledger::resource_key(finding);
    if let Err(busy) = ledger.acquire_within(&resource, &execution, PATIENCE).await? {
        return waiting(&state, &busy);
    }
    let result = remediate_held(deps, &ledger, spec, &clients, &execution, &state, approved.as_deref()).await;
    // A fix made is verified under the lease (Verify releases it); a retryable error keeps it for
    // the retry that follows at once. Every other end frees the resource now.
    let keep = match &result {
        Ok(r) => r.outcome == Outcome::Remediated,
        Err(e) => e.is_retryable(),
    };
    if !keep {
        ledger.release_quietly(&resource, &execution).await;
    }
    result
}

/// The access the approver agreed to remove (every plan the approval showed, combined), as the
/// approval store records it: the task's output is only a claim (`ar_core::approvals`).
async fn approved_removes(deps: &Deps, execution: &str, state: &RunState) -> Result<Vec<String>, Error> {
    let approval = state
        .approval
        .as_ref()
        .filter(|a| a.decision == "approved")
        .ok_or_else(|| Error::InvalidInput("an approve decision without an approval".into()))?;
    let table = deps
        .settings
        .approval_table
        .as_deref()
        .ok_or_else(|| Error::ConfigInvalid("APPROVAL_TABLE is not set".into()))?;
    approvals::prove(&deps.aws.dynamodb(), table, approval, execution).await
}

fn waiting(state: &RunState, busy: &Busy) -> Result<Remediation, Error> {
    let now = now_epoch();
    let since = state
        .remediation
        .as_ref()
        .filter(|r| r.outcome == Outcome::Waiting)
        .and_then(|r| r.waiting_since)
        .unwrap_or(now);
    let holder = busy.holder.rsplit(':').next().unwrap_or(&busy.holder);
    if now.saturating_sub(since) > MAX_WAIT {
        return Err(Error::ResourceBusy(format!(
            "{} has been remediated by other executions for {} s (now {holder}); nothing was changed",
            state.finding.resource,
            now - since
        )));
    }
    Ok(Remediation {
        wait_seconds: Some(fastrand::u64(1..=4)),
        waiting_since: Some(since),
        ..Remediation::nothing(
            Outcome::Waiting,
            format!(
                "{} is being remediated by {holder}: waiting for it, then re-reading the resource",
                state.finding.resource
            ),
        )
    })
}

async fn dry_run(deps: &Deps, spec: &RuleSpec, clients: &Ctx, state: &RunState) -> Result<Remediation, Error> {
    let finding = &state.finding;
    let Some(fresh) = families::inspect(clients, spec, finding, Tags::Read).await? else {
        return Ok(gone(&finding.resource));
    };
    if let Some(tag) = deps.settings.config.excluded_by(&fresh.tags) {
        return Ok(excluded(&finding.resource, tag));
    }
    if fresh.compliant() {
        return Ok(Remediation {
            before: Some(fresh.state),
            ..Remediation::nothing(
                Outcome::AlreadyCompliant,
                format!("{} already passes {}", finding.resource, spec.id),
            )
        });
    }
    Ok(Remediation {
        plan: Some(fresh.plan),
        before: Some(fresh.state),
        ..Remediation::nothing(Outcome::DryRun, "dry run: nothing was written".into())
    })
}

fn gone(resource: &str) -> Remediation {
    Remediation::nothing(Outcome::ResourceGone, format!("{resource} no longer exists"))
}

fn excluded(resource: &str, tag: &ar_core::config::ExclusionTag) -> Remediation {
    Remediation::nothing(
        Outcome::Excluded,
        format!("{resource} is now tagged {}", String::from(tag.clone())),
    )
}

/// The fix, with the lease held.
async fn remediate_held(
    deps: &Deps,
    ledger: &Ledger,
    spec: &RuleSpec,
    clients: &Ctx,
    execution: &str,
    state: &RunState,
    approved: Option<&[String]>,
) -> Result<Remediation, Error> {
    let finding = &state.finding;
    let journal = ledger.journal(execution).await?;
    // A retry of an undo whose earlier attempt journaled its plan and died part way: the
    // resource is somewhere along that plan, and the restore is completed from there (not
    // refused as a change by someone else).
    let resumed;
    let clients = match (&journal, clients.recorded()) {
        (Some(j), Some(r)) if finding.undo.is_some() => {
            resumed = clients.clone().with_recorded(ar_core::finding::Recorded {
                partial: Some(j.plan.clone()),
                ..r.clone()
            });
            &resumed
        }
        _ => clients,
    };
    let Some(fresh) = families::inspect(clients, spec, finding, Tags::Read).await? else {
        return Ok(gone(&finding.resource));
    };
    if let Some(tag) = deps.settings.config.excluded_by(&fresh.tags) {
        return Ok(excluded(&finding.resource, tag));
    }
    if fresh.compliant() {
        if journal.is_some() {
            // An earlier attempt of this execution wrote, then died before answering: what it
            // left is this read (with the real ids of what it created).
            ledger.record_after(execution, &fresh.state).await?;
        }
        return Ok(match journal {
            // An earlier attempt of this execution wrote, then died before answering.
            Some(j) => Remediation {
                outcome: Outcome::Remediated,
                reason: format!("{} (completed before a retry)", j.plan.summary),
                applied: families::diff(&j.before, &fresh.state),
                plan: Some(j.plan),
                before: Some(j.before),
                after: Some(fresh.state),
                wait_seconds: None,
                waiting_since: None,
                applied_at: Some(now_epoch()),
            },
            None => Remediation {
                before: Some(fresh.state),
                ..Remediation::nothing(
                    Outcome::AlreadyCompliant,
                    format!("{} already passes {}: nothing was changed", finding.resource, spec.id),
                )
            },
        });
    }
    if let Some(approved) = approved {
        let beyond = fresh.plan.beyond(approved);
        if !beyond.is_empty() {
            let reason = format!(
                "the live resource changed: the fix now also removes {}, which the approver did not see; asking again",
                beyond.join(", ")
            );
            tracing::info!(rule_id = spec.id, resource = finding.resource, reason, "re-approval");
            return Ok(Remediation {
                plan: Some(fresh.plan),
                before: Some(fresh.state),
                ..Remediation::nothing(Outcome::Reapprove, reason)
            });
        }
    }
    let journal = match journal {
        Some(j) => j,
        None => {
            ledger
                .write_journal(
                    execution,
                    &Journal {
                        rule_id: spec.id.clone(),
                        before: fresh.state.clone(),
                        plan: fresh.plan.clone(),
                        account_id: Some(finding.account_id.clone()),
                        region: Some(finding.region.clone()),
                        resource: Some(finding.resource.clone()),
                        after: Some(families::simulate(spec, &fresh.state, &fresh.plan)?),
                        undo_of: finding.undo.as_ref().map(|u| u.execution.clone()),
                    },
                )
                .await?
        }
    };
    // No re-read here: Verify re-reads next (and proves the rule passes); what the change
    // leaves is computed from the fresh read and the plan just applied, with the ids AWS
    // returned for what it created, and recorded for an undo.
    let after = families::apply(clients, spec, finding, &fresh).await?;
    ledger.record_after(execution, &after).await?;
    let applied = families::diff(&journal.before, &after);
    tracing::info!(
        rule_id = spec.id,
        resource = finding.resource,
        changes = applied.len(),
        "remediated"
    );
    Ok(Remediation {
        outcome: Outcome::Remediated,
        reason: fresh.plan.summary.clone(),
        plan: Some(fresh.plan),
        before: Some(journal.before),
        after: Some(after),
        applied,
        wait_seconds: None,
        waiting_since: None,
        applied_at: Some(now_epoch()),
    })
}
