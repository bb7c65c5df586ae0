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
pub mod status;
pub mod store;

use ar_core::deps::Deps;
use ar_core::families::{self, ResourceState};
use ar_core::Error;
use serde::{Deserialize, Serialize};

/// Where the signing key may come from (read once at cold start): Secrets Manager or SSM.
const KEY_SOURCES: [&str; 3] = ["secretsmanager:GetSecretValue", "ssm:GetParameter", "kms:Decrypt"];

/// The IAM actions the approval request's own calls need, besides reading its rules' resources:
/// the approvals table (records, batches), the e-mail, and the signing key.
pub const REQUEST_ACTIONS: &[&str] = &[
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "ses:SendEmail",
    KEY_SOURCES[0],
    KEY_SOURCES[1],
    KEY_SOURCES[2],
];

/// The approval callback's own actions: the only handler that may resume an execution. A
/// rejection resumes it with SendTaskSuccess too (`decision: rejected`): `states:SendTaskFailure`
/// is never called, so it is not granted.
pub const CALLBACK_ACTIONS: &[&str] = &[
    "dynamodb:GetItem",
    "dynamodb:UpdateItem",
    "states:SendTaskSuccess",
    KEY_SOURCES[0],
    KEY_SOURCES[1],
    KEY_SOURCES[2],
];

/// The approval settings every approval handler needs, or the named error saying which is missing.
pub struct Gate<'a> {
    pub table: &'a str,
    pub base_url: &'a str,
    /// The current key (signs new links) and the previous ones (verify links, picked by the
    /// link's key id), as this process last read them (`ar_core::keys::KeyCache`).
    pub keys: ar_core::config::KeyRing,
}

/// The signing keys this process read last (keys kept in AWS are read again every few minutes).
static KEYS: ar_core::keys::KeyCache = ar_core::keys::KeyCache::new();

impl<'a> Gate<'a> {
    pub async fn load(deps: &'a Deps) -> Result<Gate<'a>, Error> {
        let s = &deps.settings;
        let source = s.signing_key_source.as_ref().ok_or_else(|| {
            Error::ConfigInvalid(
                "no approval signing key: set APPROVAL_SIGNING_KEY (or APPROVAL_SIGNING_KEY_FILE), \
                 APPROVAL_SIGNING_KEY_SECRET_ID or APPROVAL_SIGNING_KEY_PARAMETER"
                    .into(),
            )
        })?;
        let table = s
            .approval_table
            .as_deref()
            .ok_or_else(|| Error::ConfigInvalid("APPROVAL_TABLE is not set".into()))?;
        let base_url = s
            .approval_base_url
            .as_deref()
            .ok_or_else(|| Error::ConfigInvalid("APPROVAL_BASE_URL is not set".into()))?;
        let keys = KEYS
            .ring(source, s.signing_keys.as_ref(), deps.aws.sdk_config())
            .await?;
        Ok(Gate { table, base_url, keys })
    }

    /// The key new links are signed with.
    pub fn key(&self) -> &ar_core::config::SigningKey {
        self.keys.current()
    }
}

pub fn dynamodb(deps: &Deps) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(deps.aws.sdk_config())
}

pub use ar_core::ledger::now_epoch;

/// RFC 3339 UTC (`2026-11-27T19:02:57Z`) from epoch seconds.
pub fn rfc3339(epoch: u64) -> String {
    aws_smithy_types::DateTime::from_secs(epoch as i64)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_else(|_| epoch.to_string())
}

/// Epoch seconds from an RFC 3339 time with any offset (`$$.State.EnteredTime`).
pub fn parse_rfc3339(text: &str) -> Option<u64> {
    aws_smithy_types::DateTime::from_str(text, aws_smithy_types::date_time::Format::DateTimeWithOffset)
        .ok()
        .and_then(|t| u64::try_from(t.secs()).ok())
}

/// What one approval shows for all the findings it gathers on one resource: each finding, and
/// the combined plan (the net change of applying every fix, computed on the live state read
/// when the approval was sent). Stored with the batch so the page shows what the e-mail did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Combined {
    pub summary: String,
    /// One line per finding: rule, title and its own fix.
    pub findings: Vec<String>,
    pub offending: Vec<String>,
    /// The net writes, in plan wording.
    pub steps: Vec<String>,
    /// The access removed, combined: what an approval of this batch allows a fix to take away.
    pub removes: Vec<String>,
    pub cannot_keep: Vec<String>,
    pub untouched: Vec<String>,
}

impl Combined {
    /// Combines the fixes of `records` (sorted by rule id), applied one after another to `live`.
    /// Without a live state (the resource is gone), each record's own plan is shown.
    pub fn of(deps: &Deps, records: &[store::ApprovalRecord], live: Option<&ResourceState>) -> Combined {
        let mut c = Combined::default();
        let mut state = live.cloned();
        let mut steps_each = Vec::new();
        let mut untouched: Option<Vec<String>> = None;
        for r in records {
            let plan = match (&state, deps.catalog.get(&r.finding.rule_id)) {
                (Some(s), Some(spec)) => {
                    match families::assess(spec, &r.finding, s)
                        .and_then(|(_, plan)| Ok((families::simulate(spec, s, &plan)?, plan)))
                    {
                        Ok((next, plan)) => {
                            state = Some(next);
                            plan
                        }
                        Err(_) => r.plan.clone(),
                    }
                }
                _ => r.plan.clone(),
            };
            c.findings
                .push(format!("{} {}: {}", r.finding.rule_id, r.rule_title, plan.summary));
            c.offending.extend(r.offending.iter().cloned());
            c.removes.extend(plan.removes.iter().cloned());
            c.cannot_keep.extend(plan.cannot_keep.iter().cloned());
            steps_each.extend(plan.steps.iter().cloned());
            untouched = Some(match untouched {
                None => r.plan.untouched.clone(),
                Some(u) => u.into_iter().filter(|x| r.plan.untouched.contains(x)).collect(),
            });
        }
        for v in [&mut c.offending, &mut c.removes, &mut c.cannot_keep] {
            v.sort();
            v.dedup();
        }
        c.untouched = untouched.unwrap_or_default();
        c.steps = match (live, &state) {
            (Some(before), Some(after)) if records.len() > 1 => families::diff(before, after),
            _ => steps_each,
        };
        c.summary = match records {
            [one] => one.plan.summary.clone(),
            _ => format!(
                "{} fixes on {}, decided together and applied one at a time; the net change:",
                records.len(),
                records.first().map(|r| r.finding.resource.as_str()).unwrap_or("?")
            ),
        };
        c
    }
}

/// The scanner's free text as the e-mail and the pages show it: one line per line it sent, every
/// other control character a space (a line of it can never pass for one of the e-mail's own).
fn scanner_text(text: &str) -> String {
    text.lines()
        .map(|l| {
            l.chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
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
    pub findings: Vec<String>,
    pub steps: Vec<String>,
    pub cannot_keep: Vec<String>,
    pub untouched: Vec<String>,
    pub offending: Vec<String>,
    pub deadline: String,
}

impl Details {
    pub fn of(deps: &Deps, records: &[store::ApprovalRecord], combined: &Combined, deadline: u64) -> Details {
        let first = &records[0];
        let risk = records
            .iter()
            .filter_map(|r| deps.catalog.get(&r.finding.rule_id))
            .map(|s| s.risk.clone())
            .max_by_key(|r| {
                ["LOW", "MEDIUM", "HIGH", "VERY_HIGH", "EXTREME"]
                    .iter()
                    .position(|x| x.eq_ignore_ascii_case(r))
            })
            .unwrap_or_default();
        let many = records.len() > 1;
        Details {
            rule_id: records
                .iter()
                .map(|r| r.finding.rule_id.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            rule_title: if many {
                format!("({} findings)", records.len())
            } else {
                first.rule_title.clone()
            },
            risk,
            resource: first.finding.resource.clone(),
            account: first.finding.account_id.clone(),
            region: first.finding.region.clone(),
            message: if many {
                None
            } else {
                first.finding.message.as_deref().map(scanner_text)
            },
            summary: combined.summary.clone(),
            findings: if many { combined.findings.clone() } else { Vec::new() },
            steps: combined.steps.clone(),
            cannot_keep: combined.cannot_keep.clone(),
            untouched: combined.untouched.clone(),
            offending: combined.offending.clone(),
            deadline: rfc3339(deadline),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_parses_aws_and_moto_entered_times() {
        assert_eq!(super::parse_rfc3339("2026-11-27T19:02:57.123Z"), Some(1_795_806_177));
        assert_eq!(
            super::parse_rfc3339("2026-11-27T19:02:57.123456+00:00"),
            Some(1_795_806_177)
        );
        assert_eq!(super::parse_rfc3339("2026-11-27T20:02:57+01:00"), Some(1_795_806_177));
        assert_eq!(super::parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(1_795_806_177), "2026-11-27T19:02:57Z");
        assert_eq!(super::rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
