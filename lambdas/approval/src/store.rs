//! Pending approvals in DynamoDB: approval id → task token, execution, finding, plan, deadline,
//! status. The task token lives only here (never in a link, a log or an e-mail). Items carry a TTL
//! attribute (`expires_at`) so DynamoDB removes them a week after their deadline.

use std::collections::HashMap;

use ar_core::finding::Finding;
use ar_core::plan::Plan;
use ar_core::Error;
use aws_sdk_dynamodb::types::AttributeValue;

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
    /// `pending`, `approved`, `rejected`, `already-compliant` or `expired`.
    pub status: String,
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

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn json<T: serde::Serialize>(v: &T) -> AttributeValue {
    AttributeValue::S(serde_json::to_string(v).expect("serializable"))
}

fn get_s(item: &HashMap<String, AttributeValue>, k: &str) -> Result<String, Error> {
    item.get(k)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .ok_or_else(|| Error::Aws {
            operation: "dynamodb:GetItem",
            code: "CorruptApproval".into(),
            message: format!("approval item has no {k}"),
        })
}

fn get_json<T: serde::de::DeserializeOwned>(item: &HashMap<String, AttributeValue>, k: &str) -> Result<T, Error> {
    serde_json::from_str(&get_s(item, k)?).map_err(|e| Error::Aws {
        operation: "dynamodb:GetItem",
        code: "CorruptApproval".into(),
        message: format!("approval item {k}: {e}"),
    })
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
            .item("status", s("pending"))
            .condition_expression("attribute_not_exists(approval_id) OR #s = :pending")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":pending", s("pending"))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => {
                let err = Error::from_sdk("dynamodb:PutItem", e);
                if err.aws_code() == Some("ConditionalCheckFailedException") {
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
        let deadline = get_s_or_n(item, "deadline")?;
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
            status: get_s(item, "status")?,
            decided_by: get_s(item, "decided_by").ok(),
            decided_at: get_s(item, "decided_at").ok(),
        }))
    }

    /// Records a decision if the approval is still pending and before its deadline: one decision
    /// per approval, whoever is first. Returns false when someone else decided first (or it expired).
    pub async fn decide(
        &self,
        approval_id: &str,
        status: &str,
        approver: &str,
        at: &str,
        now: u64,
    ) -> Result<bool, Error> {
        let result = self
            .client
            .update_item()
            .table_name(self.table)
            .key("approval_id", s(approval_id))
            .update_expression("SET #s = :status, decided_by = :who, decided_at = :at")
            .condition_expression("#s = :pending AND deadline > :now")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":status", s(status))
            .expression_attribute_values(":who", s(approver))
            .expression_attribute_values(":at", s(at))
            .expression_attribute_values(":pending", s("pending"))
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) => {
                let err = Error::from_sdk("dynamodb:UpdateItem", e);
                if err.aws_code() == Some("ConditionalCheckFailedException") {
                    Ok(false)
                } else {
                    Err(err)
                }
            }
        }
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
            .expression_attribute_values(":expired", s("expired"))
            .expression_attribute_values(":pending", s("pending"))
            .send()
            .await
            .map(|_| ())
            .or_else(|e| {
                let err = Error::from_sdk("dynamodb:UpdateItem", e);
                if err.aws_code() == Some("ConditionalCheckFailedException") {
                    Ok(())
                } else {
                    Err(err)
                }
            })
    }
}

fn get_s_or_n(item: &HashMap<String, AttributeValue>, k: &str) -> Result<u64, Error> {
    item.get(k)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| Error::Aws {
            operation: "dynamodb:GetItem",
            code: "CorruptApproval".into(),
            message: format!("approval item has no numeric {k}"),
        })
}
