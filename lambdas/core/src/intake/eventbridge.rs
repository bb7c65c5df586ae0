//! EventBridge events: what an EventBridge rule's target (the trigger Lambda) receives is the
//! event JSON itself, `{version, id, detail-type, source, account, time, region, resources,
//! detail}`, not SNS `Records`. The trigger tells the two apart by the top-level `detail-type`
//! and `source` ([`is_event`]); [`sort`] hands the event to the source that reads it by that pair:
//!
//! | `source` | `detail-type` | read by |
//! |---|---|---|
//! | `aws.securityhub` | `Security Hub Findings - Imported` | [`super::securityhub`] (several findings per event) |
//! | `aws.config` | `Config Rules Compliance Change` | [`super::awsconfig`] |
//!
//! Any other event is acknowledged (`NotACheck`).

use serde_json::Value;

use crate::error::Error;

use super::event::envelope;
use super::{awsconfig, securityhub, AckReason, Intake, IntakeCtx};

/// EventBridge's own limit on an event (PutEvents entry); Security Hub's batches stay under it.
pub const MAX_EVENT_BYTES: usize = 256 * 1024;

/// Whether a Lambda event is an EventBridge event (not SNS records, not a direct invocation).
pub fn is_event(event: &Value) -> bool {
    event.get("Records").is_none() && event.get("detail-type").is_some() && event.get("source").is_some()
}

/// Sorts one EventBridge event: one result per finding it carries (each acted on,
/// acknowledged, or rejected on its own), or one rejection for the whole event.
pub fn sort(event: &Value, cx: &IntakeCtx<'_>) -> Vec<Result<Intake, Error>> {
    let size = serde_json::to_string(event).map(|s| s.len()).unwrap_or(usize::MAX);
    if size > MAX_EVENT_BYTES {
        return vec![Err(Error::MessageTooLarge {
            size,
            limit: MAX_EVENT_BYTES,
        })];
    }
    let env = match envelope(event) {
        Ok(env) => env,
        Err(e) => return vec![Err(e)],
    };
    match (env.source.as_str(), env.detail_type.as_str()) {
        (securityhub::SOURCE, securityhub::DETAIL_TYPE) => securityhub::parse(&env, cx),
        (awsconfig::SOURCE, awsconfig::DETAIL_TYPE) => awsconfig::parse(&env, cx),
        (source, detail_type) => vec![Ok(Intake::ack(
            AckReason::NotACheck,
            None,
            format!(
                "an EventBridge event auto-remediate does not read ({source:?}, {:?})",
                detail_type.chars().take(80).collect::<String>()
            ),
        ))],
    }
}

/// Intake never panics on an EventBridge event, whatever was changed in it.
#[cfg(test)]
mod properties;
