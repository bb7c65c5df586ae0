//! Request: the `waitForTaskToken` task. Stores the token, e-mails each approver, returns; the
//! execution then waits (with the deadline the state machine sets) for the callback.

use ar_core::config::is_email;
use ar_core::deps::Deps;
use ar_core::families::{self, Tags};
use ar_core::ledger;
use ar_core::state::{Outcome, RunState};
use ar_core::Error;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::mail::{Email, Mailer, Ses};
use crate::signing::{Action, LinkClaims};
use crate::status::{ApprovalStatus, BatchStatus};
use crate::store::{ApprovalRecord, Store};
use crate::{dynamodb, now_epoch, parse_rfc3339, Combined, Details, Gate};

#[derive(Deserialize)]
pub struct RequestInput {
    pub token: String,
    pub execution_arn: String,
    /// When the approval state was entered (`$$.State.EnteredTime`): the deadline counts from
    /// it, so a retried request never extends it.
    pub entered_time: String,
    /// The execution's state: the finding, the classification and, when asking again, the
    /// `reapprove` result with the new plan.
    pub state: RunState,
}

impl std::fmt::Debug for RequestInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestInput")
            .field("execution_arn", &self.execution_arn)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Serialize)]
pub struct RequestOutput {
    pub approval_id: String,
    pub batch_id: String,
    /// Whether this request sent the batch's e-mails (the first of the batch) or joined it.
    pub sent: bool,
}

/// The approval id: derived from the token (so a retried request is the same approval), and
/// revealing nothing of it.
pub fn approval_id(token: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"auto-remediate approval id\n");
    h.update(token.as_bytes());
    hex::encode(&h.finalize()[..16])
}

pub fn link(base_url: &str, claims: &LinkClaims, key: &ar_core::config::SigningKey) -> String {
    format!("{base_url}/approvals/{}?{}", claims.approval_id, claims.query(key))
}

/// One batch's e-mails: who is asked, about what, with links valid until when.
pub(crate) struct Asking<'a> {
    pub batch_id: &'a str,
    pub approvers: &'a [String],
    pub base_url: &'a str,
    pub key: &'a ar_core::config::SigningKey,
    pub deadline: u64,
    pub details: &'a Details,
    pub sender: &'a str,
    /// How many findings the batch holds (for the log line).
    pub findings: usize,
}

/// E-mails each approver their own approve and reject links: signed for that address, naming
/// the batch, valid until the deadline. Stops at the first e-mail that cannot be sent (the
/// batch is then not marked sent, and the retried request sends again).
pub(crate) async fn ask(mailer: &impl Mailer, a: &Asking<'_>) -> Result<(), Error> {
    for approver in a.approvers {
        debug_assert!(is_email(approver));
        let claims = |action| LinkClaims {
            approval_id: a.batch_id.to_string(),
            approver: approver.clone(),
            action,
            expires: a.deadline,
        };
        let approve = link(a.base_url, &claims(Action::Approve), a.key);
        let reject = link(a.base_url, &claims(Action::Reject), a.key);
        let email = Email::approval(a.details, a.sender, approver, &approve, &reject)?;
        let safe: String = approver
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let message_id = mailer.send(&format!("{}-{safe}", a.batch_id), &email).await?;
        tracing::info!(
            batch_id = a.batch_id,
            findings = a.findings,
            approver,
            message_id,
            "approval requested"
        );
    }
    Ok(())
}

/// The batch id a leader opens: derived from its approval id, so a retried leader finds its batch.
pub fn batch_id(approval_id: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"auto-remediate approval batch\n");
    h.update(approval_id.as_bytes());
    hex::encode(&h.finalize()[..16])
}

pub async fn handle(deps: &Deps, input: RequestInput) -> Result<RequestOutput, Error> {
    let gate = Gate::load(deps).await?;
    let approval = &deps.settings.config.approval;
    let sender = approval
        .sender
        .as_deref()
        .ok_or_else(|| Error::ConfigInvalid("approval.sender is not set: no one can be asked".into()))?;
    if approval.approvers.is_empty() {
        return Err(Error::ConfigInvalid(
            "approval.approvers is empty: no one can be asked".into(),
        ));
    }
    if input.token.is_empty() {
        return Err(Error::InvalidInput("no task token".into()));
    }
    let state = &input.state;
    let spec = deps.admit(&state.finding)?;
    let plan = match &state.remediation {
        Some(r) if r.outcome == Outcome::Reapprove => r.plan.clone(),
        _ => state.classification.plan.clone(),
    }
    .ok_or_else(|| Error::InvalidInput("an approval request without a plan".into()))?;
    let entered = parse_rfc3339(&input.entered_time)
        .ok_or_else(|| Error::InvalidInput("entered_time is not an RFC 3339 time".into()))?;
    let timeout = state
        .classification
        .approval_timeout_seconds
        .unwrap_or(approval.timeout_seconds);
    let record = ApprovalRecord {
        approval_id: approval_id(&input.token),
        token: input.token.clone(),
        execution_arn: input.execution_arn.clone(),
        finding: state.finding.clone(),
        plan,
        rule_title: spec.title.clone(),
        offending: state.classification.offending.clone(),
        approvers: approval.approvers.clone(),
        deadline: entered + timeout,
        status: ApprovalStatus::Pending,
        decided_by: None,
        decided_at: None,
    };
    let ddb = dynamodb(deps);
    let store = Store {
        client: &ddb,
        table: gate.table,
    };
    store.put(&record).await?;

    // Gather: join the resource's open batch, or open one and wait for the scan's other findings.
    let resource = ledger::resource_key(&record.finding);
    let mine = batch_id(&record.approval_id);
    // A retried leader finds its own batch and carries on.
    let window = approval.batch_window_seconds;
    let mut attempts = 0;
    let mut closes_at = match store.batch(&mine).await? {
        Some(b) => b.closes_at,
        None => loop {
            attempts += 1;
            if attempts > 5 {
                return Err(Error::AwsTransient {
                    operation: "dynamodb:PutItem",
                    detail: "the resource's approval batch kept changing".into(),
                });
            }
            let now = now_epoch();
            let mut closed = None;
            if let Some(open) = store.open_batch_of(&resource).await? {
                if open != mine {
                    if store.join(&open, &record.approval_id, now + window).await? {
                        tracing::info!(
                            approval_id = record.approval_id,
                            batch_id = open,
                            "joined the resource's approval"
                        );
                        return Ok(RequestOutput {
                            approval_id: record.approval_id,
                            batch_id: open,
                            sent: false,
                        });
                    }
                    closed = Some(open);
                }
            }
            // No batch gathering for this resource: open one. A scan still delivering findings
            // keeps it open (each joiner extends it by the window), at most four windows.
            if store
                .open_batch(
                    &mine,
                    &resource,
                    &record.approval_id,
                    now + window,
                    now + 4 * window,
                    closed.as_deref(),
                )
                .await?
            {
                break now + window;
            }
            // Another leader opened the resource's batch first: join it in the next round.
        },
    };
    let batch = loop {
        let wait = closes_at.saturating_sub(now_epoch());
        if wait > 0 {
            tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
        }
        match store.close_batch(&mine, now_epoch()).await? {
            Ok(batch) => break batch,
            Err(later) => closes_at = later.max(closes_at + 1),
        }
    };
    if batch.status == BatchStatus::Sent {
        return Ok(RequestOutput {
            approval_id: record.approval_id,
            batch_id: mine,
            sent: true,
        });
    }
    let records = store.members(&batch).await?;
    let deadline = records.iter().map(|r| r.deadline).min().unwrap_or(record.deadline);
    let clients = deps.ctx(&record.finding, spec).await?;
    let live = families::inspect(&clients, spec, &record.finding, Tags::Skip)
        .await?
        .map(|i| i.state);
    let combined = Combined::of(deps, &records, live.as_ref());
    let details = Details::of(deps, &records, &combined, deadline);
    store.mark_sending(&mine, &combined, deadline).await?;
    let mailer = Ses {
        client: aws_sdk_sesv2::Client::new(deps.aws.sdk_config()),
        outbox: deps.settings.outbox_dir.as_deref(),
    };
    let asking = Asking {
        batch_id: &mine,
        approvers: &approval.approvers,
        base_url: gate.base_url,
        key: gate.key(),
        deadline,
        details: &details,
        sender,
        findings: records.len(),
    };
    ask(&mailer, &asking).await?;
    store.mark_sent(&mine).await?;
    Ok(RequestOutput {
        approval_id: record.approval_id,
        batch_id: mine,
        sent: true,
    })
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use ar_core::config::{KeyRing, SigningKey};

    use super::*;
    use crate::callback::parse::{parse, Intent};
    use crate::callback::HttpRequest;

    /// Keeps what it is asked to send; fails from the `fail_from`th e-mail on.
    #[derive(Default)]
    struct Outbox {
        sent: RefCell<Vec<(String, Email)>>,
        fail_from: Option<usize>,
    }

    impl Mailer for Outbox {
        async fn send(&self, name: &str, email: &Email) -> Result<String, Error> {
            let n = self.sent.borrow().len();
            if self.fail_from.is_some_and(|k| n >= k) {
                return Err(Error::AwsTransient {
                    operation: "ses:SendEmail",
                    detail: "throttled".into(),
                });
            }
            self.sent.borrow_mut().push((name.to_string(), email.clone()));
            Ok(format!("m{n}"))
        }
    }

    fn key() -> SigningKey {
        SigningKey::new(vec![7; 32]).unwrap()
    }

    fn asking<'a>(key: &'a SigningKey, approvers: &'a [String], details: &'a Details) -> Asking<'a> {
        Asking {
            batch_id: "0123456789abcdef0123456789abcdef",
            approvers,
            base_url: "https://approvals.example",
            key,
            deadline: 1_900_000_000,
            details,
            sender: "ar@example.com",
            findings: 1,
        }
    }

    /// The URL after `label` in the plain-text part.
    fn url_after<'e>(email: &'e Email, label: &str) -> &'e str {
        email
            .text
            .lines()
            .find_map(|l| l.strip_prefix(label))
            .map(str::trim)
            .unwrap_or_else(|| panic!("no {label:?} line in {}", email.text))
    }

    fn request(url: &str) -> HttpRequest {
        let rest = url.strip_prefix("https://approvals.example").unwrap();
        let (path, query) = rest.split_once('?').unwrap();
        HttpRequest {
            method: "GET".into(),
            path: path.into(),
            query: query.into(),
            body: String::new(),
        }
    }

    /// Each approver gets one e-mail, to their address, whose two links are signed for that
    /// address (and no other), name the batch, and expire at the deadline.
    #[tokio::test]
    async fn each_approver_gets_their_own_links_signed_for_their_address() {
        let (key, details) = (key(), crate::mail::tests::details("public"));
        let approvers = vec!["alice@example.com".to_string(), "bob+ops@example.com".to_string()];
        let outbox = Outbox::default();
        ask(&outbox, &asking(&key, &approvers, &details)).await.unwrap();
        let sent = outbox.sent.into_inner();
        assert_eq!(sent.len(), 2);
        let ring = KeyRing::new(key.clone(), []);
        for ((name, email), approver) in sent.iter().zip(&approvers) {
            assert_eq!(&email.to, approver);
            assert!(name.starts_with("0123456789abcdef0123456789abcdef-"), "{name}");
            for (label, action) in [
                ("Review and approve: ", Action::Approve),
                ("Review and reject: ", Action::Reject),
            ] {
                let req = parse(&request(url_after(email, label))).unwrap();
                assert_eq!(req.intent, Intent::Show);
                assert_eq!(req.approval_id, "0123456789abcdef0123456789abcdef");
                assert_eq!(&req.link.approver, approver);
                assert_eq!(req.link.action, action);
                assert_eq!(req.link.expires, 1_900_000_000);
                assert!(req.claims().verify(&ring, &req.link.kid, &req.link.sig));
                // The same signature does not hold for the other approver.
                let mut other = req.claims();
                other.approver = approvers.iter().find(|a| *a != approver).unwrap().clone();
                assert!(!other.verify(&ring, &req.link.kid, &req.link.sig));
            }
        }
    }

    /// A failed send stops the asking with the error: the batch is then not marked sent and the
    /// retried request asks again.
    #[tokio::test]
    async fn a_failed_send_stops_with_its_error() {
        let (key, details) = (key(), crate::mail::tests::details("public"));
        let approvers = vec!["alice@example.com".to_string(), "bob@example.com".to_string()];
        let outbox = Outbox {
            fail_from: Some(1),
            ..Outbox::default()
        };
        let err = ask(&outbox, &asking(&key, &approvers, &details)).await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::AwsTransient {
                    operation: "ses:SendEmail",
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(outbox.sent.borrow().len(), 1);
    }
}
