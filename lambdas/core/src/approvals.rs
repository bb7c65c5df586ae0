//! The proof of an approval: the approval store's record, not the task's output.
//!
//! The callback (lambdas/approval) resumes an execution with `SendTaskSuccess` only after it
//! checked the link's signature and recorded the decision on the approval's record with a
//! conditional write (`status` pending → approved, `decided_by`, `approved_removes`). The task
//! token, though, is visible to anyone who may read the execution's history, and IAM cannot
//! scope `states:SendTaskSuccess` to one token: so the output of the approval task is a claim,
//! and Remediate acts on an approve decision only when that record proves it ([`prove`]): this
//! execution's record, decided `approved`, by that approver, for exactly those removes. Anything
//! else is [`Error::ApprovalBypass`]: nothing is read or written in the member account, the
//! attempt is logged and counted (`AutoRemediate/ApprovalBypass`).

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;

use crate::ledger::{get_json, get_s, get_s_opt};
use crate::state::{ApprovalDecision, ApprovalStatus};
use crate::Error;

/// What the approval store says about one approval, as far as the proof needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub execution_arn: String,
    pub status: String,
    pub decided_by: Option<String>,
    /// Recorded with the decision (absent on a record decided before this field existed).
    pub approved_removes: Option<Vec<String>>,
}

impl Recorded {
    /// An approval's record; `None` for the table's other items (a batch, a resource's pointer).
    fn from_item(item: &HashMap<String, AttributeValue>) -> Result<Option<Recorded>, Error> {
        if get_s_opt(item, "kind").is_some() || !item.contains_key("token") {
            return Ok(None);
        }
        Ok(Some(Recorded {
            execution_arn: get_s(item, "execution_arn")?,
            status: get_s(item, "status")?,
            decided_by: get_s_opt(item, "decided_by"),
            approved_removes: item
                .contains_key("approved_removes")
                .then(|| get_json(item, "approved_removes"))
                .transpose()?,
        }))
    }
}

/// Why a claimed approval is not proven, or the removes it proves (the record's, never the claim's).
pub fn check(claim: &ApprovalDecision, execution: &str, record: Option<&Recorded>) -> Result<Vec<String>, String> {
    let Some(r) = record else {
        return Err(format!("no approval {} is recorded", claim.approval_id));
    };
    if r.execution_arn != execution {
        return Err(format!(
            "approval {} belongs to another execution ({})",
            claim.approval_id,
            crate::state::execution_name(&r.execution_arn)
        ));
    }
    if r.status != ApprovalStatus::Approved.as_str() {
        return Err(format!(
            "approval {} is recorded as {}, not approved",
            claim.approval_id, r.status
        ));
    }
    if r.decided_by.as_deref() != Some(claim.approver.as_str()) {
        return Err(format!(
            "approval {} was not decided by the approver the task output names",
            claim.approval_id
        ));
    }
    let Some(removes) = &r.approved_removes else {
        return Err(format!("approval {} records no approved removes", claim.approval_id));
    };
    let as_set = |v: &[String]| v.iter().cloned().collect::<BTreeSet<_>>();
    if !claim.approved_removes.is_empty() && as_set(&claim.approved_removes) != as_set(removes) {
        return Err(format!(
            "the task output's approved removes differ from those approval {} records",
            claim.approval_id
        ));
    }
    Ok(removes.clone())
}

/// The removes the approval store proves for `claim` on `execution`, or [`Error::ApprovalBypass`]
/// (logged, counted). A consistent read: the callback records before it resumes the execution.
pub async fn prove(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    claim: &ApprovalDecision,
    execution: &str,
) -> Result<Vec<String>, Error> {
    let out = client
        .get_item()
        .table_name(table)
        .key("approval_id", AttributeValue::S(claim.approval_id.clone()))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| Error::from_sdk("dynamodb:GetItem", e))?;
    let record = out.item().map(Recorded::from_item).transpose()?.flatten();
    check(claim, execution, record.as_ref()).map_err(|why| {
        tracing::warn!(
            execution = crate::state::execution_name(execution),
            approval_id = claim.approval_id,
            why,
            "an approve decision the approval store does not prove: attempted bypass of the approval gate"
        );
        crate::metrics::event(crate::metrics::APPROVAL_BYPASS, &[]);
        Error::ApprovalBypass(format!(
            "{why}: the approve decision did not come from the approval pages, so nothing was changed"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim() -> ApprovalDecision {
        ApprovalDecision {
            decision: ApprovalStatus::Approved.as_str().into(),
            approver: "alice@example.com".into(),
            decided_at: "2026-12-05T10:00:00Z".into(),
            approval_id: "a1".into(),
            batch_id: None,
            approved_removes: vec!["tcp 22 from 0.0.0.0/0".into()],
        }
    }

    fn record() -> Recorded {
        Recorded {
            execution_arn: "arn:aws:states:us-east-1:1:execution:sm:run".into(),
            status: ApprovalStatus::Approved.as_str().into(),
            decided_by: Some("alice@example.com".into()),
            approved_removes: Some(vec!["tcp 22 from 0.0.0.0/0".into()]),
        }
    }

    const RUN: &str = "arn:aws:states:us-east-1:1:execution:sm:run";

    #[test]
    fn an_approval_is_proven_only_by_its_own_decided_record() {
        assert_eq!(
            check(&claim(), RUN, Some(&record())).unwrap(),
            vec!["tcp 22 from 0.0.0.0/0"]
        );
        let cases: Vec<(&str, Option<Recorded>, &str)> = vec![
            ("no record", None, "no approval a1 is recorded"),
            (
                "still pending (token taken from the history)",
                Some(Recorded {
                    status: ApprovalStatus::Pending.as_str().into(),
                    decided_by: None,
                    approved_removes: None,
                    ..record()
                }),
                "recorded as pending",
            ),
            (
                "rejected by the approver",
                Some(Recorded {
                    status: ApprovalStatus::Rejected.as_str().into(),
                    ..record()
                }),
                "recorded as rejected",
            ),
            (
                "another execution's approval",
                Some(Recorded {
                    execution_arn: "arn:aws:states:us-east-1:1:execution:sm:other".into(),
                    ..record()
                }),
                "another execution (other)",
            ),
            (
                "another approver",
                Some(Recorded {
                    decided_by: Some("mallory@example.com".into()),
                    ..record()
                }),
                "not decided by the approver",
            ),
            (
                "more removes than approved",
                Some(Recorded {
                    approved_removes: Some(vec!["x".into()]),
                    ..record()
                }),
                "differ",
            ),
            (
                "no removes recorded",
                Some(Recorded {
                    approved_removes: None,
                    ..record()
                }),
                "records no approved removes",
            ),
        ];
        for (what, rec, why) in cases {
            let err = check(&claim(), RUN, rec.as_ref()).unwrap_err();
            assert!(err.contains(why), "{what}: {err}");
        }
    }

    #[test]
    fn the_removes_acted_on_are_the_records_even_when_the_claim_names_none() {
        let mut c = claim();
        c.approved_removes.clear();
        assert_eq!(check(&c, RUN, Some(&record())).unwrap(), vec!["tcp 22 from 0.0.0.0/0"]);
    }

    #[test]
    fn a_record_item_reads_back_with_or_without_its_decision_and_a_batch_is_no_record() {
        let mut item = HashMap::from([
            ("execution_arn".to_string(), AttributeValue::S(RUN.into())),
            (
                "status".to_string(),
                AttributeValue::S(ApprovalStatus::Pending.as_str().into()),
            ),
            ("token".to_string(), AttributeValue::S("secret".into())),
        ]);
        let r = Recorded::from_item(&item).unwrap().unwrap();
        assert_eq!((r.decided_by, r.approved_removes), (None, None));
        item.insert("decided_by".into(), AttributeValue::S("alice@example.com".into()));
        item.insert("approved_removes".into(), AttributeValue::S(r#"["a","b"]"#.into()));
        let r = Recorded::from_item(&item).unwrap().unwrap();
        assert_eq!(r.approved_removes, Some(vec!["a".to_string(), "b".to_string()]));
        let batch = HashMap::from([
            ("kind".to_string(), AttributeValue::S("batch".into())),
            ("status".to_string(), AttributeValue::S("sent".into())),
        ]);
        assert_eq!(Recorded::from_item(&batch).unwrap(), None);
    }
}
