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

use crate::mail::{self, Email};
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
    let ses = aws_sdk_sesv2::Client::new(deps.aws.sdk_config());
    for approver in &approval.approvers {
        debug_assert!(is_email(approver));
        let claims = |action| LinkClaims {
            approval_id: mine.clone(),
            approver: approver.clone(),
            action,
            expires: deadline,
        };
        let approve = link(gate.base_url, &claims(Action::Approve), gate.key());
        let reject = link(gate.base_url, &claims(Action::Reject), gate.key());
        let email = Email::approval(&details, sender, approver, &approve, &reject)?;
        let message_id = mail::send(&ses, &email).await?;
        if let Some(dir) = &deps.settings.outbox_dir {
            let safe: String = approver
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            mail::write_outbox(dir, &format!("{mine}-{safe}"), &email)?;
        }
        tracing::info!(
            batch_id = mine,
            findings = records.len(),
            approver,
            message_id,
            "approval requested"
        );
    }
    store.mark_sent(&mine).await?;
    Ok(RequestOutput {
        approval_id: record.approval_id,
        batch_id: mine,
        sent: true,
    })
}
