//! The decision's ports on AWS: the approvals table ([`crate::store::Store`]), the system clock,
//! the live resource (the rule family's own read and check) and Step Functions' `SendTaskSuccess`.

use ar_core::deps::Deps;
use ar_core::families::{self, Tags};
use ar_core::Error;
use serde_json::Value;

use super::decide::{Clock, Inspect, Live, NotResumed, Resume, Store};
use crate::status::ApprovalStatus;
use crate::store::{ApprovalRecord, Batch};

impl Store for crate::store::Store<'_> {
    async fn batch(&self, batch_id: &str) -> Result<Option<Batch>, Error> {
        crate::store::Store::batch(self, batch_id).await
    }

    async fn members(&self, batch: &Batch) -> Result<Vec<ApprovalRecord>, Error> {
        crate::store::Store::members(self, batch).await
    }

    async fn get(&self, approval_id: &str) -> Result<Option<ApprovalRecord>, Error> {
        crate::store::Store::get(self, approval_id).await
    }

    async fn decide(
        &self,
        approval_id: &str,
        status: ApprovalStatus,
        approver: &str,
        at: &str,
        now: u64,
        removes: &[String],
    ) -> Result<bool, Error> {
        crate::store::Store::decide(self, approval_id, status, approver, at, now, removes).await
    }

    async fn undecide(&self, approval_id: &str, status: ApprovalStatus, approver: &str) -> Result<(), Error> {
        crate::store::Store::undecide(self, approval_id, status, approver).await
    }

    async fn expire(&self, approval_id: &str) -> Result<(), Error> {
        crate::store::Store::expire(self, approval_id).await
    }
}

/// The system clock.
pub(crate) struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        crate::now_epoch()
    }
}

/// The live resource, read in its account and region with the rule's own family.
pub(crate) struct LiveResources<'a>(pub &'a Deps);

impl Inspect for LiveResources<'_> {
    async fn inspect(&self, record: &ApprovalRecord) -> Result<Live, Error> {
        let deps = self.0;
        let spec = deps.catalog.require(&record.finding.rule_id)?;
        let clients = deps.ctx(&record.finding, spec).await?;
        Ok(
            match families::inspect(&clients, spec, &record.finding, Tags::Skip).await? {
                Some(live) if live.compliant() => Live::Compliant,
                Some(_) => Live::Failing,
                None => Live::Gone,
            },
        )
    }
}

/// Step Functions, with the callback's own credentials.
pub(crate) struct StepFunctions<'a>(pub &'a Deps);

impl Resume for StepFunctions<'_> {
    async fn resume(&self, token: &str, output: &Value) -> Result<(), NotResumed> {
        let sent = self
            .0
            .aws
            .sfn()
            .send_task_success()
            .task_token(token)
            .output(output.to_string())
            .send()
            .await;
        match sent {
            Ok(_) => Ok(()),
            Err(e) => {
                let err = Error::from_sdk("states:SendTaskSuccess", e);
                if matches!(
                    err.aws_code(),
                    Some("TaskTimedOut") | Some("InvalidToken") | Some("TaskDoesNotExist")
                ) {
                    Err(NotResumed::NoLongerWaiting)
                } else {
                    Err(NotResumed::Failed(err))
                }
            }
        }
    }
}
