//! Classify: decides what happens to a finding (skip, dry-run, auto, approve) and writes the plan.
//!
//! It reads live state (never writes): the resource's tags, for exclusion, and the rule-relevant
//! state, to derive exactly what a fix would change. A finding for another account is refused
//! with `AccountNotAllowed`; an unknown rule, a rule switched off, an excluded, missing or already
//! compliant resource are skipped with the reason.

use ar_core::breaker::{open_reason, trip_message, Admission, Trip, TRIPPED_METRIC};
use ar_core::catalog::Mode;
use ar_core::deps::Deps;
use ar_core::families::{self, Tags};
use ar_core::finding::Finding;
use ar_core::ledger::Ledger;
use ar_core::state::{Classification, ClassifyInput, Decision, Outcome, RuleRef};
use ar_core::topic;
use ar_core::Error;

/// The IAM actions this handler's own calls need, besides its rules' (reads the resource (never
/// writes)): the state table's circuit-breaker counter and trip marker (`ar_core::breaker`), and
/// the outcome topic (encrypted with the deployment's key), told once when a breaker trips.
pub const ACTIONS: &[&str] = &[
    "dynamodb:BatchGetItem",
    "dynamodb:GetItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "sns:Publish",
    "kms:GenerateDataKey",
    "kms:Decrypt",
];
/// What this handler does with the rules' resources.
pub const RULE_ACCESS: ar_core::families::helpers::family::RuleAccess =
    ar_core::families::helpers::family::RuleAccess::Read;

fn skip(outcome: Outcome, mode: Mode, reason: String) -> Classification {
    Classification {
        decision: Decision::Skip,
        outcome: Some(outcome),
        mode,
        reason,
        rule: None,
        offending: Vec::new(),
        plan: None,
        approval_timeout_seconds: None,
    }
}

pub async fn handle(deps: &Deps, input: ClassifyInput) -> Result<Classification, Error> {
    let finding = &input.finding;
    let config = &deps.settings.config;
    let Some(spec) = deps.catalog.get(&finding.rule_id) else {
        return Ok(skip(
            Outcome::UnknownRule,
            Mode::Off,
            format!("rule {} is not in the catalog: nothing to do", finding.rule_id),
        ));
    };
    deps.admit(finding)?;
    // An undo run is decided by the config's `undo.mode`, whatever the rule's own mode; a family
    // whose undo destroys something (`UNDO_GATED`) waits for an approver even when that is `auto`.
    let undo_gated = finding.undo.is_some() && config.undo.mode == Mode::Auto && spec.family_impl().undo_gated();
    let mode = match &finding.undo {
        Some(_) if undo_gated => Mode::Approve,
        Some(_) => config.undo.mode,
        None => config.mode_for(&spec.id, deps.catalog),
    };
    let rule = RuleRef {
        id: spec.id.clone(),
        title: spec.title.clone(),
        risk: spec.risk.clone(),
    };
    let with_rule = |mut c: Classification| {
        c.rule = Some(rule.clone());
        c
    };
    if mode == Mode::Off {
        let reason = match &finding.undo {
            Some(_) => "undo is off in the configuration (`undo.mode`)".to_string(),
            None => format!("rule {} is off in the configuration", spec.id),
        };
        return Ok(with_rule(skip(Outcome::RuleOff, mode, reason)));
    }
    if let Some(tag) = config.excluded_by(&finding.tags) {
        return Ok(with_rule(skip(
            Outcome::Excluded,
            mode,
            format!(
                "the finding's tags carry the exclusion tag {}",
                String::from(tag.clone())
            ),
        )));
    }
    let clients = deps.ctx(finding, spec).await?;
    let Some(inspection) = families::inspect(&clients, spec, finding, Tags::Read).await? else {
        return Ok(with_rule(skip(
            Outcome::ResourceGone,
            mode,
            format!("{} no longer exists in {}", finding.resource, finding.region),
        )));
    };
    if let Some(tag) = config.excluded_by(&inspection.tags) {
        return Ok(with_rule(skip(
            Outcome::Excluded,
            mode,
            format!("{} is tagged {}", finding.resource, String::from(tag.clone())),
        )));
    }
    if inspection.compliant() {
        return Ok(with_rule(skip(
            Outcome::AlreadyCompliant,
            mode,
            format!(
                "{} already passes {}: {}",
                finding.resource, spec.id, inspection.plan.summary
            ),
        )));
    }
    let decision = match mode {
        Mode::DryRun => Decision::DryRun,
        Mode::Approve => Decision::Approve,
        Mode::Auto => Decision::Auto,
        Mode::Off => unreachable!("handled above"),
    };
    // The blast-radius circuit breaker: a finding's `auto` change is counted, or gated when its
    // account and family already had their hour's worth (an undo, started by an operator, is not).
    let breaker = match decision {
        Decision::Auto if finding.undo.is_none() => breaker(deps, finding, &spec.family).await?,
        _ => None,
    };
    let decision = match &breaker {
        Some((gate, _)) => *gate,
        None => decision,
    };
    tracing::info!(rule_id = spec.id, resource = finding.resource, decision = ?decision, "classified");
    Ok(Classification {
        decision,
        outcome: None,
        mode,
        reason: match decision {
            _ if breaker.is_some() => breaker.map(|(_, reason)| reason).unwrap_or_default(),
            _ if finding.undo.is_some() => format!(
                "an undo of {}: {}",
                finding
                    .undo
                    .as_ref()
                    .map(|u| ar_core::state::execution_name(&u.execution))
                    .unwrap_or_default(),
                if undo_gated {
                    format!("the {} family's undo always waits for an approver", spec.family)
                } else {
                    format!("`undo.mode` is {}", mode.as_str())
                }
            ),
            Decision::Approve => format!(
                "rule {} is gated: {}",
                spec.id,
                spec.why_gate
                    .as_deref()
                    .unwrap_or("the configuration asks for approval")
            ),
            _ => format!("rule {} is in {} mode", spec.id, mode.as_str()),
        },
        rule: Some(rule),
        offending: inspection.offending,
        plan: Some(inspection.plan),
        approval_timeout_seconds: (decision == Decision::Approve).then(|| config.approval_timeout_for(&spec.id)),
    })
}

/// Counts an `auto` change against the breaker of its account and family: `None` when it may go
/// ahead (counted, or the breaker is off for the family), else the gate it goes to instead (the
/// approval gate, or a dry run when no approver is configured) and the reason. The refusal that
/// opens the breaker tells the outcome topic, once ([`tripped`]).
async fn breaker(deps: &Deps, finding: &Finding, family: &str) -> Result<Option<(Decision, String)>, Error> {
    let config = &deps.settings.config;
    let limits = config.breaker.limits_for(family);
    if limits.changes.is_none() && limits.failures.is_none() {
        return Ok(None);
    }
    let account = finding.account_id.as_str();
    let ledger = deps.ledger()?;
    match ledger.take_auto_change(account, family, limits).await? {
        Admission::Closed { count } => {
            if let Some(count) = count {
                tracing::info!(
                    account,
                    family,
                    count,
                    limit = limits.changes,
                    "auto change counted by the circuit breaker"
                );
            }
            Ok(None)
        }
        Admission::Open(trip) => {
            let can_ask = !config.approval.approvers.is_empty() && config.approval.sender.is_some();
            let (gate, to) = match can_ask {
                true => (Decision::Approve, "the approval gate"),
                false => (Decision::DryRun, "a dry run (no approvers configured)"),
            };
            let reason = open_reason(&trip, family, account, to);
            tracing::warn!(
                account,
                family,
                cause = trip.cause.name(),
                count = trip.count,
                limit = trip.limit,
                "{reason}"
            );
            if ledger.mark_tripped(account, family, &trip).await? {
                tripped(deps, &ledger, finding, family, &trip, to).await?;
            }
            Ok(Some((gate, reason)))
        }
    }
}

/// The breaker of `finding`'s account and `family` has just opened (this refusal's conditional
/// write found no live trip): one log line, one `BreakerTripped` metric and one message on the
/// outcome topic. A message SNS refuses takes the trip marker back, so the next refusal (or this
/// Classify's retry, for a transient error) tells it instead.
async fn tripped(
    deps: &Deps,
    ledger: &Ledger,
    finding: &Finding,
    family: &str,
    trip: &Trip,
    gate: &str,
) -> Result<(), Error> {
    let account = finding.account_id.as_str();
    let first = format!("{} {}", finding.rule_id, finding.resource);
    let (subject, body, attributes) = trip_message(trip, account, family, gate, &first);
    let message = topic::Message {
        subject,
        body,
        attributes,
    };
    let sent = topic::publish(deps, &message).await;
    if let Err(e) = &sent {
        if let Err(undo) = ledger.unmark_tripped(account, family, trip).await {
            tracing::warn!(error = undo.name(), message = %undo, "circuit breaker trip marker not taken back");
        }
        if e.is_retryable() {
            return Err(sent.unwrap_err());
        }
    }
    tracing::warn!(
        account,
        family,
        cause = trip.cause.name(),
        count = trip.count,
        limit = trip.limit,
        until = trip.until,
        notified = matches!(sent, Ok(Ok(_))),
        "circuit breaker tripped"
    );
    ar_core::metrics::event(TRIPPED_METRIC, &[("Family", family), ("Cause", trip.cause.name())]);
    match sent {
        Ok(Ok(_)) => {}
        Ok(Err(why)) => tracing::warn!(account, family, why, "circuit breaker trip not notified"),
        Err(e) => tracing::warn!(account, family, error = e.name(), message = %e, "circuit breaker trip not notified"),
    }
    Ok(())
}
