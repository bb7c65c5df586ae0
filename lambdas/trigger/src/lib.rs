//! Trigger: SNS delivery → validated finding → one Step Functions execution per failure of a check.
//!
//! Each check has generations, kept in the ledger (`check#<key>`): a delivery while the check's
//! execution runs starts nothing (three deliveries of one message start one execution); a
//! delivery after it ended starts the next generation (a re-raised finding is healed again, and a
//! failed run can be retried by a later delivery), except a repeat of the very failure an
//! execution already handled successfully (same discovery time). The execution name is derived
//! from the check and its generation, so a trigger that dies between recording the generation and
//! starting it is completed by the next delivery. A malformed or hostile message ends here with a
//! named error and starts nothing; a `SUCCESS` check is acknowledged and ignored.

use ar_core::deps::Deps;
use ar_core::finding::{parse_conformity, Finding, Intake};
use ar_core::ledger::CheckRecord;
use ar_core::Error;
use serde::Serialize;
use serde_json::Value;

/// The IAM actions this handler's own calls need, besides its rules' (starts one execution per failure of a check; reads and advances the check's generation in the ledger).
pub const ACTIONS: &[&str] = &[
    "states:StartExecution",
    "states:DescribeExecution",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
];
/// What this handler does with the rules' resources.
pub const RULE_ACCESS: ar_core::rules::family::RuleAccess = ar_core::rules::family::RuleAccess::None;

/// What happened to one SNS record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum RecordResult {
    Started {
        execution_name: String,
        execution_arn: String,
        rule_id: String,
        resource: String,
        generation: u64,
    },
    /// A duplicate: this check's execution is running (or was just started by another delivery).
    AlreadyStarted {
        execution_name: String,
    },
    /// A repeat of a failure an execution already handled successfully.
    AlreadyHandled {
        execution_name: String,
        reason: String,
    },
    Ignored {
        rule_id: String,
        reason: String,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct TriggerOutput {
    pub records: Vec<RecordResult>,
}

/// The SNS `Message` strings of a Lambda SNS event.
pub fn sns_messages(event: &Value) -> Result<Vec<&str>, Error> {
    let records = event
        .get("Records")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::InvalidEnvelope("no `Records` array".into()))?;
    if records.is_empty() {
        return Err(Error::InvalidEnvelope("`Records` is empty".into()));
    }
    records
        .iter()
        .map(|r| {
            r.get("Sns")
                .and_then(|s| s.get("Message"))
                .and_then(Value::as_str)
                .ok_or_else(|| Error::InvalidEnvelope("a record without `Sns.Message` text".into()))
        })
        .collect()
}

pub async fn handle(deps: &Deps, event: Value) -> Result<TriggerOutput, Error> {
    let state_machine = deps
        .settings
        .state_machine_arn
        .as_deref()
        .ok_or_else(|| Error::ConfigInvalid("STATE_MACHINE_ARN is not set".into()))?;
    let mut out = Vec::new();
    for message in sns_messages(&event)? {
        let finding = match parse_conformity(message, deps.catalog, &deps.settings.region)? {
            Intake::Ignored { rule_id, reason } => {
                ar_core::logs::record(None, Some(&rule_id), None);
                tracing::info!(rule_id, reason, "ignored");
                out.push(RecordResult::Ignored { rule_id, reason });
                continue;
            }
            Intake::Failure(finding) => finding,
        };
        // SNS gives a Lambda one record per invocation: the invocation is this finding's.
        ar_core::logs::record(None, Some(&finding.rule_id), Some(&finding.resource));
        // A finding for an account this deployment does not remediate is skipped with its reason
        // (not failed: SNS would only redeliver it, and nothing will ever change that).
        match deps.admit(&finding) {
            Err(e @ Error::AccountNotAllowed(_)) => {
                let reason = format!("{}: {e}", e.name());
                tracing::info!(rule_id = finding.rule_id, reason, "skipped");
                out.push(RecordResult::Ignored {
                    rule_id: finding.rule_id.clone(),
                    reason,
                });
                continue;
            }
            other => other?,
        };
        out.push(start(deps, state_machine, &finding).await?);
    }
    Ok(TriggerOutput { records: out })
}

/// What the latest execution of a check is doing.
enum Run {
    Running,
    Missing,
    Ended { succeeded: bool },
}

async fn run_status(deps: &Deps, state_machine: &str, name: &str) -> Result<Run, Error> {
    let arn = format!("{}:{name}", state_machine.replacen(":stateMachine:", ":execution:", 1));
    match deps.aws.sfn().describe_execution().execution_arn(arn).send().await {
        Ok(d) => Ok(match d.status().as_str() {
            "RUNNING" | "PENDING_REDRIVE" => Run::Running,
            status => Run::Ended {
                succeeded: status == "SUCCEEDED",
            },
        }),
        Err(e) => {
            let err = Error::from_sdk("states:DescribeExecution", e);
            match err.aws_code() {
                Some("ExecutionDoesNotExist") => Ok(Run::Missing),
                _ => Err(err),
            }
        }
    }
}

async fn start(deps: &Deps, state_machine: &str, finding: &Finding) -> Result<RecordResult, Error> {
    let ledger = deps.ledger()?;
    let key = finding.check_key();
    let stamp = finding.stamp();
    // A lost race re-reads the check: at most a few rounds, as each round sees a newer generation.
    for _ in 0..4 {
        let latest = ledger.check(&key).await?;
        let (previous, generation) = match &latest {
            None => (None, 1),
            Some(r) => match run_status(deps, state_machine, &r.execution_name).await? {
                Run::Running => {
                    tracing::info!(execution = r.execution_name, "duplicate of a running execution");
                    return Ok(RecordResult::AlreadyStarted {
                        execution_name: r.execution_name.clone(),
                    });
                }
                // Recorded but never started (the trigger died in between): start it now.
                Run::Missing => {
                    return start_execution(deps, state_machine, finding, &r.execution_name, r.generation).await
                }
                Run::Ended { succeeded } if succeeded && stamp.is_some() && stamp == r.stamp => {
                    return Ok(RecordResult::AlreadyHandled {
                        execution_name: r.execution_name.clone(),
                        reason: "this failure (same discovery time) was already handled by that execution".into(),
                    });
                }
                Run::Ended { .. } => (Some(r.generation), r.generation + 1),
            },
        };
        let next = CheckRecord {
            generation,
            execution_name: finding.execution_name(generation),
            stamp,
        };
        if ledger.advance_check(&key, previous, &next).await? {
            return start_execution(deps, state_machine, finding, &next.execution_name, generation).await;
        }
    }
    Err(Error::AwsTransient {
        operation: "dynamodb:PutItem",
        detail: "the check's generation kept changing under concurrent deliveries".into(),
    })
}

async fn start_execution(
    deps: &Deps,
    state_machine: &str,
    finding: &Finding,
    name: &str,
    generation: u64,
) -> Result<RecordResult, Error> {
    let input = serde_json::json!({ "finding": finding }).to_string();
    ar_core::logs::record(Some(name), None, None);
    match deps
        .aws
        .sfn()
        .start_execution()
        .state_machine_arn(state_machine)
        .name(name)
        .input(input)
        .send()
        .await
    {
        Ok(started) => {
            tracing::info!(
                execution = name,
                rule_id = finding.rule_id,
                resource = finding.resource,
                generation,
                "started"
            );
            Ok(RecordResult::Started {
                execution_name: name.to_string(),
                execution_arn: started.execution_arn().to_string(),
                rule_id: finding.rule_id.clone(),
                resource: finding.resource.clone(),
                generation,
            })
        }
        Err(e) => {
            let err = Error::from_sdk("states:StartExecution", e);
            if err.aws_code() == Some("ExecutionAlreadyExists") {
                tracing::info!(execution = name, "already started");
                Ok(RecordResult::AlreadyStarted {
                    execution_name: name.to_string(),
                })
            } else {
                Err(err)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixture_envelope_yields_its_message() {
        let event: Value = serde_json::from_str(include_str!("../../core/fixtures/sns-envelope.json")).unwrap();
        let messages = sns_messages(&event).unwrap();
        assert_eq!(messages.len(), 1);
        assert!(messages[0].contains("S3-001"));
    }

    #[test]
    fn non_sns_events_are_invalid_envelopes() {
        for bad in [
            serde_json::json!({}),
            serde_json::json!({"Records": []}),
            serde_json::json!({"Records": [{"Sns": {"Message": 5}}]}),
        ] {
            assert_eq!(sns_messages(&bad).unwrap_err().name(), "InvalidEnvelope");
        }
    }
}
