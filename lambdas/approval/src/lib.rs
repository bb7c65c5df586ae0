//! The approval gate: risky fixes wait for a human.
//!
//! - [`request`]: invoked by the state machine with a task token (`waitForTaskToken`); stores the
//!   token server-side, e-mails each approver links bound to their address and signed, returns.
//! - [`callback`]: the approval pages (API Gateway on AWS, a port of the local stack). `GET` only
//!   shows the finding and the plan with confirm buttons (mail scanners that pre-fetch links
//!   decide nothing); `POST` verifies the signature and expiry, records one decision per approval
//!   with a conditional write, re-reads the live resource, and resumes the execution.
//!
//! Never in a link, a page, an e-mail, a log line or an error text: the task token or the
//! signing key.

pub mod callback;
pub mod mail;
pub mod request;
pub mod signing;
pub mod store;

use ar_core::deps::Deps;
use ar_core::Error;

/// The approval settings every approval handler needs, or the named error saying which is missing.
pub struct Gate<'a> {
    pub table: &'a str,
    pub base_url: &'a str,
    /// The current key: signs new links.
    pub key: &'a ar_core::config::SigningKey,
    /// The current and previous keys: verify links, picked by the link's key id.
    pub keys: &'a ar_core::config::KeyRing,
}

impl<'a> Gate<'a> {
    pub fn from(deps: &'a Deps) -> Result<Gate<'a>, Error> {
        let s = &deps.settings;
        let keys = s.signing_keys.as_ref().ok_or_else(|| {
            Error::ConfigInvalid(if s.signing_key_source.is_some() {
                "the approval signing keys are kept in AWS and were not loaded (Settings::load_signing_keys)".into()
            } else {
                "no approval signing key: set APPROVAL_SIGNING_KEY (or APPROVAL_SIGNING_KEY_FILE), \
                 APPROVAL_SIGNING_KEY_SECRET_ID or APPROVAL_SIGNING_KEY_PARAMETER"
                    .into()
            })
        })?;
        Ok(Gate {
            table: s
                .approval_table
                .as_deref()
                .ok_or_else(|| Error::ConfigInvalid("APPROVAL_TABLE is not set".into()))?,
            base_url: s
                .approval_base_url
                .as_deref()
                .ok_or_else(|| Error::ConfigInvalid("APPROVAL_BASE_URL is not set".into()))?,
            key: keys.current(),
            keys,
        })
    }
}

pub fn dynamodb(deps: &Deps) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(deps.aws.sdk_config())
}

pub fn now_epoch() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// RFC 3339 UTC (`2026-11-27T19:02:57Z`) from epoch seconds.
pub fn rfc3339(epoch: u64) -> String {
    let days = (epoch / 86400) as i64;
    let secs = epoch % 86400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// What the e-mail and the pages show about a pending approval.
pub struct Details {
    pub rule_id: String,
    pub rule_title: String,
    pub risk: String,
    pub resource: String,
    pub account: String,
    pub region: String,
    pub message: Option<String>,
    pub summary: String,
    pub steps: Vec<String>,
    pub cannot_keep: Vec<String>,
    pub untouched: Vec<String>,
    pub offending: Vec<String>,
    pub deadline: String,
}

impl Details {
    pub fn of(record: &store::ApprovalRecord, risk: &str) -> Details {
        Details {
            rule_id: record.finding.rule_id.clone(),
            rule_title: record.rule_title.clone(),
            risk: risk.to_string(),
            resource: record.finding.resource.clone(),
            account: record.finding.account_id.clone(),
            region: record.finding.region.clone(),
            message: record.finding.message.clone(),
            summary: record.plan.summary.clone(),
            steps: record.plan.steps.clone(),
            cannot_keep: record.plan.cannot_keep.clone(),
            untouched: record.plan.untouched.clone(),
            offending: record.offending.clone(),
            deadline: rfc3339(record.deadline),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(1_795_806_177), "2026-11-27T19:02:57Z");
        assert_eq!(super::rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
