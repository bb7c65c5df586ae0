//! Pending approvals in DynamoDB: approval id → task token, execution, finding, plan, deadline,
//! status. The task token lives only here (never in a link, a log or an e-mail). Items carry a TTL
//! attribute (`expires_at`) so DynamoDB removes them a week after their deadline.

use std::collections::HashMap;

use ar_core::finding::Finding;
use ar_core::ledger::{conditional, get_json, get_n, get_s, get_s_opt, is_condition_failure, json, n, s};
use ar_core::plan::Plan;
use ar_core::Error;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::status::{ApprovalStatus, BatchStatus};
use crate::Combined;

/// Kept a week after the deadline, for the audit trail, then expired by DynamoDB's TTL.
const KEEP_AFTER_DEADLINE: u64 = 7 * 86400;

#[derive(Clone)]
pub struct ApprovalRecord {
    pub approval_id: String,
    /// The Step Functions task token: a secret, never printed.
    pub token: String,
    pub execution_arn: String,
    pub finding: Finding,
    pub plan: Plan,
    pub rule_title: String,
    pub offending: Vec<String>,
    pub approvers: Vec<String>,
    /// Epoch seconds.
    pub deadline: u64,
    pub status: ApprovalStatus,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
}

impl std::fmt::Debug for ApprovalRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApprovalRecord")
            .field("approval_id", &self.approval_id)
            .field("token", &"<redacted>")
            .field("execution_arn", &self.execution_arn)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

pub struct Store<'a> {
    pub client: &'a aws_sdk_dynamodb::Client,
    pub table: &'a str,
}

impl Store<'_> {
    /// Stores a pending approval. Re-storing the same pending id (a retried request) is fine;
    /// overwriting a decided one is not.
    pub async fn put(&self, r: &ApprovalRecord) -> Result<(), Error> {
        let result = self
            .client
            .put_item()
            .table_name(self.table)
            .item("approval_id", s(&r.approval_id))
            .item("token", s(&r.token))
            .item("execution_arn", s(&r.execution_arn))
            .item("finding", json(&r.finding))
            .item("plan", json(&r.plan))
            .item("rule_title", s(&r.rule_title))
            .item("offending", json(&r.offending))
            .item("approvers", json(&r.approvers))
            .item("deadline", n(r.deadline))
            .item("expires_at", n(r.deadline + KEEP_AFTER_DEADLINE))
            .item("status", s(ApprovalStatus::Pending.as_str()))
            .condition_expression("attribute_not_exists(approval_id) OR #s = :pending")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":pending", s(ApprovalStatus::Pending.as_str()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => {
                let err = Error::from_sdk("dynamodb:PutItem", e);
                if is_condition_failure(&err) {
                    Err(Error::InvalidInput(format!(
                        "approval {} was already decided",
                        r.approval_id
                    )))
                } else {
                    Err(err)
                }
            }
        }
    }

    pub async fn get(&self, approval_id: &str) -> Result<Option<ApprovalRecord>, Error> {
        let out = self
            .client
            .get_item()
            .table_name(self.table)
            .key("approval_id", s(approval_id))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| Error::from_sdk("dynamodb:GetItem", e))?;
        let Some(item) = out.item() else { return Ok(None) };
        if item.get("kind").and_then(|v| v.as_s().ok()).map(String::as_str) == Some("batch") {
            return Ok(None);
        }
        let deadline = get_n(item, "deadline")?;
        Ok(Some(ApprovalRecord {
            approval_id: get_s(item, "approval_id")?,
            token: get_s(item, "token")?,
            execution_arn: get_s(item, "execution_arn")?,
            finding: get_json(item, "finding")?,
            plan: get_json(item, "plan")?,
            rule_title: get_s(item, "rule_title")?,
            offending: get_json(item, "offending")?,
            approvers: get_json(item, "approvers")?,
            deadline,
            status: parse_status(&get_s(item, "status")?, ApprovalStatus::parse)?,
            decided_by: get_s_opt(item, "decided_by"),
            decided_at: get_s_opt(item, "decided_at"),
        }))
    }

    /// Records a decision if the approval is still pending and before its deadline: one decision
    /// per approval, whoever is first. Returns false when someone else decided first (or it expired).
    /// The record, with the removes the approver was shown, is what proves an approval to
    /// Remediate (`ar_core::approvals`), so it is written before the execution is resumed.
    pub async fn decide(
        &self,
        approval_id: &str,
        status: ApprovalStatus,
        approver: &str,
        at: &str,
        now: u64,
        removes: &[String],
    ) -> Result<bool, Error> {
        let result = self
            .client
            .update_item()
            .table_name(self.table)
            .key("approval_id", s(approval_id))
            .update_expression("SET #s = :status, decided_by = :who, decided_at = :at, approved_removes = :removes")
            .expression_attribute_values(":removes", json(&removes))
            .condition_expression("#s = :pending AND deadline > :now")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":status", s(status.as_str()))
            .expression_attribute_values(":who", s(approver))
            .expression_attribute_values(":at", s(at))
            .expression_attribute_values(":pending", s(ApprovalStatus::Pending.as_str()))
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        conditional(result.map_err(|e| Error::from_sdk("dynamodb:UpdateItem", e)))
    }

    /// Marks a pending approval expired (best effort, for the audit trail).
    pub async fn expire(&self, approval_id: &str) -> Result<(), Error> {
        self.client
            .update_item()
            .table_name(self.table)
            .key("approval_id", s(approval_id))
            .update_expression("SET #s = :expired")
            .condition_expression("#s = :pending")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":expired", s(ApprovalStatus::Expired.as_str()))
            .expression_attribute_values(":pending", s(ApprovalStatus::Pending.as_str()))
            .send()
            .await
            .map_err(|e| Error::from_sdk("dynamodb:UpdateItem", e))
            .map(|_| ())
            .or_else(|e| conditional::<()>(Err(e)).map(|_| ()))
    }

    /// Takes a decision back (the execution could not be resumed), if it is still this one's:
    /// the record then says `pending` again, never "approved" for something that was not.
    pub async fn undecide(&self, approval_id: &str, status: ApprovalStatus, approver: &str) -> Result<(), Error> {
        self.client
            .update_item()
            .table_name(self.table)
            .key("approval_id", s(approval_id))
            .update_expression("SET #s = :pending REMOVE decided_by, decided_at, approved_removes")
            .condition_expression("#s = :status AND decided_by = :who")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":pending", s(ApprovalStatus::Pending.as_str()))
            .expression_attribute_values(":status", s(status.as_str()))
            .expression_attribute_values(":who", s(approver))
            .send()
            .await
            .map_err(|e| Error::from_sdk("dynamodb:UpdateItem", e))
            .map(|_| ())
            .or_else(|e| conditional::<()>(Err(e)).map(|_| ()))
    }

    /// The batch a resource's approval requests last gathered in (it may have closed since).
    pub async fn open_batch_of(&self, resource: &str) -> Result<Option<String>, Error> {
        let item = self.item(&format!("open#{resource}")).await?;
        item.map(|i| get_s(&i, "batch_id")).transpose()
    }

    /// Adds `approval_id` to a batch that is still gathering, keeping it open until `until` (a
    /// scan still delivering findings keeps its batch open, up to the batch's `last_close`);
    /// false once it closed.
    pub async fn join(&self, batch_id: &str, approval_id: &str, until: u64) -> Result<bool, Error> {
        let add = |extend: bool| {
            let mut req = self
                .client
                .update_item()
                .table_name(self.table)
                .key("approval_id", s(batch_id))
                .expression_attribute_names("#s", "status")
                .expression_attribute_values(":m", AttributeValue::Ss(vec![approval_id.to_string()]))
                .expression_attribute_values(":open", s(BatchStatus::Open.as_str()));
            req = if extend {
                req.update_expression("ADD members :m SET closes_at = :until")
                    .condition_expression("#s = :open AND last_close >= :until AND closes_at < :until")
                    .expression_attribute_values(":until", n(until))
            } else {
                req.update_expression("ADD members :m")
                    .condition_expression("#s = :open")
            };
            req.send()
        };
        if conditional(add(true).await.map_err(|e| Error::from_sdk("dynamodb:UpdateItem", e)))? {
            return Ok(true);
        }
        // Not extended (at its cap, or already open longer): join as it is, if still open.
        conditional(add(false).await.map_err(|e| Error::from_sdk("dynamodb:UpdateItem", e)))
    }

    /// Opens a batch led by `leader` (kept if it exists: a retried leader), gathering until
    /// `closes_at` (extended by joiners up to `last_close`), and points the resource at it unless
    /// the resource points at another batch than `closed` (one seen closed): then false, join that.
    #[allow(clippy::too_many_arguments)]
    pub async fn open_batch(
        &self,
        batch_id: &str,
        resource: &str,
        leader: &str,
        closes_at: u64,
        last_close: u64,
        closed: Option<&str>,
    ) -> Result<bool, Error> {
        let put = self
            .client
            .put_item()
            .table_name(self.table)
            .item("approval_id", s(batch_id))
            .item("kind", s("batch"))
            .item("resource", s(resource))
            .item("members", AttributeValue::Ss(vec![leader.to_string()]))
            .item("status", s(BatchStatus::Open.as_str()))
            .item("closes_at", n(closes_at))
            .item("last_close", n(last_close))
            .item("expires_at", n(closes_at + 8 * 86400))
            .condition_expression("attribute_not_exists(approval_id)")
            .send()
            .await;
        conditional(put.map_err(|e| Error::from_sdk("dynamodb:PutItem", e)))?;
        let head = self
            .client
            .put_item()
            .table_name(self.table)
            .item("approval_id", s(format!("open#{resource}")))
            .item("batch_id", s(batch_id))
            .item("expires_at", n(last_close + 86400))
            .condition_expression("attribute_not_exists(approval_id) OR batch_id = :me OR batch_id = :closed")
            .expression_attribute_values(":me", s(batch_id))
            .expression_attribute_values(":closed", s(closed.unwrap_or(batch_id)))
            .send()
            .await;
        match head {
            Ok(_) => Ok(true),
            Err(e) => {
                let err = Error::from_sdk("dynamodb:PutItem", e);
                if !is_condition_failure(&err) {
                    return Err(err);
                }
                // Another leader's batch is open: ours gathered nobody (nothing pointed at it).
                self.client
                    .delete_item()
                    .table_name(self.table)
                    .key("approval_id", s(batch_id))
                    .send()
                    .await
                    .map_err(|e| Error::from_sdk("dynamodb:DeleteItem", e))?;
                Ok(false)
            }
        }
    }

    /// Stops a batch gathering once its (possibly extended) window has passed, and returns it;
    /// `Err(closes_at)` while joiners keep it open. Idempotent.
    pub async fn close_batch(&self, batch_id: &str, now: u64) -> Result<Result<Batch, u64>, Error> {
        let result = self
            .client
            .update_item()
            .table_name(self.table)
            .key("approval_id", s(batch_id))
            .update_expression("SET #s = :closed")
            .condition_expression("#s = :open AND closes_at <= :now")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":closed", s(BatchStatus::Closed.as_str()))
            .expression_attribute_values(":open", s(BatchStatus::Open.as_str()))
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        conditional(result.map_err(|e| Error::from_sdk("dynamodb:UpdateItem", e)))?;
        let batch = self.batch(batch_id).await?.ok_or_else(|| Error::Aws {
            operation: "dynamodb:GetItem",
            code: "CorruptApproval".into(),
            message: format!("batch {batch_id} vanished"),
        })?;
        Ok(if batch.status == BatchStatus::Open {
            Err(batch.closes_at)
        } else {
            Ok(batch)
        })
    }

    /// Records what the batch's e-mail shows before it is sent (`sending`: the pages serve it).
    pub async fn mark_sending(&self, batch_id: &str, combined: &Combined, deadline: u64) -> Result<(), Error> {
        self.client
            .update_item()
            .table_name(self.table)
            .key("approval_id", s(batch_id))
            .update_expression("SET #s = :sending, combined = :c, deadline = :d")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":sending", s(BatchStatus::Sending.as_str()))
            .expression_attribute_values(":c", json(combined))
            .expression_attribute_values(":d", n(deadline))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| Error::from_sdk("dynamodb:UpdateItem", e))
    }

    /// Records that every approver's e-mail went out (a retried leader sends nothing again).
    pub async fn mark_sent(&self, batch_id: &str) -> Result<(), Error> {
        self.client
            .update_item()
            .table_name(self.table)
            .key("approval_id", s(batch_id))
            .update_expression("SET #s = :sent")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":sent", s(BatchStatus::Sent.as_str()))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| Error::from_sdk("dynamodb:UpdateItem", e))
    }

    pub async fn batch(&self, batch_id: &str) -> Result<Option<Batch>, Error> {
        let Some(item) = self.item(batch_id).await? else {
            return Ok(None);
        };
        if get_s_opt(&item, "kind").as_deref() != Some("batch") {
            return Ok(None);
        }
        let mut members = item
            .get("members")
            .and_then(|v| v.as_ss().ok())
            .cloned()
            .unwrap_or_default();
        members.sort();
        Ok(Some(Batch {
            batch_id: batch_id.to_string(),
            members,
            status: parse_status(&get_s(&item, "status")?, BatchStatus::parse)?,
            closes_at: get_n(&item, "closes_at")?,
            deadline: get_n(&item, "deadline").ok(),
            combined: get_json(&item, "combined").ok(),
        }))
    }

    /// A batch's member records, by rule id (a member whose record expired is left out).
    pub async fn members(&self, batch: &Batch) -> Result<Vec<ApprovalRecord>, Error> {
        let mut records = Vec::new();
        for id in &batch.members {
            if let Some(r) = self.get(id).await? {
                records.push(r);
            }
        }
        records.sort_by(|a, b| a.finding.rule_id.cmp(&b.finding.rule_id));
        Ok(records)
    }

    async fn item(&self, key: &str) -> Result<Option<HashMap<String, AttributeValue>>, Error> {
        let out = self
            .client
            .get_item()
            .table_name(self.table)
            .key("approval_id", s(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| Error::from_sdk("dynamodb:GetItem", e))?;
        Ok(out.item().cloned())
    }
}

/// A stored status word, or the named error for a word no version of this code writes.
fn parse_status<T>(word: &str, parse: fn(&str) -> Option<T>) -> Result<T, Error> {
    parse(word).ok_or_else(|| Error::Aws {
        operation: "dynamodb:GetItem",
        code: "CorruptApproval".into(),
        message: format!("unknown approval status {word:?}"),
    })
}

/// Findings on one resource that wait for approval at the same time, shown to the approver
/// together: one e-mail, one page, one decision recorded on each member's execution.
#[derive(Debug, Clone)]
pub struct Batch {
    pub batch_id: String,
    /// Member approval ids (sorted).
    pub members: Vec<String>,
    pub status: BatchStatus,
    pub closes_at: u64,
    /// Set once sent: the earliest deadline of its members (no link outlives any member's task).
    pub deadline: Option<u64>,
    pub combined: Option<Combined>,
}
