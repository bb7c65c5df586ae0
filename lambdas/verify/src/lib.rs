//! Verify: re-reads the resource and evaluates the rule's own check, independently of what
//! Remediate reported. Still failing is `VerificationFailed` (the state machine retries a bounded
//! number of times, for eventually consistent reads, then fails the execution by that name).

use ar_core::deps::Deps;
use ar_core::rules::{self, Tags};
use ar_core::state::{Verification, VerifyInput};
use ar_core::Error;

pub async fn handle(deps: &Deps, input: VerifyInput) -> Result<Verification, Error> {
    let finding = &input.finding;
    let spec = deps.admit(finding)?;
    let clients = deps.aws.rule_clients(&finding.region);
    let inspection = rules::inspect(&clients, spec, finding, Tags::Skip)
        .await?
        .ok_or_else(|| Error::VerificationFailed(format!("{} no longer exists", finding.resource)))?;
    if !inspection.compliant() {
        return Err(Error::VerificationFailed(format!(
            "{} still fails {}: {}",
            finding.resource,
            spec.id,
            inspection.offending.join("; ")
        )));
    }
    tracing::info!(rule_id = spec.id, resource = finding.resource, "verified");
    Ok(Verification {
        compliant: true,
        rule_id: spec.id.clone(),
        resource: finding.resource.clone(),
        state: inspection.state,
    })
}
