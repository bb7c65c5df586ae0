//! Verify: re-reads the resource and evaluates the rule's own check, independently of what
//! Remediate reported, then releases the resource's lease (taken by Remediate).
//!
//! A change that does not show at once is re-read for the family's settle time, counted from
//! when it was applied: for up to 20 s here, and for a slow family (RDS, Redshift: minutes) in
//! rounds, Verify answering `settling_seconds` and the state machine waiting that long before
//! calling again (the lease is renewed meanwhile). Still failing after the settle time is
//! `VerificationFailed`. The lease is released on every end but a retryable error (the state
//! machine retries at once); a Verify that dies leaves it to expire.

use std::time::{Duration, Instant};

/// The IAM actions this handler's own calls need, besides its rules' (renews the resource lease
/// while a change settles, releases it; on an undo run, reads the undone run's journal).
pub const ACTIONS: &[&str] = &["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"];
/// What this handler does with the rules' resources.
pub const RULE_ACCESS: ar_core::rules::family::RuleAccess = ar_core::rules::family::RuleAccess::Read;

use ar_core::deps::Deps;
use ar_core::ledger;
use ar_core::rules::{self, Tags};
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
    let settle = rules::settle_time(spec);
    // The change may take the family's settle time from when it was applied to show.
    let settles_by = input.remediation.applied_at.unwrap_or_else(ledger::now_epoch) + settle.as_secs();
    let deadline = Instant::now() + settle.min(IN_LAMBDA);
    let resource = ledger::resource_key(finding);
    let result = loop {
        let inspection = match rules::inspect(&clients, spec, finding, Tags::Skip).await {
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
            break Err(Error::VerificationFailed(format!(
                "{} still fails {} after {} s: {}",
                finding.resource,
                spec.id,
                settle.as_secs(),
                inspection.offending.join("; ")
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    if !matches!(&result, Err(e) if e.is_retryable()) {
        ledger.release_quietly(&resource, &input.execution).await;
    }
    result
}
