//! `auto-remediate runs`: the state machine's executions, newest first, one row each.
//!
//! Reads only what it shows: the run records (one Scan of the state table, written by each
//! execution's Notify task) give how each ended run ended; the listing (paged with the SDK
//! paginator) is filtered first on
//! what it carries (status, start time, and rule and resource from the execution name,
//! `<ruleId>-<resource>-<digest>`), then each remaining run without a record (running, timed
//! out, aborted, or from before the records) is described (at most 16 at once),
//! and only a run that did not succeed has the end of its history read (its output is not
//! recorded; the end state's input is).

use std::collections::HashMap;

use ar_core::finding::execution_name_prefix;
use ar_core::ledger::RunRecord;
use aws_sdk_sfn::types::{ExecutionListItem, ExecutionStatus};
use futures::StreamExt;
use serde::Serialize;

use crate::audit::{self, Story, Target};
use crate::stack::aws;

/// How many runs are read at once.
const CONCURRENCY: usize = 16;

/// The filters of `runs`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    pub rule: Option<String>,
    pub resource: Option<String>,
    pub outcome: Option<String>,
    pub status: Option<ExecutionStatus>,
    /// Seconds since the epoch.
    pub since: Option<f64>,
    pub until: Option<f64>,
    pub limit: usize,
}

/// One row of `runs --json` (documented in docs/cli.md; fields are only ever added).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RunRow {
    pub name: String,
    pub arn: String,
    /// RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED.
    pub status: String,
    pub rule: Option<String>,
    pub resource: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    /// auto, dry-run, approve or skip; null when Classify did not decide.
    pub decision: Option<String>,
    /// The end state's name (Healed, DryRunComplete, AlreadyCompliant, VerificationFailed, …);
    /// null while running.
    pub outcome: Option<String>,
    /// Who decided at the approval gate, if it was passed through.
    pub approver: Option<String>,
    /// RFC 3339, milliseconds.
    pub started: String,
    pub stopped: Option<String>,
    /// Seconds from start to stop; null while running.
    pub duration_seconds: Option<f64>,
}

/// Whether the execution's name can belong to the filter's rule and resource (the name holds
/// both, the resource sanitized and possibly cut short; the row is checked again once read).
pub fn name_may_match(name: &str, rule: Option<&str>, resource: Option<&str>) -> bool {
    match (rule, resource) {
        (Some(rule), Some(resource)) => name.starts_with(&execution_name_prefix(rule, resource)),
        (Some(rule), None) => name.starts_with(&format!("{rule}-")),
        (None, Some(resource)) => {
            // `<Service>-<NNN>-<resource…>-<24 hex>`: the resource's readable start.
            let readable = execution_name_prefix("", resource);
            let readable = readable.trim_matches('-');
            let head: String = readable.chars().take(16).collect();
            name.contains(&format!("-{head}"))
        }
        (None, None) => true,
    }
}

/// Compares outcome names loosely: `Healed`, `healed`, `dry-run-complete`, `DRY_RUN_COMPLETE`.
fn same_name(a: &str, b: &str) -> bool {
    let squash = |s: &str| {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect::<String>()
    };
    squash(a) == squash(b)
}

impl Filter {
    fn list_allows(&self, e: &ExecutionListItem) -> bool {
        let start = e.start_date().as_secs_f64();
        self.until.is_none_or(|u| start <= u)
            && self.since.is_none_or(|s| start >= s)
            && name_may_match(e.name(), self.rule.as_deref(), self.resource.as_deref())
    }

    fn row_allows(&self, row: &RunRow) -> bool {
        self.rule.as_ref().is_none_or(|r| row.rule.as_deref() == Some(r))
            && self
                .resource
                .as_ref()
                .is_none_or(|r| row.resource.as_deref() == Some(r))
            && self
                .outcome
                .as_ref()
                .is_none_or(|o| row.outcome.as_deref().is_some_and(|x| same_name(x, o)))
    }

    /// Whether only the listing decides (each candidate read is a row shown).
    fn list_decides(&self) -> bool {
        self.outcome.is_none() && self.rule.is_none() && self.resource.is_none()
    }
}

/// The runs the filter selects, newest first, at most `filter.limit`.
pub async fn list(target: &Target, filter: &Filter) -> Result<Vec<RunRow>, String> {
    // How ended runs ended: one Scan, instead of a DescribeExecution each. Without the table (or
    // the right to read it) every run is described, as before the records existed.
    let records = match target.ledger.runs().await {
        Ok(r) => r,
        Err(e) => {
            eprintln!(
                "note: run records unreadable in table {} ({}: {e}); describing each execution instead",
                target.ledger.table,
                e.name()
            );
            HashMap::new()
        }
    };
    let records = &records;
    let mut rows = Vec::new();
    let mut pages = target
        .sfn
        .list_executions()
        .state_machine_arn(&target.state_machine_arn)
        .set_status_filter(filter.status.clone())
        .into_paginator()
        .page_size(1000)
        .send();
    'pages: while let Some(page) = pages.next().await {
        let page = page.map_err(aws("states:ListExecutions"))?;
        let mut older = false;
        let mut candidates = Vec::new();
        for e in page.executions() {
            // Newest first: once a run started before --since, every later one did too.
            if filter.since.is_some_and(|s| e.start_date().as_secs_f64() < s) {
                older = true;
                break;
            }
            if filter.list_allows(e) {
                candidates.push(e.clone());
            }
        }
        let mut candidates = candidates.into_iter().peekable();
        while candidates.peek().is_some() {
            if rows.len() >= filter.limit {
                break 'pages;
            }
            let missing = filter.limit - rows.len();
            let batch = if filter.list_decides() {
                missing
            } else {
                missing.max(CONCURRENCY * 4)
            };
            let read: Vec<Result<RunRow, String>> = futures::stream::iter(candidates.by_ref().take(batch))
                .map(|e| async move {
                    match records.get(e.name()) {
                        Some(r) if matches!(e.status(), ExecutionStatus::Succeeded | ExecutionStatus::Failed) => {
                            Ok(recorded_row(&e, r))
                        }
                        _ => row(target, e).await,
                    }
                })
                .buffered(CONCURRENCY)
                .collect()
                .await;
            for r in read {
                let r = r?;
                if filter.row_allows(&r) && rows.len() < filter.limit {
                    rows.push(r);
                }
            }
        }
        if older || rows.len() >= filter.limit {
            break;
        }
    }
    Ok(rows)
}

/// One ended run from its listing and its record: no call.
fn recorded_row(e: &ExecutionListItem, r: &RunRecord) -> RunRow {
    let start = e.start_date();
    RunRow {
        name: e.name().to_string(),
        arn: e.execution_arn().to_string(),
        status: e.status().as_str().to_string(),
        rule: r.rule_id.clone(),
        resource: r.resource.clone(),
        account: r.account_id.clone(),
        region: r.region.clone(),
        decision: r.decision.clone(),
        outcome: Some(r.outcome.clone()),
        approver: r.approver.clone(),
        started: audit::rfc3339_ms(start),
        stopped: e.stop_date().map(audit::rfc3339_ms),
        duration_seconds: duration(start, e.stop_date()),
    }
}

fn duration(start: &aws_smithy_types::DateTime, stop: Option<&aws_smithy_types::DateTime>) -> Option<f64> {
    stop.map(|s| ((s.as_secs_f64() - start.as_secs_f64()) * 1000.0).round() / 1000.0)
}

/// One run, read: DescribeExecution, and when it did not succeed the last few events of its
/// history (newest first, one short page): the end state entered, whose input is the run's
/// state document (its decision, approval and error).
async fn row(target: &Target, e: ExecutionListItem) -> Result<RunRow, String> {
    let d = target
        .sfn
        .describe_execution()
        .execution_arn(e.execution_arn())
        .send()
        .await
        .map_err(aws("states:DescribeExecution"))?;
    let events = if *d.status() == ExecutionStatus::Succeeded {
        Vec::new()
    } else {
        target.last_events(e.execution_arn(), 4).await?
    };
    let doc = audit::state_document(d.input(), d.output(), &events);
    let story = Story::read(&doc);
    let finding = story.finding.as_ref();
    let start = d.start_date();
    Ok(RunRow {
        name: d.name().unwrap_or(e.name()).to_string(),
        arn: e.execution_arn().to_string(),
        status: d.status().as_str().to_string(),
        rule: finding.map(|f| f.rule_id.clone()),
        resource: finding.map(|f| f.resource.clone()),
        account: finding.map(|f| f.account_id.clone()),
        region: finding.map(|f| f.region.clone()),
        decision: story.decision(),
        outcome: audit::outcome(d.status(), &story, &events),
        approver: story.approval.as_ref().map(|a| a.approver.clone()),
        started: audit::rfc3339_ms(start),
        stopped: d.stop_date().map(audit::rfc3339_ms),
        duration_seconds: duration(start, d.stop_date()),
    })
}

/// The rows as an aligned table, one line each (`-` for what a run does not have).
pub fn table(rows: &[RunRow]) -> String {
    let header = [
        "STARTED",
        "RULE",
        "RESOURCE",
        "ACCOUNT",
        "REGION",
        "DECISION",
        "OUTCOME",
        "APPROVER",
        "DURATION",
        "EXECUTION",
    ];
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let mut lines: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
    for r in rows {
        let outcome = match (&r.outcome, r.status.as_str()) {
            (Some(o), _) => o.clone(),
            (None, status) => status.to_string(),
        };
        lines.push(vec![
            r.started
                .split('.')
                .next()
                .unwrap_or(&r.started)
                .trim_end_matches('Z')
                .to_string()
                + "Z",
            dash(&r.rule),
            dash(&r.resource),
            dash(&r.account),
            dash(&r.region),
            dash(&r.decision),
            outcome,
            dash(&r.approver),
            r.duration_seconds
                .map(audit::human_duration)
                .unwrap_or_else(|| "-".into()),
            r.name.clone(),
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|i| lines.iter().map(|l| l[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for l in &lines {
        let cells: Vec<String> = l.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_prefilter_by_rule_and_resource() {
        let name = "EC2-002-sg-0123456789abcdef0-0123456789abcdef01234567";
        assert!(name_may_match(name, Some("EC2-002"), None));
        assert!(!name_may_match(name, Some("EC2-003"), None));
        assert!(name_may_match(name, Some("EC2-002"), Some("sg-0123456789abcdef0")));
        assert!(name_may_match(name, None, Some("sg-0123456789abcdef0")));
        assert!(!name_may_match(name, None, Some("sg-ffff")));
        // Sanitized: a bucket's dots are dashes in the name.
        assert!(name_may_match(
            "S3-001-my-bucket-example-0123456789abcdef01234567",
            None,
            Some("my.bucket.example")
        ));
    }

    #[test]
    fn outcome_names_compare_loosely() {
        assert!(same_name("DryRunComplete", "dry-run-complete"));
        assert!(same_name("Healed", "HEALED"));
        assert!(!same_name("Healed", "VerificationFailed"));
    }
}
