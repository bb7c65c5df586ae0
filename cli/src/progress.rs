//! Following a Step Functions execution as it runs.
//!
//! The trigger names each execution `<ruleId>-<resource>-<digest>`, so the demo finds its own
//! among the state machine's executions by that prefix, then polls the execution's history
//! every 100 ms and prints each state as it is entered, until the execution stops running (or,
//! for the approval gate, until it enters the state that waits for a human).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ar_core::state::Remediation;
use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent};
use serde_json::Value;

use crate::stack::{aws, Stack};

const POLL: Duration = Duration::from_millis(100);

/// An execution (finished, or paused at a state by [`Watch::follow`]) and its history so far.
pub struct Run {
    pub name: String,
    pub status: ExecutionStatus,
    /// The execution's output, once it has succeeded.
    pub output: Option<Value>,
    pub events: Vec<HistoryEvent>,
}

impl Run {
    pub fn succeeded(&self) -> bool {
        self.status == ExecutionStatus::Succeeded
    }

    /// The names of the states entered, in order.
    pub fn states(&self) -> Vec<&str> {
        self.events
            .iter()
            .filter_map(|e| e.state_entered_event_details())
            .map(|d| d.name())
            .collect()
    }

    pub fn last_state(&self) -> Option<&str> {
        self.states().last().copied()
    }

    /// The Remediate task's result (`$.remediation` of the state's output), if the state ran.
    pub fn remediation(&self) -> Option<Result<Remediation, String>> {
        let output = self
            .events
            .iter()
            .filter_map(|e| e.state_exited_event_details())
            .find(|d| d.name() == "Remediate")?
            .output()?;
        Some(
            serde_json::from_str::<Value>(output)
                .map_err(|e| e.to_string())
                .and_then(|v| serde_json::from_value(v["remediation"].clone()).map_err(|e| e.to_string()))
                .map_err(|e| format!("the Remediate state's output is not a remediation: {e}")),
        )
    }

    /// The input of the first entry into `state`, if it was entered.
    pub fn state_input(&self, state: &str) -> Option<Value> {
        let details = self
            .events
            .iter()
            .filter_map(|e| e.state_entered_event_details())
            .find(|d| d.name() == state)?;
        serde_json::from_str(details.input()?).ok()
    }

    /// Why the execution failed: its error and cause, and each task failure before it.
    pub fn failure(&self) -> String {
        let mut lines: Vec<String> = self
            .events
            .iter()
            .filter_map(|e| e.lambda_function_failed_event_details())
            .map(|d| format!("task failed: {}: {}", d.error().unwrap_or("?"), d.cause().unwrap_or("")))
            .collect();
        if let Some(d) = self.events.iter().find_map(|e| e.execution_failed_event_details()) {
            lines.push(format!(
                "execution failed: {}: {}",
                d.error().unwrap_or("?"),
                d.cause().unwrap_or("")
            ));
        }
        lines.join("; ")
    }
}

/// Finds the execution whose name starts with `name_prefix`, prints its states as they are
/// entered (`  <label> → <state>  +<seconds since t0>`), and returns it once it has stopped
/// running. Fails when it has not appeared or not finished within `timeout`.
pub async fn watch(
    stack: &Stack,
    label: &str,
    name_prefix: &str,
    t0: SystemTime,
    timeout: Duration,
) -> Result<Run, String> {
    let deadline = Instant::now() + timeout;
    let mut watch = Watch::find(stack, label, name_prefix, t0, timeout).await?;
    watch
        .follow(stack, None, deadline.saturating_duration_since(Instant::now()))
        .await
}

/// An execution being followed: what has been printed of it so far.
pub struct Watch {
    label: String,
    arn: String,
    name: String,
    /// Seconds since the epoch that the printed times count from.
    t0: f64,
    printed: usize,
}

impl Watch {
    /// Waits (at most `timeout`) for the execution whose name starts with `name_prefix` to appear.
    pub async fn find(
        stack: &Stack,
        label: &str,
        name_prefix: &str,
        t0: SystemTime,
        timeout: Duration,
    ) -> Result<Watch, String> {
        let deadline = Instant::now() + timeout;
        let (arn, name) = loop {
            if let Some(found) = find(stack, name_prefix).await? {
                break found;
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{label}: no execution named {name_prefix}* after {} s (see the gateway log: was the message delivered?)",
                    timeout.as_secs()
                ));
            }
            tokio::time::sleep(POLL).await;
        };
        println!("  {label:<8} execution {name}");
        Ok(Watch {
            label: label.to_string(),
            arn,
            name,
            t0: t0
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or_default(),
            printed: 0,
        })
    }

    /// The execution's status now.
    pub async fn status(&self, stack: &Stack) -> Result<ExecutionStatus, String> {
        Ok(stack
            .sfn
            .describe_execution()
            .execution_arn(&self.arn)
            .send()
            .await
            .map_err(aws("states:DescribeExecution"))?
            .status()
            .clone())
    }

    /// Prints the states entered since the last call, until the execution stops running or, when
    /// `pause_at` is given, enters that state (the returned run is then still RUNNING). Fails
    /// when neither happened within `timeout`.
    pub async fn follow(&mut self, stack: &Stack, pause_at: Option<&str>, timeout: Duration) -> Result<Run, String> {
        let label = self.label.as_str();
        let deadline = Instant::now() + timeout;
        loop {
            // Status first: when it says done, the history read after it is complete.
            let described = stack
                .sfn
                .describe_execution()
                .execution_arn(&self.arn)
                .send()
                .await
                .map_err(aws("states:DescribeExecution"))?;
            let status = described.status().clone();
            let events = history(stack, &self.arn).await?;
            let entered: Vec<(&str, f64)> = events
                .iter()
                .filter_map(|e| {
                    Some((
                        e.state_entered_event_details()?.name(),
                        e.timestamp().as_secs_f64() - self.t0,
                    ))
                })
                .collect();
            for (state, at) in entered.iter().skip(self.printed) {
                println!("  {label:<8} → {state:<16} +{at:.2} s");
                if *state == "RequestApproval" {
                    println!(
                        "  {label:<8}   (the rule's mode is `approve`: waiting for a human to follow an e-mailed link)"
                    );
                }
            }
            self.printed = self.printed.max(entered.len());
            let paused = pause_at.is_some_and(|p| entered.iter().any(|(s, _)| *s == p));
            let last = entered.last().map(|(s, _)| *s).unwrap_or("none yet").to_string();
            if status != ExecutionStatus::Running || paused {
                let run = Run {
                    name: self.name.clone(),
                    status,
                    output: described.output().and_then(|o| serde_json::from_str(o).ok()),
                    events,
                };
                if run.status != ExecutionStatus::Running {
                    let verdict = if run.succeeded() { "✔" } else { "✘" };
                    println!("  {label:<8} {verdict} {}", run.status.as_str());
                }
                return Ok(run);
            }
            if Instant::now() > deadline {
                let waited = match pause_at {
                    Some(state) => format!("neither finished nor entered {state}"),
                    None => "still RUNNING".to_string(),
                };
                return Err(format!(
                    "{label}: execution {} {waited} after {} s (last state entered: {last})",
                    self.name,
                    timeout.as_secs()
                ));
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

/// The newest execution of the state machine whose name starts with `prefix`: (arn, name).
async fn find(stack: &Stack, prefix: &str) -> Result<Option<(String, String)>, String> {
    let mut newest: Option<(f64, String, String)> = None;
    let mut pages = stack
        .sfn
        .list_executions()
        .state_machine_arn(&stack.info.state_machine_arn)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(aws("states:ListExecutions"))?;
        for e in page.executions().iter().filter(|e| e.name().starts_with(prefix)) {
            let started = e.start_date().as_secs_f64();
            if newest.as_ref().is_none_or(|(t, _, _)| started > *t) {
                newest = Some((started, e.execution_arn().to_string(), e.name().to_string()));
            }
        }
    }
    Ok(newest.map(|(_, arn, name)| (arn, name)))
}

/// The execution's whole history, oldest first.
async fn history(stack: &Stack, arn: &str) -> Result<Vec<HistoryEvent>, String> {
    let mut events = Vec::new();
    let mut pages = stack
        .sfn
        .get_execution_history()
        .execution_arn(arn)
        .into_paginator()
        .send();
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
