//! Verify: re-reads the resource and evaluates the rule's own check, independently of what
//! Remediate reported, then releases the resource's lease (taken by Remediate).
//!
//! A change that does not show at once is re-read for the family's settle time, counted from
//! when it was applied: for up to 20 s here, and for a slow family (RDS, Redshift: minutes) in
//! rounds, Verify answering `settling_seconds` and the state machine waiting that long before
//! calling again (the lease is renewed meanwhile). Still failing after the settle time is
//! `VerificationFailed`. The lease is released on every end but a retryable error (the state
//! machine retries at once); a Verify that dies leaves it to expire.
//!
//! A fix that did not hold (the rule still failing once the settle time is over; an undo run
//! excepted) is counted by the circuit breaker of its account and family
//! (`ar_core::breaker`, `breaker.max_verification_failures_per_hour`): enough of them within
//! an hour open it, and further `auto` findings of that family wait for a person.

use std::time::{Duration, Instant};

/// The IAM actions this handler's own calls need, besides its rules' (renews the resource lease
/// while a change settles, releases it; on an undo run, reads the undone run's journal; counts a
/// fix that did not hold in the circuit breaker's minute item).
pub const ACTIONS: &[&str] = &[
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:DeleteItem",
    "dynamodb:UpdateItem",
];
/// What this handler does with the rules' resources.
pub const RULE_ACCESS: ar_core::families::helpers::family::RuleAccess =
    ar_core::families::helpers::family::RuleAccess::Read;

use ar_core::deps::Deps;
use ar_core::families::{self, Tags};
use ar_core::ledger;
use ar_core::state::{Verification, VerifyInput};
use ar_core::Error;

/// How long one Verify invocation re-reads before handing the wait to the state machine.
const IN_LAMBDA: Duration = Duration::from_secs(20);
/// The longest the state machine waits between two Verify attempts.
const MAX_PAUSE: u64 = 30;

pub async fn handle(deps: &Deps, input: VerifyInput) -> Result<Verification, Error> {
    let finding = &input.finding;
    let spec = deps.admit(finding)?;
    let ledger = deps.ledger()?;
    let clients = deps.ctx(finding, spec).await?;
    let settle = families::settle_time(spec);
    // The change may take the family's settle time from when it was applied to show.
    let settles_by = input.remediation.applied_at.unwrap_or_else(ledger::now_epoch) + settle.as_secs();
    let deadline = Instant::now() + settle.min(IN_LAMBDA);
    let resource = ledger::resource_key(finding);
    let result = loop {
        let inspection = match families::inspect(&clients, spec, finding, Tags::Skip).await {
            Err(e) => break Err(e),
            Ok(None) => {
                break Err(Error::VerificationFailed(format!(
                    "{} no longer exists",
                    finding.resource
                )))
            }
            Ok(Some(i)) => i,
        };
        let verification = |settling_seconds| Verification {
            compliant: inspection.compliant(),
            rule_id: spec.id.clone(),
            resource: finding.resource.clone(),
            state: inspection.state.clone(),
            settling_seconds,
        };
        if inspection.compliant() {
            tracing::info!(rule_id = spec.id, resource = finding.resource, "verified");
            break Ok(verification(None));
        }
        if Instant::now() >= deadline {
            let now = ledger::now_epoch();
            if now < settles_by {
                // Still settling: the state machine waits and calls again. The resource stays
                // leased to this execution meanwhile (renewed: a settle outlasts a lease).
                let _ = ledger.acquire(&resource, &input.execution, now).await;
                let pause = (settles_by - now).clamp(1, MAX_PAUSE);
                tracing::info!(rule_id = spec.id, resource = finding.resource, pause, "settling");
                return Ok(verification(Some(pause)));
            }
            let failed = Error::VerificationFailed(format!(
                "{} still fails {} after {} s: {}",
                finding.resource,
                spec.id,
                settle.as_secs(),
                inspection.offending.join("; ")
            ));
            break match not_held(deps, &ledger, &input, &spec.family).await {
                Ok(()) => Err(failed),
                Err(e) => Err(e),
            };
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    if !matches!(&result, Err(e) if e.is_retryable()) {
        ledger.release_quietly(&resource, &input.execution).await;
    }
    result
}

/// Counts a fix that did not hold against the circuit breaker of its account and family (an
/// undo run is not a fix; nothing when the failure limit is off). A count that cannot be written
/// for a transient reason fails the attempt (the state machine retries Verify, which counts the
/// execution once); any other is logged, and the run still ends `VerificationFailed`.
async fn not_held(deps: &Deps, ledger: &ledger::Ledger, input: &VerifyInput, family: &str) -> Result<(), Error> {
    let finding = &input.finding;
    let Some(limit) = deps.settings.config.breaker.failure_limit() else {
        return Ok(());
    };
    if finding.undo.is_some() {
        return Ok(());
    }
    let execution = ar_core::state::execution_name(&input.execution);
    match ledger
        .record_verification_failure(&finding.account_id, family, execution, limit)
        .await
    {
        Ok(()) => {
            tracing::warn!(
                account = finding.account_id,
                family,
                rule_id = finding.rule_id,
                resource = finding.resource,
                "fix did not hold: counted by the circuit breaker"
            );
            Ok(())
        }
        Err(e) if e.is_retryable() => Err(e),
        Err(e) => {
            tracing::warn!(error = e.name(), message = %e, "verification failure not counted by the circuit breaker");
            Ok(())
        }
    }
}
