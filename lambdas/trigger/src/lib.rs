//! Trigger: SNS delivery or EventBridge event → intake → one Step Functions execution per
//! failure of a check.
//!
//! Two Lambda event shapes arrive: SNS `Records` (Conformity's messages, one per record), and an
//! EventBridge event itself, as an EventBridge rule's target receives it (top-level
//! `detail-type` and `source`: Security Hub's `Security Hub Findings - Imported`, several findings
//! each, and AWS Config's `Config Rules Compliance Change`; `ar_core::intake::eventbridge`). Each
//! finding an event carries is a delivery of its own, logged with the event's id (`<id>#<n>`
//! when it carries several); a transient failure of one fails the invocation, and the retried
//! event finds the findings already started (`AlreadyStarted`).
//!
//! Every delivery is one of three kinds (`ar_core::intake`), each logged once with the SNS
//! message id and counted as a CloudWatch metric (`AutoRemediate/Deliveries`, by `Delivery` and
//! `Reason`): **acted on** (a run started, or a duplicate of one), **acknowledged** (a passed
//! check, a rule not healed here or turned off, an account not listed or not resolved, the
//! channel's test string, a message that is not a check), **rejected** (malformed or hostile: a
//! named error). Acknowledged and rejected deliveries end the invocation successfully: a retry
//! cannot change them, so they never reach the dead-letter queue. Only a failure that a retry
//! can fix (throttling, a 5xx) or a broken deployment fails the invocation, so Lambda retries it
//! and the dead-letter queue holds only findings really lost.
//!
//! Each check has generations, kept in the ledger (`check#<key>`): a delivery while the check's
//! execution runs starts nothing (three deliveries of one message start one execution); a
//! delivery after it ended starts the next generation (a re-raised finding is healed again, and a
//! failed run can be retried by a later delivery), except a repeat of the very failure an
//! execution already handled successfully (same discovery time). The execution name is derived
//! from the check and its generation, so a trigger that dies between recording the generation and
//! starting it is completed by the next delivery.

use ar_core::catalog::Mode;
use ar_core::deps::Deps;
use ar_core::finding::Finding;
use ar_core::intake::{conformity, event, eventbridge, Ack, AckReason, Delivery, Intake};
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
pub const RULE_ACCESS: ar_core::families::helpers::family::RuleAccess =
    ar_core::families::helpers::family::RuleAccess::None;

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
    AlreadyStarted { execution_name: String },
    /// A repeat of a failure an execution already handled successfully.
    AlreadyHandled { execution_name: String, reason: String },
    /// Nothing to do, and why.
    Acknowledged(Ack),
    /// Malformed or hostile: the error's name and text.
    Rejected { error: String, detail: String },
}

impl RecordResult {
    /// Which of the three kinds of delivery this is, and its reason (the metric's dimensions).
    pub fn delivery(&self) -> (Delivery, &str) {
        match self {
            RecordResult::Started { .. } => (Delivery::ActedOn, "Started"),
            RecordResult::AlreadyStarted { .. } => (Delivery::ActedOn, "AlreadyStarted"),
            RecordResult::AlreadyHandled { .. } => (Delivery::ActedOn, "AlreadyHandled"),
            RecordResult::Acknowledged(a) => (Delivery::Acknowledged, a.reason.name()),
            RecordResult::Rejected { error, .. } => (Delivery::Rejected, error),
        }
    }
}

/// One record's outcome with its kind and reason (what the metric counts).
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    pub delivery: Delivery,
    pub reason: String,
    #[serde(flatten)]
    pub result: RecordResult,
}

impl From<RecordResult> for Record {
    fn from(result: RecordResult) -> Record {
        let (delivery, reason) = result.delivery();
        Record {
            delivery,
            reason: reason.to_string(),
            result,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TriggerOutput {
    pub records: Vec<Record>,
}

/// One SNS record: its message id and its `Message` text.
#[derive(Debug, Clone, Copy)]
pub struct SnsRecord<'a> {
    pub message_id: &'a str,
    pub message: &'a str,
}

/// The records of a Lambda SNS event.
pub fn sns_records(event: &Value) -> Result<Vec<SnsRecord<'_>>, Error> {
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
            let sns = r.get("Sns");
            let message = sns
                .and_then(|s| s.get("Message"))
                .and_then(Value::as_str)
                .ok_or_else(|| Error::InvalidEnvelope("a record without `Sns.Message` text".into()))?;
            let message_id = sns
                .and_then(|s| s.get("MessageId"))
                .and_then(Value::as_str)
                .unwrap_or("");
            Ok(SnsRecord { message_id, message })
        })
        .collect()
}

pub async fn handle(deps: &Deps, event: Value) -> Result<TriggerOutput, Error> {
    if eventbridge::is_event(&event) {
        let id = event::event_id(&event).to_string();
        let results = eventbridge::sort(&event, &deps.intake());
        let many = results.len() > 1;
        let mut out = Vec::with_capacity(results.len());
        for (n, parsed) in results.into_iter().enumerate() {
            let message_id = if many { format!("{id}#{n}") } else { id.clone() };
            out.push(counted(act(deps, &message_id, parsed).await?));
        }
        return Ok(TriggerOutput { records: out });
    }
    let records = match sns_records(&event) {
        Ok(records) => records,
        Err(e) => {
            return Ok(TriggerOutput {
                records: vec![counted(rejected("", &e))],
            })
        }
    };
    let mut out = Vec::with_capacity(records.len());
    for record in records {
        out.push(counted(handle_record(deps, record).await?));
    }
    Ok(TriggerOutput { records: out })
}

/// The record of a delivery, counted in the `Deliveries` metric.
fn counted(result: RecordResult) -> Record {
    let record = Record::from(result);
    ar_core::metrics::delivery(record.delivery, &record.reason);
    record
}

/// A rejected delivery, logged once with its message id (a retry cannot fix it: never retried).
fn rejected(message_id: &str, e: &Error) -> RecordResult {
    tracing::warn!(message_id, error = e.name(), detail = %e, delivery = "Rejected", "rejected");
    RecordResult::Rejected {
        error: e.name().to_string(),
        detail: e.to_string(),
    }
}

fn acknowledged(message_id: &str, ack: Ack) -> RecordResult {
    tracing::info!(
        message_id,
        reason = ack.reason.name(),
        rule_id = ack.rule_id.as_deref(),
        detail = ack.detail,
        delivery = "Acknowledged",
        "acknowledged"
    );
    RecordResult::Acknowledged(ack)
}

/// One record's kind; an error only for what a retry can fix (or a deployment that cannot work).
async fn handle_record(deps: &Deps, record: SnsRecord<'_>) -> Result<RecordResult, Error> {
    act(
        deps,
        record.message_id,
        conformity::parse(record.message, &deps.intake()),
    )
    .await
}

/// What intake made of one delivery (any source), acted on: a run started, or why not.
async fn act(deps: &Deps, id: &str, parsed: Result<Intake, Error>) -> Result<RecordResult, Error> {
    let finding = match parsed {
        Err(e) => return Ok(rejected(id, &e)),
        Ok(Intake::Acknowledged(ack)) => {
            ar_core::logs::record(None, ack.rule_id.as_deref(), None);
            return Ok(acknowledged(id, ack));
        }
        Ok(Intake::Failure(finding)) => finding,
    };
    // SNS gives a Lambda one record per invocation, an event's findings are acted on one after
    // the other: the log lines from here on are this finding's.
    ar_core::logs::record(None, Some(&finding.rule_id), Some(&finding.resource));
    let ack = |reason: AckReason, detail: String| {
        acknowledged(
            id,
            Ack {
                reason,
                rule_id: Some(finding.rule_id.clone()),
                detail,
            },
        )
    };
    match deps.admit(&finding) {
        Err(e @ Error::AccountNotAllowed(_)) => return Ok(ack(AckReason::AccountNotAllowed, e.to_string())),
        Err(e) => return Err(e),
        Ok(_) => {}
    }
    if deps.settings.config.mode_for(&finding.rule_id, deps.catalog) == Mode::Off {
        return Ok(ack(
            AckReason::RuleOff,
            format!("rule {} is off in the config", finding.rule_id),
        ));
    }
    let state_machine = deps
        .settings
        .state_machine_arn
        .as_deref()
        .ok_or_else(|| Error::ConfigInvalid("STATE_MACHINE_ARN is not set".into()))?;
    let result = start(deps, state_machine, &finding).await?;
    if let RecordResult::AlreadyStarted { execution_name } | RecordResult::AlreadyHandled { execution_name, .. } =
        &result
    {
        ar_core::logs::record(Some(execution_name), None, None);
    }
    tracing::info!(
        message_id = id,
        delivery = "ActedOn",
        reason = result.delivery().1,
        source = finding.source,
        account_source = ?finding.account_source,
        "acted on"
    );
    Ok(result)
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
        let event: Value =
            serde_json::from_str(include_str!("../../../tests/fixtures/sns/envelope-s3-001.json")).unwrap();
        let records = sns_records(&event).unwrap();
        assert_eq!(records.len(), 1);
        assert!(records[0].message.contains("S3-001"));
        assert_eq!(records[0].message_id, "95df01b4-ee98-5cb9-9903-4c221d41eb5e");
    }

    #[test]
    fn eventbridge_events_are_told_from_sns_records() {
        let hub = serde_json::json!({"version": "0", "id": "e1", "detail-type": "Security Hub Findings - Imported",
            "source": "aws.securityhub", "detail": {"findings": []}});
        assert!(eventbridge::is_event(&hub));
        assert_eq!(event::event_id(&hub), "e1");
        let sns: Value =
            serde_json::from_str(include_str!("../../../tests/fixtures/sns/envelope-s3-001.json")).unwrap();
        assert!(!eventbridge::is_event(&sns));
        assert!(!eventbridge::is_event(&serde_json::json!({})));
    }

    #[test]
    fn non_sns_events_are_invalid_envelopes() {
        for bad in [
            serde_json::json!({}),
            serde_json::json!({"Records": []}),
            serde_json::json!({"Records": [{"Sns": {"Message": 5}}]}),
        ] {
            assert_eq!(sns_records(&bad).unwrap_err().name(), "InvalidEnvelope");
        }
    }
}
