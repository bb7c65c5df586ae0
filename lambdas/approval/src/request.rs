//! Request: the `waitForTaskToken` task. Stores the token, e-mails each approver, returns; the
//! execution then waits (with the deadline the state machine sets) for the callback.

use ar_core::config::is_email;
use ar_core::deps::Deps;
use ar_core::finding::Finding;
use ar_core::state::Classification;
use ar_core::Error;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::mail::{self, Email};
use crate::signing::{Action, LinkClaims};
use crate::store::{ApprovalRecord, Store};
use crate::{dynamodb, now_epoch, Details, Gate};

#[derive(Deserialize)]
pub struct RequestInput {
    pub token: String,
    pub execution_arn: String,
    pub finding: Finding,
    pub classification: Classification,
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
    pub approvers: Vec<String>,
    pub deadline: String,
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

pub async fn handle(deps: &Deps, input: RequestInput) -> Result<RequestOutput, Error> {
    let gate = Gate::from(deps)?;
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
    let spec = deps.admit(&input.finding)?;
    let plan = input
        .classification
        .plan
        .clone()
        .ok_or_else(|| Error::InvalidInput("an approval request without a plan".into()))?;
    let timeout = input
        .classification
        .approval_timeout_seconds
        .unwrap_or(approval.timeout_seconds);
    let record = ApprovalRecord {
        approval_id: approval_id(&input.token),
        token: input.token.clone(),
        execution_arn: input.execution_arn.clone(),
        finding: input.finding.clone(),
        plan,
        rule_title: spec.title.clone(),
        offending: input.classification.offending.clone(),
        approvers: approval.approvers.clone(),
        deadline: now_epoch() + timeout,
        status: "pending".into(),
        decided_by: None,
        decided_at: None,
    };
    let ddb = dynamodb(deps);
    Store {
        client: &ddb,
        table: gate.table,
    }
    .put(&record)
    .await?;

    let details = Details::of(&record, &spec.risk);
    let ses = aws_sdk_sesv2::Client::new(deps.aws.sdk_config());
    for approver in &approval.approvers {
        debug_assert!(is_email(approver));
        let claims = |action| LinkClaims {
            approval_id: record.approval_id.clone(),
            approver: approver.clone(),
            action,
            expires: record.deadline,
        };
        let approve = link(gate.base_url, &claims(Action::Approve), gate.key);
        let reject = link(gate.base_url, &claims(Action::Reject), gate.key);
        let email = Email::approval(&details, sender, approver, &approve, &reject)?;
        let message_id = mail::send(&ses, &email).await?;
        if let Some(dir) = &deps.settings.outbox_dir {
            let safe: String = approver
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            mail::write_outbox(dir, &format!("{}-{safe}", record.approval_id), &email)?;
        }
        tracing::info!(
            approval_id = record.approval_id,
            approver,
            message_id,
            "approval requested"
        );
    }
    Ok(RequestOutput {
        approval_id: record.approval_id,
        approvers: approval.approvers.clone(),
        deadline: details.deadline,
    })
}
