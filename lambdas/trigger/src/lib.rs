//! Trigger: SNS delivery → validated finding → one Step Functions execution per check.
//!
//! The execution name is derived from the check, so a message delivered twice starts exactly one
//! execution (`ExecutionAlreadyExists` is success). A malformed or hostile message ends here with
//! a named error and starts nothing; a `SUCCESS` check is acknowledged and ignored.

use ar_core::deps::Deps;
use ar_core::finding::{parse_conformity, Intake};
use ar_core::Error;
use serde::Serialize;
use serde_json::Value;

/// What happened to one SNS record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum RecordResult {
    Started {
        execution_name: String,
        execution_arn: String,
        rule_id: String,
        resource: String,
    },
    AlreadyStarted {
        execution_name: String,
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
                tracing::info!(rule_id, reason, "ignored");
                out.push(RecordResult::Ignored { rule_id, reason });
                continue;
            }
            Intake::Failure(finding) => finding,
        };
        deps.admit(&finding)?;
        let name = finding.execution_name();
        let input = serde_json::json!({ "finding": finding }).to_string();
        match deps
            .aws
            .sfn()
            .start_execution()
            .state_machine_arn(state_machine)
            .name(&name)
            .input(input)
            .send()
            .await
        {
            Ok(started) => {
                tracing::info!(
                    execution = name,
                    rule_id = finding.rule_id,
                    resource = finding.resource,
                    "started"
                );
                out.push(RecordResult::Started {
                    execution_name: name,
                    execution_arn: started.execution_arn().to_string(),
                    rule_id: finding.rule_id,
                    resource: finding.resource,
                });
            }
            Err(e) => {
                let err = Error::from_sdk("states:StartExecution", e);
                if err.aws_code() == Some("ExecutionAlreadyExists") {
                    tracing::info!(execution = name, "already started");
                    out.push(RecordResult::AlreadyStarted { execution_name: name });
                } else {
                    return Err(err);
                }
            }
        }
    }
    Ok(TriggerOutput { records: out })
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
