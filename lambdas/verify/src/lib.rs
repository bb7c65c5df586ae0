//! Verify: re-reads the resource and evaluates the rule's own check, independently of what
//! Remediate reported, then releases the resource's lease (taken by Remediate).
//!
//! A change that does not show at once is re-read for the family's settle time; still failing
//! after it is `VerificationFailed`. The lease is released on every end but a retryable error
//! (the state machine retries at once); a Verify that dies leaves it to expire.

use std::time::{Duration, Instant};

/// The IAM actions this handler's own calls need, besides its rules' (releases the resource lease).
pub const ACTIONS: &[&str] = &["dynamodb:DeleteItem"];
/// What this handler does with the rules' resources.
pub const RULE_ACCESS: ar_core::rules::family::RuleAccess = ar_core::rules::family::RuleAccess::Read;

use ar_core::deps::Deps;
use ar_core::ledger;
use ar_core::rules::{self, Tags};
use ar_core::state::{Verification, VerifyInput};
use ar_core::Error;

pub async fn handle(deps: &Deps, input: VerifyInput) -> Result<Verification, Error> {
    let finding = &input.finding;
    let spec = deps.admit(finding)?;
    let ledger = deps.ledger()?;
    let clients = deps.ctx(finding, spec).await?;
    let deadline = Instant::now() + rules::settle_time(spec);
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
        if inspection.compliant() {
            tracing::info!(rule_id = spec.id, resource = finding.resource, "verified");
            break Ok(Verification {
                compliant: true,
                rule_id: spec.id.clone(),
                resource: finding.resource.clone(),
                state: inspection.state,
            });
        }
        if Instant::now() >= deadline {
            break Err(Error::VerificationFailed(format!(
                "{} still fails {}: {}",
                finding.resource,
                spec.id,
                inspection.offending.join("; ")
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    if !matches!(&result, Err(e) if e.is_retryable()) {
        ledger
            .release_quietly(&ledger::resource_key(finding), &input.execution)
            .await;
    }
    result
}
