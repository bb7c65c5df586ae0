//! What `runs` and `show` share: the Step Functions client and state machine they read (the local
//! stack's `stack.json`, an explicit endpoint, or AWS's default chain), and a run's story read
//! back from its execution (input, output or history).

use std::path::PathBuf;

pub use ar_core::state::{kebab, Story};
use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent};
use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;
use serde_json::Value;

use crate::stack::aws;

/// Where the executions are: a Step Functions client and the state machine.
pub struct Target {
    pub sfn: aws_sdk_sfn::Client,
    /// For reading the runs' resources (`undo` checks them first): the same credentials and endpoint.
    pub aws: ar_core::aws::Aws,
    /// The ledger, whose run records `runs` reads instead of describing each execution.
    pub ledger: ar_core::ledger::Ledger,
    pub state_machine_arn: String,
    pub region: String,
}

/// How to reach the state machine, from the global options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Connection {
    pub stack_dir: Option<PathBuf>,
    pub endpoint_url: Option<String>,
    pub state_machine_arn: Option<String>,
    pub region: Option<String>,
    /// The state table (default: the state machine's name with `-state`, as infra/ names it).
    pub state_table: Option<String>,
}

impl Target {
    /// `--stack-dir` reads `DIR/stack.json`; otherwise the default credential chain and region,
    /// with `--endpoint-url` if given, and the state machine from `--state-machine-arn` (or
    /// `AUTO_REMEDIATE_STATE_MACHINE_ARN`).
    pub async fn connect(c: &Connection) -> Result<Target, String> {
        if let Some(dir) = &c.stack_dir {
            let info = ar_core::local::StackInfo::load(dir)?;
            let endpoint = c.endpoint_url.clone().unwrap_or(info.endpoint_url);
            let sdk = ar_core::aws::local_sdk_config(&endpoint, &info.region);
            let state_table = c.state_table.clone().unwrap_or(info.state_table);
            return Ok(Target {
                sfn: aws_sdk_sfn::Client::new(&sdk),
                ledger: ar_core::ledger::Ledger {
                    client: aws_sdk_dynamodb::Client::new(&sdk),
                    table: state_table,
                },
                aws: ar_core::aws::Aws::from_sdk_config(sdk.clone(), true),
                state_machine_arn: c.state_machine_arn.clone().unwrap_or(info.state_machine_arn),
                region: info.region,
            });
        }
        let state_machine_arn = c.state_machine_arn.clone().ok_or(
            "which state machine? give --state-machine-arn ARN (or set AUTO_REMEDIATE_STATE_MACHINE_ARN), \
             or --stack-dir DIR for a local stack",
        )?;
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(url) = &c.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        // The state machine's own region unless one was given.
        let region = c
            .region
            .clone()
            .or_else(|| ar_core::ids::Arn::parse(&state_machine_arn).map(|a| a.region.to_string()));
        if let Some(region) = &region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        let sdk = loader.load().await;
        let region = sdk
            .region()
            .map(|r| r.to_string())
            .ok_or("no AWS region: give --region, or set AWS_REGION")?;
        let state_table = c
            .state_table
            .clone()
            .unwrap_or_else(|| format!("{}-state", state_machine_arn.rsplit(':').next().unwrap_or_default()));
        Ok(Target {
            sfn: aws_sdk_sfn::Client::new(&sdk),
            ledger: ar_core::ledger::Ledger {
                client: aws_sdk_dynamodb::Client::new(&sdk),
                table: state_table,
            },
            aws: ar_core::aws::Aws::from_sdk_config(sdk.clone(), c.endpoint_url.is_some()),
            state_machine_arn,
            region,
        })
    }

    /// An execution's ARN from its name (or the ARN itself).
    pub fn execution_arn(&self, name_or_arn: &str) -> String {
        if name_or_arn.starts_with("arn:") {
            return name_or_arn.to_string();
        }
        // arn:aws:states:<region>:<account>:stateMachine:<sm> → …:execution:<sm>:<name>
        format!(
            "{}:{name_or_arn}",
            self.state_machine_arn.replacen(":stateMachine:", ":execution:", 1)
        )
    }

    /// An execution from its name (or a unique start of it) or ARN: its ARN and description.
    pub async fn find(
        &self,
        execution: &str,
    ) -> Result<
        (
            String,
            aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput,
        ),
        String,
    > {
        let arn = self.resolve(execution).await?;
        let d = self
            .sfn
            .describe_execution()
            .execution_arn(&arn)
            .send()
            .await
            .map_err(aws("states:DescribeExecution"))?;
        Ok((arn, d))
    }

    /// An execution name, a unique start of one, or an ARN → its ARN.
    pub async fn resolve(&self, execution: &str) -> Result<String, String> {
        let arn = self.execution_arn(execution);
        match self.sfn.describe_execution().execution_arn(&arn).send().await {
            Ok(_) => return Ok(arn),
            Err(e) if execution.starts_with("arn:") => return Err(aws("states:DescribeExecution")(e)),
            Err(_) => {}
        }
        let mut pages = self
            .sfn
            .list_executions()
            .state_machine_arn(&self.state_machine_arn)
            .into_paginator()
            .page_size(1000)
            .send();
        let mut found = Vec::new();
        while let Some(page) = pages.next().await {
            for e in page.map_err(aws("states:ListExecutions"))?.executions() {
                if e.name().starts_with(execution) {
                    found.push(e.execution_arn().to_string());
                }
            }
        }
        match found.len() {
            1 => Ok(found.remove(0)),
            0 => Err(format!(
                "no execution named {execution} in {} (list them with `auto-remediate runs`)",
                self.state_machine_arn
            )),
            n => Err(format!(
                "{n} executions start with {execution}; give more of the name (see `auto-remediate runs`)"
            )),
        }
    }

    /// The execution's last `n` events, oldest first (one call).
    pub async fn last_events(&self, arn: &str, n: i32) -> Result<Vec<HistoryEvent>, String> {
        let page = self
            .sfn
            .get_execution_history()
            .execution_arn(arn)
            .reverse_order(true)
            .max_results(n)
            .send()
            .await
            .map_err(aws("states:GetExecutionHistory"))?;
        let mut events = page.events().to_vec();
        events.sort_by_key(|e| e.id());
        Ok(events)
    }

    /// The execution's whole history, oldest first.
    pub async fn history(&self, arn: &str) -> Result<Vec<HistoryEvent>, String> {
        let mut pages = self
            .sfn
            .get_execution_history()
            .execution_arn(arn)
            .into_paginator()
            .send();
        let mut events = Vec::new();
        while let Some(page) = pages.next().await {
            events.extend(
                page.map_err(aws("states:GetExecutionHistory"))?
                    .events()
                    .iter()
                    .cloned(),
            );
        }
        events.sort_by_key(|e| e.id());
        Ok(events)
    }
}

/// The AWS console's page of an execution.
pub fn console_url(region: &str, arn: &str) -> String {
    format!("https://{region}.console.aws.amazon.com/states/home?region={region}#/v2/executions/details/{arn}")
}

/// The state document of a run as far as it got: the output once it succeeded, else the input
/// of the last state entered (which carries `$.error` in a failure state), else the input.
pub fn state_document(input: Option<&str>, output: Option<&str>, events: &[HistoryEvent]) -> Value {
    let parse = |s: &str| serde_json::from_str::<Value>(s).ok();
    output
        .and_then(parse)
        .or_else(|| {
            events
                .iter()
                .rev()
                .filter_map(|e| e.state_entered_event_details())
                .find_map(|d| d.input().and_then(parse))
        })
        .or_else(|| input.and_then(parse))
        .unwrap_or(Value::Null)
}

/// The outcome of a run: the end state's name. For a run that did not succeed, the last state
/// entered (a `Fail` state is named after its error), else the status.
pub fn outcome(status: &ExecutionStatus, story: &Story, events: &[HistoryEvent]) -> Option<String> {
    let last = events
        .iter()
        .rev()
        .find_map(|e| e.state_entered_event_details())
        .map(|d| d.name().to_string());
    match status {
        ExecutionStatus::Running => None,
        ExecutionStatus::Succeeded => story.succeeded_outcome().map(str::to_string).or(last),
        ExecutionStatus::Failed => last,
        other => Some(title(other.as_str())),
    }
}

/// `TIMED_OUT` → `TimedOut`.
fn title(s: &str) -> String {
    s.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + &c.as_str().to_ascii_lowercase())
                .unwrap_or_default()
        })
        .collect()
}

/// RFC 3339 with milliseconds.
pub fn rfc3339_ms(t: &DateTime) -> String {
    let ms = t.to_millis().unwrap_or_default();
    DateTime::from_millis(ms).fmt(Format::DateTime).unwrap_or_default()
}

/// `420 ms`, `3.1 s`, `2 m 05 s`, `1 h 02 m`.
pub fn human_duration(secs: f64) -> String {
    if secs < 1.0 {
        format!("{:.0} ms", secs * 1000.0)
    } else if secs < 60.0 {
        format!("{secs:.1} s")
    } else if secs < 3600.0 {
        format!("{} m {:02} s", (secs / 60.0) as u64, (secs % 60.0) as u64)
    } else {
        format!("{} h {:02} m", (secs / 3600.0) as u64, ((secs % 3600.0) / 60.0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_become_state_like_names() {
        assert_eq!(title("TIMED_OUT"), "TimedOut");
        assert_eq!(title("ABORTED"), "Aborted");
    }

    #[test]
    fn execution_arns_come_from_the_state_machine() {
        let sm = "arn:aws:states:us-east-1:123456789012:stateMachine:auto-remediate";
        assert_eq!(
            "arn:aws:states:us-east-1:123456789012:execution:auto-remediate:EC2-002-sg-1-abc",
            format!("{}:EC2-002-sg-1-abc", sm.replacen(":stateMachine:", ":execution:", 1))
        );
    }

    #[test]
    fn succeeded_outcomes_are_told_apart_by_the_output() {
        let story = |doc: Value| Story::read(&doc);
        let classification = serde_json::json!({"decision": "auto", "mode": "auto", "reason": "r"});
        assert_eq!(
            story(serde_json::json!({"classification": classification,
                "verification": {"compliant": true, "rule_id": "EC2-002", "resource": "sg-1", "state": {}}}))
            .succeeded_outcome(),
            Some("Healed")
        );
        assert_eq!(
            story(serde_json::json!({"classification": classification,
                "remediation": {"outcome": "dry-run", "reason": "r"}}))
            .succeeded_outcome(),
            Some("DryRunComplete")
        );
        assert_eq!(
            story(
                serde_json::json!({"classification": {"decision": "approve", "mode": "approve", "reason": "r"},
                "approval": {"decision": "rejected", "approver": "a@b", "decided_at": "t", "approval_id": "x"}})
            )
            .succeeded_outcome(),
            Some("ApprovalRejected")
        );
        assert_eq!(
            story(serde_json::json!({"classification": {"decision": "skip", "outcome": "excluded", "mode": "auto", "reason": "r"}}))
                .succeeded_outcome(),
            Some("Excluded")
        );
    }
}
