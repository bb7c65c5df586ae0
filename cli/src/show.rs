//! `auto-remediate show <execution>`: one run's whole story, from its description and history.

use std::fmt::Write;

use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent};

use crate::audit::{self, kebab, Story, Target};

/// The run as text: timeline, finding, decision, plan, approval, before → after, verification,
/// failure, console URL.
pub async fn render(target: &Target, execution: &str) -> Result<String, String> {
    let (arn, d) = target.find(execution).await?;
    let events = target.history(&arn).await?;
    let doc = audit::state_document(d.input(), d.output(), &events);
    let story = Story::read(&doc);
    let status = d.status();
    let outcome = audit::outcome(status, &story, &events);

    let mut o = String::new();
    let _ = writeln!(o, "Execution  {}", d.name().unwrap_or(execution));
    let _ = writeln!(o, "ARN        {arn}");
    let _ = writeln!(
        o,
        "Status     {}{}",
        status.as_str(),
        outcome.as_ref().map(|x| format!(", ended in {x}")).unwrap_or_default()
    );
    let started = d.start_date();
    let _ = writeln!(o, "Started    {}", audit::rfc3339_ms(started));
    if let Some(stop) = d.stop_date() {
        let _ = writeln!(
            o,
            "Stopped    {} (after {})",
            audit::rfc3339_ms(stop),
            audit::human_duration(stop.as_secs_f64() - started.as_secs_f64())
        );
    }
    let _ = writeln!(o, "Console    {}", audit::console_url(&target.region, &arn));

    if let Some(f) = &story.finding {
        let _ = writeln!(o, "\nFinding");
        let title = f.rule_title.as_ref().map(|t| format!(" ({t})")).unwrap_or_default();
        let _ = writeln!(o, "  rule      {}{title}", f.rule_id);
        let _ = writeln!(o, "  resource  {}", f.resource);
        let _ = writeln!(o, "  account   {}", f.account_id);
        let _ = writeln!(o, "  region    {}", f.region);
        if let Some(m) = &f.message {
            let _ = writeln!(o, "  message   {m}");
        }
    }

    let _ = writeln!(o, "\nTimeline");
    for line in timeline(&events, d.stop_date().map(|s| s.as_secs_f64())) {
        let _ = writeln!(o, "  {line}");
    }

    if let Some(c) = &story.classification {
        let _ = writeln!(o, "\nDecision   {} (mode {})", kebab(&c.decision), kebab(&c.mode));
        let _ = writeln!(o, "  why      {}", c.reason);
        for offending in &c.offending {
            let _ = writeln!(o, "  failing  {offending}");
        }
    }

    let plan = story
        .remediation
        .as_ref()
        .and_then(|r| r.plan.as_ref())
        .or(story.classification.as_ref().and_then(|c| c.plan.as_ref()));
    if let Some(p) = plan {
        let _ = writeln!(o, "\nPlan       {}", p.summary);
        for s in &p.steps {
            let _ = writeln!(o, "  step     {s}");
        }
        for s in &p.removes {
            let _ = writeln!(o, "  removes  {s}");
        }
        for s in &p.untouched {
            let _ = writeln!(o, "  keeps    {s}");
        }
        for s in &p.cannot_keep {
            let _ = writeln!(o, "  loses    {s}");
        }
    }

    if let Some(a) = &story.approval {
        let _ = writeln!(o, "\nApproval   {} by {} at {}", a.decision, a.approver, a.decided_at);
    } else if story.decision().as_deref() == Some("approve") {
        let none = if *status == ExecutionStatus::Running {
            "none yet"
        } else {
            "none: no one decided"
        };
        let _ = writeln!(o, "\nApproval   {none}");
    }

    if let Some(r) = &story.remediation {
        let same = r.plan.as_ref().is_some_and(|p| p.summary == r.reason);
        let _ = writeln!(
            o,
            "\nRemediate  {}{}",
            kebab(&r.outcome),
            if same { String::new() } else { format!(": {}", r.reason) }
        );
        for a in &r.applied {
            let _ = writeln!(o, "  applied  {a}");
        }
        match (&r.before, story.after()) {
            (Some(before), Some(after)) => {
                let lines = ar_core::families::diff(before, &after);
                let _ = writeln!(o, "\nBefore → after");
                if lines.is_empty() {
                    let _ = writeln!(o, "  (no difference)");
                }
                for l in lines {
                    let _ = writeln!(o, "  {l}");
                }
            }
            (Some(_), None) => {
                let _ = writeln!(
                    o,
                    "\nBefore → after\n  (the before-state is recorded; nothing was written)"
                );
            }
            _ => {}
        }
    }

    if let Some(v) = &story.verification {
        let verdict = if v.compliant && story.is_undo() {
            "restored: the live resource is as recorded before the fix it undid"
        } else if v.compliant {
            "compliant: the rule's check passes on the live resource"
        } else {
            "not compliant yet"
        };
        let _ = writeln!(o, "\nVerified   {verdict}");
    }

    if *status != ExecutionStatus::Succeeded && *status != ExecutionStatus::Running {
        let _ = writeln!(o, "\nFailure");
        if let Some(error) = d.error() {
            let _ = writeln!(o, "  error    {error}");
        }
        if let Some(cause) = d.cause() {
            let _ = writeln!(o, "  cause    {cause}");
        }
        if let Some((error, cause)) = &story.error {
            let cause = if cause.is_empty() {
                String::new()
            } else {
                format!(": {cause}")
            };
            let _ = writeln!(o, "  task     {error}{cause}");
        }
    }
    Ok(o)
}

/// One line per state entered: its name, when, and how long it took (until it was exited, or
/// for an end state until the execution stopped).
fn timeline(events: &[HistoryEvent], stopped: Option<f64>) -> Vec<String> {
    let first = events.first().map(|e| e.timestamp().as_secs_f64()).unwrap_or_default();
    let mut lines = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let Some(entered) = e.state_entered_event_details() else {
            continue;
        };
        let at = e.timestamp().as_secs_f64();
        let exited = events[i + 1..]
            .iter()
            .find(|x| {
                x.state_exited_event_details()
                    .is_some_and(|d| d.name() == entered.name())
            })
            .map(|x| x.timestamp().as_secs_f64());
        let next_entered = events[i + 1..]
            .iter()
            .find(|x| x.state_entered_event_details().is_some())
            .map(|x| x.timestamp().as_secs_f64());
        let took = exited
            .or(next_entered)
            .or(stopped)
            .map(|end| audit::human_duration((end - at).max(0.0)))
            .unwrap_or_else(|| "running".into());
        lines.push(format!(
            "{:<22} {:<24}  {:>9}  {took}",
            entered.name(),
            audit::rfc3339_ms(e.timestamp()),
            format!("+{:.2} s", at - first)
        ));
    }
    lines
}
