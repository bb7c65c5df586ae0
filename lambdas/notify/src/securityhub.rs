//! Updates back to Security Hub (issue 20): once the runs of one Security Hub finding have all
//! ended, the finding gets one `BatchUpdateFindings` call.
//!
//! One finding (one event) becomes one run per catalog rule its control maps to
//! (`catalog/sources.json`): the runs are siblings. Each sibling's Notify records its end in the
//! state table, on the item `source#<digest>` of that finding event (the finding's `Id`,
//! `ProductArn`, account and `UpdatedAt`: a re-raised finding is a new group), one attribute per
//! rule (`end#<rule>`), with an atomic `UpdateItem` returning the whole item. The sibling whose
//! write completes the set decides: it claims the decision with a conditional write of the set's
//! signature (`decided`), so a redelivered or retried Notify that sees the same set finds it
//! claimed and sends nothing, while concurrent ends are ordered by DynamoDB (only the last sees
//! every end). A call that fails gives the claim back, so a retry can make it.
//!
//! The decision: `Workflow.Status` RESOLVED with a note naming the execution(s) only when every
//! rule the control maps to ended `Healed` or `AlreadyCompliant`; otherwise (a rejection, a
//! failure, a dry run, a rule the config turns off or the catalog does not hold) a note only,
//! naming each rule's end, and the workflow is left as it is. Conformity and AWS Config findings,
//! and undo runs, get no call.
//!
//! The call goes to the Security Hub of the finding's region (its `ProductArn`'s) in the account
//! that runs auto-remediate, the administrator account, which names member findings by
//! `FindingIdentifiers` (`Id` + `ProductArn`): no member role is assumed.

use std::collections::BTreeMap;

use ar_core::catalog::sources::sources;
use ar_core::deps::Deps;
use ar_core::finding::Finding;
use ar_core::ids::{is_region_name, Arn};
use ar_core::ledger::{conditional, n, now_epoch, s, Ledger};
use ar_core::outcome::EndState;
use ar_core::spec::Mode;
use ar_core::Error;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The IAM actions of the update back (granted in Terraform only when `subscribe_security_hub`
/// is on; the state table write is the sibling record).
pub const ACTIONS: &[&str] = &["securityhub:BatchUpdateFindings", "dynamodb:UpdateItem"];

/// Security Hub's limit on a note's text.
pub const NOTE_MAX: usize = 512;
/// Who the note says updated the finding.
pub const UPDATED_BY: &str = "auto-remediate";
/// Sibling records expire with the run records (90 days).
const KEEP_SECONDS: u64 = 90 * 86400;

/// What the update back did, at `$.notification.source_update`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SourceUpdate {
    /// `resolved` (Workflow RESOLVED and a note), `noted` (a note only), `waiting` (siblings
    /// still running), `already-decided` (a redelivery), `failed` (the call did not go through).
    pub action: String,
    pub detail: String,
}

/// One sibling's end, as recorded.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct End {
    pub outcome: String,
    /// The execution's name.
    pub execution: String,
}

/// What the siblings' ends decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Some started sibling has not ended yet.
    Wait { ended: usize, of: usize },
    /// Every rule healed or was already compliant: RESOLVED, with this note.
    Resolve(String),
    /// Something did not heal: this note only.
    Note(String),
}

/// Whether an end counts towards resolving the finding.
pub fn resolves(outcome: &str) -> bool {
    matches!(outcome, "Healed" | "AlreadyCompliant")
}

/// The decision for a control (`control`) on `resource`: `mapped` is every rule the control maps
/// to, `started` those that run here (in the catalog, not off), `ends` the recorded ends by rule.
pub fn decide(
    control: &str,
    resource: &str,
    mapped: &[String],
    started: &[String],
    ends: &BTreeMap<String, End>,
) -> Decision {
    let ended = started.iter().filter(|r| ends.contains_key(*r)).count();
    if ended < started.len() {
        return Decision::Wait {
            ended,
            of: started.len(),
        };
    }
    let not_run: Vec<&String> = mapped.iter().filter(|r| !started.contains(r)).collect();
    let all_good = not_run.is_empty() && started.iter().all(|r| resolves(&ends[r].outcome));
    if all_good {
        let healed: Vec<String> = started
            .iter()
            .filter(|r| ends[*r].outcome == "Healed")
            .map(|r| format!("{r} by execution {}", ends[r].execution))
            .collect();
        let compliant: Vec<&str> = started
            .iter()
            .filter(|r| ends[*r].outcome == "AlreadyCompliant")
            .map(String::as_str)
            .collect();
        let mut note = format!("auto-remediate resolved {control} on {resource}:");
        if !healed.is_empty() {
            note.push_str(&format!(" healed {}.", healed.join(", ")));
        }
        if !compliant.is_empty() {
            let executions: Vec<&str> = started
                .iter()
                .filter(|r| ends[*r].outcome == "AlreadyCompliant")
                .map(|r| ends[r].execution.as_str())
                .collect();
            note.push_str(&format!(
                " Already compliant: {} (executions {}).",
                compliant.join(", "),
                executions.join(", ")
            ));
        }
        return Decision::Resolve(fit(note));
    }
    // The ends that did not heal first: they are what a reader needs.
    let mut parts: Vec<String> = started
        .iter()
        .filter(|r| !resolves(&ends[*r].outcome))
        .map(|r| format!("{r} {} (execution {})", ends[r].outcome, ends[r].execution))
        .collect();
    parts.extend(
        not_run
            .iter()
            .map(|r| format!("{r} not run (off in the config or not in the catalog)")),
    );
    parts.extend(
        started
            .iter()
            .filter(|r| resolves(&ends[*r].outcome))
            .map(|r| format!("{r} {} (execution {})", ends[r].outcome, ends[r].execution)),
    );
    Decision::Note(fit(format!(
        "auto-remediate did not resolve {control} on {resource}: {}.",
        parts.join("; ")
    )))
}

/// A note within Security Hub's limit, cut on a character boundary.
fn fit(text: String) -> String {
    if text.chars().count() <= NOTE_MAX {
        return text;
    }
    let mut out: String = text.chars().take(NOTE_MAX - 3).collect();
    out.push_str("...");
    out
}

/// The finding's Security Hub region: its `ProductArn`'s (`arn:<p>:securityhub:<region>::product/…`),
/// else the region it reported.
pub fn hub_region(finding: &Finding) -> String {
    finding
        .source_ids
        .get("ProductArn")
        .and_then(|arn| Arn::parse(arn))
        .map(|arn| arn.region)
        .filter(|r| !r.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| {
            if is_region_name(&finding.reported_region) {
                finding.reported_region.clone()
            } else {
                finding.region.clone()
            }
        })
}

/// The sibling group of a finding event: the same for each rule's run of one event.
pub fn group_key(finding: &Finding) -> String {
    let mut h = Sha256::new();
    for part in [
        finding.source.as_str(),
        finding.account_id.as_str(),
        finding.source_ids.get("ProductArn").map_or("", String::as_str),
        finding.source_ids.get("Id").map_or("", String::as_str),
    ] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    h.update(finding.stamp().unwrap_or(0).to_be_bytes());
    format!("source#{}", hex::encode(&h.finalize()[..16]))
}

/// A signature of the ends a decision is made on: a second decision on the same ends is a
/// redelivery; on other ends (a rule's run retried since) a new decision.
fn signature(ends: &BTreeMap<String, End>) -> String {
    let mut h = Sha256::new();
    for (rule, end) in ends {
        for part in [rule, &end.outcome, &end.execution] {
            h.update(part.as_bytes());
            h.update([0u8]);
        }
    }
    hex::encode(&h.finalize()[..12])
}

/// The update back for a run that ended in `end`; `None` when the finding is not a Security Hub
/// one (no call is made).
pub async fn update(deps: &Deps, end: &EndState, execution: &str, finding: &Finding) -> Option<SourceUpdate> {
    if finding.source != "securityhub" || finding.undo.is_some() {
        return None;
    }
    let (Some(id), Some(product), Some(control)) = (
        finding.source_ids.get("Id"),
        finding.source_ids.get("ProductArn"),
        finding.source_ids.get("control"),
    ) else {
        return Some(SourceUpdate {
            action: "failed".into(),
            detail: "the finding carries no Id, ProductArn and control to update it by".into(),
        });
    };
    let result = async {
        let mapped = sources()
            .control(control)
            .map(|m| m.rules.clone())
            .unwrap_or_else(|| vec![finding.rule_id.clone()]);
        let started: Vec<String> = mapped
            .iter()
            .filter(|r| deps.catalog.get(r).is_some() && deps.settings.config.mode_for(r, deps.catalog) != Mode::Off)
            .cloned()
            .collect();
        let ledger = deps.ledger()?;
        let key = group_key(finding);
        let this = End {
            outcome: end.name.to_string(),
            execution: execution.to_string(),
        };
        let ends = record_end(&ledger, &key, &finding.rule_id, &this).await?;
        let decision = decide(control, &finding.resource, &mapped, &started, &ends);
        let (resolve, note) = match decision {
            Decision::Wait { ended, of } => {
                return Ok(SourceUpdate {
                    action: "waiting".into(),
                    detail: format!("{ended} of the {of} runs of {control} on this finding have ended"),
                })
            }
            Decision::Resolve(note) => (true, note),
            Decision::Note(note) => (false, note),
        };
        let sig = signature(&ends);
        if !claim(&ledger, &key, &sig).await? {
            return Ok(SourceUpdate {
                action: "already-decided".into(),
                detail: "another Notify of these ends made the update".into(),
            });
        }
        match batch_update(deps, &hub_region(finding), id, product, resolve, &note).await {
            Ok(()) => Ok(SourceUpdate {
                action: if resolve { "resolved" } else { "noted" }.into(),
                detail: note,
            }),
            Err(e) => {
                // Given back, so that a retry (or a redelivery) can make the call.
                if let Err(r) = unclaim(&ledger, &key, &sig).await {
                    tracing::warn!(error = r.name(), message = %r, "source update claim not released");
                }
                Err(e)
            }
        }
    }
    .await;
    Some(result.unwrap_or_else(|e: Error| {
        tracing::warn!(error = e.name(), message = %e, "Security Hub finding not updated");
        SourceUpdate {
            action: "failed".into(),
            detail: format!("{}: {e}", e.name()),
        }
    }))
}

/// Records this rule's end on the group's item and returns every end recorded (atomic).
async fn record_end(ledger: &Ledger, key: &str, rule: &str, end: &End) -> Result<BTreeMap<String, End>, Error> {
    let out = ledger
        .client
        .update_item()
        .table_name(&ledger.table)
        .key("pk", s(key))
        .update_expression("SET #end = :end, expires_at = :exp")
        .expression_attribute_names("#end", format!("end#{rule}"))
        .expression_attribute_values(":end", s(serde_json::to_string(end).expect("serializable")))
        .expression_attribute_values(":exp", n(now_epoch() + KEEP_SECONDS))
        .return_values(ReturnValue::AllNew)
        .send()
        .await
        .map_err(|e| Error::from_sdk("dynamodb:UpdateItem", e))?;
    Ok(ends_of(out.attributes().cloned().unwrap_or_default()))
}

fn ends_of(item: std::collections::HashMap<String, AttributeValue>) -> BTreeMap<String, End> {
    item.into_iter()
        .filter_map(|(k, v)| {
            let rule = k.strip_prefix("end#")?.to_string();
            let end = serde_json::from_str(v.as_s().ok()?).ok()?;
            Some((rule, end))
        })
        .collect()
}

/// Claims the decision on these ends: false when it was already claimed for them.
async fn claim(ledger: &Ledger, key: &str, sig: &str) -> Result<bool, Error> {
    let result = ledger
        .client
        .update_item()
        .table_name(&ledger.table)
        .key("pk", s(key))
        .update_expression("SET decided = :sig")
        .condition_expression("attribute_exists(pk) AND (attribute_not_exists(decided) OR decided <> :sig)")
        .expression_attribute_values(":sig", s(sig))
        .send()
        .await
        .map_err(|e| Error::from_sdk("dynamodb:UpdateItem", e));
    conditional(result)
}

async fn unclaim(ledger: &Ledger, key: &str, sig: &str) -> Result<(), Error> {
    let result = ledger
        .client
        .update_item()
        .table_name(&ledger.table)
        .key("pk", s(key))
        .update_expression("REMOVE decided")
        .condition_expression("decided = :sig")
        .expression_attribute_values(":sig", s(sig))
        .send()
        .await
        .map_err(|e| Error::from_sdk("dynamodb:UpdateItem", e));
    // Not ours any more (another decision claimed these ends since): nothing to give back.
    conditional(result).map(|_| ())
}

/// `BatchUpdateFindings` on one finding: a note, and RESOLVED when `resolve`.
async fn batch_update(
    deps: &Deps,
    region: &str,
    id: &str,
    product: &str,
    resolve: bool,
    note: &str,
) -> Result<(), Error> {
    use aws_sdk_securityhub::types::{AwsSecurityFindingIdentifier, NoteUpdate, WorkflowStatus, WorkflowUpdate};
    let conf = aws_sdk_securityhub::config::Builder::from(deps.aws.sdk_config())
        .region(aws_sdk_securityhub::config::Region::new(region.to_string()))
        .build();
    let client = aws_sdk_securityhub::Client::from_conf(conf);
    let mut call = client
        .batch_update_findings()
        .finding_identifiers(
            AwsSecurityFindingIdentifier::builder()
                .id(id)
                .product_arn(product)
                .build(),
        )
        .note(NoteUpdate::builder().text(note).updated_by(UPDATED_BY).build());
    if resolve {
        call = call.workflow(WorkflowUpdate::builder().status(WorkflowStatus::Resolved).build());
    }
    let out = call
        .send()
        .await
        .map_err(|e| Error::from_sdk("securityhub:BatchUpdateFindings", e))?;
    if let Some(u) = out.unprocessed_findings().first() {
        return Err(Error::Aws {
            operation: "securityhub:BatchUpdateFindings",
            code: u.error_code().unwrap_or("Unprocessed").to_string(),
            message: u.error_message().unwrap_or_default().to_string(),
        });
    }
    tracing::info!(resolve, region, "Security Hub finding updated");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(r: &[&str]) -> Vec<String> {
        r.iter().map(|s| s.to_string()).collect()
    }

    fn ends(e: &[(&str, &str)]) -> BTreeMap<String, End> {
        e.iter()
            .map(|(r, o)| {
                (
                    r.to_string(),
                    End {
                        outcome: o.to_string(),
                        execution: format!("{r}-b-0123456789abcdef01234567"),
                    },
                )
            })
            .collect()
    }

    #[test]
    fn the_handler_declares_the_update_backs_actions() {
        for a in ACTIONS {
            assert!(crate::ACTIONS.contains(a), "{a} not in ar_notify::ACTIONS");
        }
    }

    const S3_2: &[&str] = &["S3-001", "S3-005", "S3-006", "S3-010", "S3-014"];

    #[test]
    fn the_finding_is_resolved_only_once_every_mapped_rule_healed_or_was_compliant() {
        let mapped = rules(S3_2);
        let mut e = ends(&[
            ("S3-001", "Healed"),
            ("S3-005", "AlreadyCompliant"),
            ("S3-006", "AlreadyCompliant"),
            ("S3-010", "AlreadyCompliant"),
        ]);
        assert_eq!(
            decide("S3.2", "b", &mapped, &mapped, &e),
            Decision::Wait { ended: 4, of: 5 }
        );
        e.extend(ends(&[("S3-014", "AlreadyCompliant")]));
        let Decision::Resolve(note) = decide("S3.2", "b", &mapped, &mapped, &e) else {
            panic!("not resolved")
        };
        assert!(
            note.starts_with(
                "auto-remediate resolved S3.2 on b: healed S3-001 by execution S3-001-b-0123456789abcdef01234567."
            ),
            "{note}"
        );
        assert!(
            note.contains("Already compliant: S3-005, S3-006, S3-010, S3-014"),
            "{note}"
        );
        assert!(note.chars().count() <= NOTE_MAX);
    }

    #[test]
    fn a_failure_a_dry_run_or_a_rule_left_out_gives_a_note_only() {
        let mapped = rules(S3_2);
        for bad in [
            "DryRunComplete",
            "ApprovalRejected",
            "RemediationFailed",
            "ResourceGone",
        ] {
            let e = ends(&[
                ("S3-001", bad),
                ("S3-005", "AlreadyCompliant"),
                ("S3-006", "AlreadyCompliant"),
                ("S3-010", "AlreadyCompliant"),
                ("S3-014", "Healed"),
            ]);
            let Decision::Note(note) = decide("S3.2", "b", &mapped, &mapped, &e) else {
                panic!("{bad} resolved the finding")
            };
            assert!(
                note.starts_with(&format!(
                    "auto-remediate did not resolve S3.2 on b: S3-001 {bad} (execution S3-001-b-"
                )),
                "{note}"
            );
        }
        // S3-014 off in the config: the others healing is not the control passing.
        let started = rules(&S3_2[..4]);
        let e = ends(&[
            ("S3-001", "Healed"),
            ("S3-005", "AlreadyCompliant"),
            ("S3-006", "AlreadyCompliant"),
            ("S3-010", "AlreadyCompliant"),
        ]);
        let Decision::Note(note) = decide("S3.2", "b", &mapped, &started, &e) else {
            panic!("resolved with a rule left out")
        };
        assert!(note.contains("S3-014 not run"), "{note}");
    }

    #[test]
    fn notes_fit_security_hub_whatever_the_names() {
        let mapped = rules(S3_2);
        let mut e = ends(&[]);
        for r in S3_2 {
            e.insert(
                r.to_string(),
                End {
                    outcome: "RemediationFailed".into(),
                    execution: "x".repeat(80),
                },
            );
        }
        let Decision::Note(note) = decide("S3.2", &"é".repeat(300), &mapped, &mapped, &e) else {
            panic!()
        };
        assert_eq!(note.chars().count(), NOTE_MAX);
        assert!(note.ends_with("..."));
    }

    fn finding(updated: u64) -> Finding {
        serde_json::from_value(serde_json::json!({
            "source": "securityhub", "check_id": "arn:aws:securityhub:eu-west-1:123456789012:subscription/x/S3.2/finding/f1",
            "rule_id": "S3-001", "service": "S3", "status": "FAILURE", "account_id": "123456789012",
            "region": "us-east-1", "reported_region": "eu-west-1", "resource": "b", "discovered_at_ms": updated,
            "source_ids": {"Id": "arn:aws:securityhub:eu-west-1:123456789012:subscription/x/S3.2/finding/f1",
                           "ProductArn": "arn:aws:securityhub:eu-west-1::product/aws/securityhub", "control": "S3.2"}
        }))
        .unwrap()
    }

    #[test]
    fn siblings_share_a_group_a_re_raised_finding_does_not_and_the_hub_is_the_findings_region() {
        let a = finding(1);
        let mut sibling = finding(1);
        sibling.rule_id = "S3-005".into();
        assert_eq!(group_key(&a), group_key(&sibling));
        assert_ne!(group_key(&a), group_key(&finding(2)));
        assert_eq!(hub_region(&a), "eu-west-1");
        let e1 = ends(&[("S3-001", "Healed")]);
        let mut e2 = e1.clone();
        e2.get_mut("S3-001").unwrap().execution.push('x');
        assert_eq!(signature(&e1), signature(&e1.clone()));
        assert_ne!(signature(&e1), signature(&e2));
    }
}
