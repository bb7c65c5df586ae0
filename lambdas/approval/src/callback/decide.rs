//! The decision: what a well-formed request to the approval pages leads to, behind four small
//! ports ([`Store`], [`Clock`], [`Inspect`], [`Resume`]) so it runs the same against DynamoDB,
//! the live resource and Step Functions ([`super::live`]) as against the in-memory fakes of its
//! tests.
//!
//! In order: the link's signature, its expiry, the approval (a batch the e-mail was sent for),
//! the approver (of this fix, and still configured), a decision already made, the deadline. A
//! `GET` stops there and shows the confirmation. A `POST` decides every finding still pending:
//! an approval first re-reads the live resource (it may pass the rule already, or be gone),
//! records the decision with a conditional write (one decision per finding, whoever is first),
//! then resumes the execution; a resume that fails takes the decision back, so the same link can
//! simply be retried.

use ar_core::config::KeyRing;
use ar_core::Error;
use serde_json::{json, Value};

use super::parse::{CallbackRequest, Intent};
use crate::signing::{Action, LinkClaims};
use crate::status::ApprovalStatus;
use crate::store::{ApprovalRecord, Batch};
use crate::{rfc3339, Combined};

/// The approvals table, as far as the callback uses it (`crate::store::Store` on AWS).
pub(crate) trait Store {
    /// The batch (`None` for an unknown id or another kind of item).
    async fn batch(&self, batch_id: &str) -> Result<Option<Batch>, Error>;
    /// The batch's member records, by rule id (an expired member is left out).
    async fn members(&self, batch: &Batch) -> Result<Vec<ApprovalRecord>, Error>;
    async fn get(&self, approval_id: &str) -> Result<Option<ApprovalRecord>, Error>;
    /// Records a decision if the record is still pending and before its deadline; false if not.
    async fn decide(
        &self,
        approval_id: &str,
        status: ApprovalStatus,
        approver: &str,
        at: &str,
        now: u64,
        removes: &[String],
    ) -> Result<bool, Error>;
    /// Takes a decision back to pending, if it is still this approver's.
    async fn undecide(&self, approval_id: &str, status: ApprovalStatus, approver: &str) -> Result<(), Error>;
    /// Marks a pending record expired.
    async fn expire(&self, approval_id: &str) -> Result<(), Error>;
}

/// Epoch seconds now.
pub(crate) trait Clock {
    fn now(&self) -> u64;
}

/// What the live resource of a record looks like now, for its rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Live {
    /// It still fails the rule: the fix can go ahead.
    Failing,
    /// It passes the rule already.
    Compliant,
    /// It no longer exists.
    Gone,
}

/// Reads a record's resource (in its account and region) and evaluates its rule.
pub(crate) trait Inspect {
    async fn inspect(&self, record: &ApprovalRecord) -> Result<Live, Error>;
}

/// Why an execution was not resumed.
#[derive(Debug)]
pub(crate) enum NotResumed {
    /// It no longer waits for this task (timed out, stopped, or an unknown token): the decision
    /// cannot count.
    NoLongerWaiting,
    /// Anything else (throttled, unreachable): nothing was resumed, the link can be retried.
    Failed(Error),
}

/// Resumes a waiting execution with the decision as its task's output (`SendTaskSuccess`).
pub(crate) trait Resume {
    async fn resume(&self, token: &str, output: &Value) -> Result<(), NotResumed>;
}

/// The ports the decision runs against.
pub(crate) struct Ports<'a, S, C, I, R> {
    pub store: &'a S,
    pub clock: &'a C,
    pub inspect: &'a I,
    pub resume: &'a R,
}

/// What the decision needs of the configuration, as it is now.
pub(crate) struct Policy<'a> {
    /// The current and previous signing keys.
    pub keys: &'a KeyRing,
    /// The approvers configured now: an address removed since the e-mail went out decides nothing.
    pub approvers: &'a [String],
}

/// What the approver is shown: the findings, the plan the e-mail showed, the deadline.
#[derive(Debug, Clone)]
pub(crate) struct View {
    pub records: Vec<ApprovalRecord>,
    pub combined: Combined,
    pub deadline: u64,
}

/// Who made a decision made earlier, as its reader may be told: only an approver themselves is
/// named (a link can be forwarded; other approvers' addresses are not its reader's business).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecidedBy {
    You,
    AnotherApprover,
    Unknown,
}

/// What a request leads to. Every variant but [`Outcome::Confirm`] and [`Outcome::Decided`] is a
/// refusal that changed nothing, except [`Outcome::ApprovalExpired`], which records the expiry.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    /// The signature does not match (altered, another approval's, an unknown key).
    InvalidSignature,
    /// The link's own expiry has passed.
    LinkExpired { expires: u64 },
    /// No batch with this id whose e-mail was sent.
    UnknownApproval,
    /// The batch's member records are all gone.
    NoFindingsLeft,
    /// The address is not among this fix's approvers.
    NotAnApprover,
    /// The address was an approver when the e-mail was sent, and is no longer configured.
    NoLongerAnApprover,
    /// Every finding was decided (or expired) before this request.
    AlreadyDecided {
        status: ApprovalStatus,
        by: DecidedBy,
        at: Option<String>,
    },
    /// The approval's deadline passed; its pending records are now marked expired.
    ApprovalExpired,
    /// The execution stopped waiting (timed out or was stopped) before it could be resumed.
    NoLongerWaiting,
    /// A `GET`: the findings, the plan and the buttons; nothing changed.
    Confirm { claims: LinkClaims, view: View },
    /// A `POST` that decided at least one finding and resumed its execution.
    Decided {
        approver: String,
        decided_at: String,
        decisions: Vec<ApprovalStatus>,
        executions: Vec<String>,
        view: View,
    },
}

impl Outcome {
    /// What the page shows of the approval, where it shows it.
    pub fn view(&self) -> Option<&View> {
        match self {
            Outcome::Confirm { view, .. } | Outcome::Decided { view, .. } => Some(view),
            _ => None,
        }
    }
}

fn already_decided(record: &ApprovalRecord, reader: &str) -> Outcome {
    Outcome::AlreadyDecided {
        status: record.status,
        by: match record.decided_by.as_deref() {
            Some(by) if by == reader => DecidedBy::You,
            Some(_) => DecidedBy::AnotherApprover,
            None => DecidedBy::Unknown,
        },
        at: record.decided_at.clone(),
    }
}

/// Decides what `req` leads to. `Err` only for a failure of a port (the page then says to try
/// again); every refusal is an [`Outcome`].
pub(crate) async fn decide<S: Store, C: Clock, I: Inspect, R: Resume>(
    ports: &Ports<'_, S, C, I, R>,
    policy: &Policy<'_>,
    req: &CallbackRequest,
) -> Result<Outcome, Error> {
    let now = ports.clock.now();
    let claims = req.claims();
    if !claims.verify(policy.keys, &req.link.kid, &req.link.sig) {
        return Ok(Outcome::InvalidSignature);
    }
    if now >= claims.expires {
        return Ok(Outcome::LinkExpired {
            expires: claims.expires,
        });
    }
    let store = ports.store;
    let Some(batch) = store.batch(&req.approval_id).await?.filter(|b| b.status.is_served()) else {
        return Ok(Outcome::UnknownApproval);
    };
    let records = store.members(&batch).await?;
    let Some(first) = records.first().cloned() else {
        return Ok(Outcome::NoFindingsLeft);
    };
    // One resource per batch; its executions (one per finding), its rules.
    let joined = |f: &dyn Fn(&ApprovalRecord) -> String| records.iter().map(f).collect::<Vec<_>>().join(",");
    ar_core::logs::record(
        Some(&joined(&|r| {
            ar_core::state::execution_name(&r.execution_arn).to_string()
        })),
        Some(&joined(&|r| r.finding.rule_id.clone())),
        Some(&first.finding.resource),
    );
    if !first.approvers.contains(&claims.approver) {
        return Ok(Outcome::NotAnApprover);
    }
    if !policy.approvers.contains(&claims.approver) {
        tracing::warn!(
            batch_id = batch.batch_id,
            "a link of an address no longer among the configured approvers was refused"
        );
        return Ok(Outcome::NoLongerAnApprover);
    }
    if records.iter().all(|r| r.status.is_final()) {
        return Ok(already_decided(&first, &claims.approver));
    }
    let deadline = batch.deadline.unwrap_or(first.deadline);
    if now >= deadline {
        for r in &records {
            store.expire(&r.approval_id).await?;
        }
        return Ok(Outcome::ApprovalExpired);
    }
    let combined = batch.combined.clone().unwrap_or_default();
    if req.intent == Intent::Show {
        return Ok(Outcome::Confirm {
            claims,
            view: View {
                records,
                combined,
                deadline,
            },
        });
    }

    // Decide every finding still pending. For an approval, look at the live resource first.
    let decided_at = rfc3339(now);
    let mut decisions = Vec::new();
    let mut failure = None;
    for record in records.iter().filter(|r| r.status == ApprovalStatus::Pending) {
        let decision = match claims.action {
            Action::Reject => ApprovalStatus::Rejected,
            Action::Approve => match ports.inspect.inspect(record).await? {
                Live::Compliant => ApprovalStatus::AlreadyCompliant,
                Live::Failing => ApprovalStatus::Approved,
                Live::Gone => ApprovalStatus::ResourceGone,
            },
        };
        let recorded = store
            .decide(
                &record.approval_id,
                decision,
                &claims.approver,
                &decided_at,
                now,
                &combined.removes,
            )
            .await?;
        if !recorded {
            continue; // someone else decided this one first
        }
        let output = json!({
            "decision": decision,
            "approver": claims.approver,
            "decided_at": decided_at,
            "approval_id": record.approval_id,
            "batch_id": batch.batch_id,
            "approved_removes": combined.removes,
        });
        match ports.resume.resume(&record.token, &output).await {
            Ok(()) => decisions.push(decision),
            Err(NotResumed::NoLongerWaiting) => {
                // The execution stopped waiting: the record must not say it was decided.
                store.undecide(&record.approval_id, decision, &claims.approver).await?;
                store.expire(&record.approval_id).await?;
            }
            Err(NotResumed::Failed(err)) => {
                // Not resumed: take the decision back, so the same link can simply be retried.
                store.undecide(&record.approval_id, decision, &claims.approver).await?;
                failure = Some(err);
            }
        }
    }
    if let Some(err) = failure {
        return Err(err);
    }
    if decisions.is_empty() {
        let latest = store.get(&first.approval_id).await?.unwrap_or(first);
        return Ok(match latest.status {
            ApprovalStatus::Expired => Outcome::NoLongerWaiting,
            _ => already_decided(&latest, &claims.approver),
        });
    }
    tracing::info!(
        batch_id = batch.batch_id,
        decisions = ?decisions,
        approver = claims.approver,
        "approval decided"
    );
    Ok(Outcome::Decided {
        approver: claims.approver,
        decided_at,
        decisions,
        executions: records.iter().map(|r| r.execution_arn.clone()).collect(),
        view: View {
            records,
            combined,
            deadline,
        },
    })
}

#[cfg(test)]
#[path = "decide_tests.rs"]
mod tests;
