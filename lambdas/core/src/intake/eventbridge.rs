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
//! Any other event is acknowledged (`NotACheck`), Security Hub's OCSF findings (`Findings
//! Imported V2`) with what to subscribe instead: AWS documents their envelope but not yet a
//! control finding's content as this project could test it, so they are not read.

use serde_json::Value;

use crate::error::Error;

use super::event::envelope;
use super::{awsconfig, securityhub, AckReason, Intake, IntakeCtx};

/// Security Hub's OCSF findings (Security Hub v2), not read (see the module doc).
pub const SECURITYHUB_V2_DETAIL_TYPE: &str = "Findings Imported V2";

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
        (securityhub::SOURCE, SECURITYHUB_V2_DETAIL_TYPE) => vec![Ok(Intake::ack(
            AckReason::NotACheck,
            None,
            format!(
                "Security Hub's OCSF findings ({SECURITYHUB_V2_DETAIL_TYPE:?}) are not read: subscribe the \
                 ASFF findings ({:?}, what subscribe_security_hub creates); nothing was read",
                securityhub::DETAIL_TYPE
            ),
        ))],
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::catalog::Catalog;

    fn event(source: &str, detail_type: &str) -> Value {
        json!({"version": "0", "id": "e1", "detail-type": detail_type, "source": source,
               "account": "111111111111", "time": "2026-01-01T00:00:00Z", "region": "us-east-1",
               "resources": [], "detail": {"findings": [{"compliance": {"status": "Fail"}}]}})
    }

    /// An event no source reads is acknowledged, never rejected; a Security Hub v2 (OCSF) event
    /// says what to subscribe instead.
    #[test]
    fn events_no_source_reads_are_acknowledged_and_ocsf_findings_say_what_to_subscribe() {
        let cx = IntakeCtx::new(Catalog::builtin(), "us-east-1");
        for (source, detail_type, hint) in [
            (
                "aws.securityhub",
                "Findings Imported V2",
                "Security Hub Findings - Imported",
            ),
            ("aws.guardduty", "GuardDuty Finding", "does not read"),
        ] {
            match &sort(&event(source, detail_type), &cx)[..] {
                [Ok(Intake::Acknowledged(a))] => {
                    assert_eq!(a.reason, AckReason::NotACheck);
                    assert!(a.detail.contains(hint), "{}", a.detail);
                }
                other => panic!("{detail_type}: {other:?}"),
            }
        }
    }
}
