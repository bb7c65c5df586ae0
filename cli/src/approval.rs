//! The demo's approval scenario: RDP open to the world (EC2-003, in `approve` mode in
//! local/config.json), so the execution stops in `RequestApproval` and e-mails each approver
//! signed links. The local stack also writes each e-mail to its outbox folder; the demo finds it
//! there, and then either follows the approve link itself (GET shows a confirmation page and
//! changes nothing; POSTing the link's fields approves) or, with `--wait-for-approval`, waits for
//! a person to do so in a browser.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use ar_core::families::ec2_world_port::IngressRule;
use ar_core::state::ApprovalStatus;
use aws_sdk_sfn::types::ExecutionStatus;
use serde_json::Value;

use crate::case::{heading, print_remediation, publish, Case, TIMEOUT};
use crate::checks::Checks;
use crate::progress::{Run, Watch};
use crate::stack::Stack;
use crate::{group, http};

/// The state in which the execution waits for a decision.
const GATE: &str = "RequestApproval";
/// How long the approval e-mail may take to appear in the outbox once the gate is entered.
const MAIL_TIMEOUT: Duration = Duration::from_secs(20);
/// The approval deadline when the execution does not say (the config's default).
const DEFAULT_APPROVAL_TIMEOUT: Duration = Duration::from_secs(3600);

/// An approval e-mail, as the local stack wrote it to the outbox.
#[derive(Debug, Clone)]
pub struct Mail {
    pub html: PathBuf,
    pub to: String,
    pub subject: String,
    pub approve: String,
}

/// What the scenario saw, for the checks.
pub struct Outcome {
    sg: String,
    rules_before: Vec<IngressRule>,
    rules_after: Vec<IngressRule>,
    /// The finished execution, or what went wrong before it finished.
    run: Result<Run, String>,
    /// Who may have decided: the approver whose link the demo followed, or (when a person
    /// decides) everyone e-mailed about the group.
    approvers: Vec<String>,
    /// Whether opening the link changed nothing (when the demo followed it itself).
    get_changed_nothing: Option<Result<(), String>>,
}

/// Runs the scenario as steps `step` and `step + 1`.
pub async fn run(stack: &Stack, step: u32, now: u64, wait_for_approval: bool) -> Result<Outcome, String> {
    heading(
        step,
        "A security group with RDP open to the world, under the approval gate",
    );
    let vpc = group::default_vpc(stack).await?;
    let sg = group::create_rdp_open(stack, &vpc, &format!("demo-rdp-{now}")).await?;
    println!("  created {sg} in {vpc}; its ingress rules before:");
    let rules_before = group::live_rules(stack, &sg).await?;
    group::print_rules(&rules_before, "    ");
    let case = Case {
        rule_id: "EC2-003",
        region: stack.info.region.clone(),
        text: format!(
            "Security group {sg} allows unrestricted inbound access on TCP port {} (RDP).",
            group::RDP
        ),
        resource: sg.clone(),
    };
    println!("  EC2-003 is in `approve` mode (local/config.json): nothing changes until an approver confirms");
    let published = SystemTime::now();
    publish(stack, &case, now).await?;

    let mut outcome = Outcome {
        sg: sg.clone(),
        rules_before,
        rules_after: Vec::new(),
        run: Err("not started".into()),
        approvers: Vec::new(),
        get_changed_nothing: None,
    };
    outcome.run = gate(stack, step, &case, published, wait_for_approval, &mut outcome).await;
    if wait_for_approval {
        outcome.approvers = mails_about(&outbox(stack), &sg).into_iter().map(|m| m.to).collect();
    }

    outcome.rules_after = group::live_rules(stack, &sg).await?;
    println!();
    println!("  EC2-003 on {sg}:");
    if let Ok(run) = &outcome.run {
        match approval(run) {
            Some(a) => println!("    decision: {}", describe_decision(&a)),
            None if run.last_state() == Some("ApprovalExpired") => {
                println!("    decision: none before the deadline: the approval expired, nothing was changed")
            }
            None => println!("    decision: none ({})", ended_in(run)),
        }
    }
    print_remediation(&outcome.run);
    println!("    the ingress rules after, re-read from EC2:");
    group::print_rules(&outcome.rules_after, "      ");
    Ok(outcome)
}

/// From publishing to the end of the execution: the gate, the e-mail, the decision.
async fn gate(
    stack: &Stack,
    step: u32,
    case: &Case,
    published: SystemTime,
    wait_for_approval: bool,
    outcome: &mut Outcome,
) -> Result<Run, String> {
    let label = case.rule_id;
    let mut watch = Watch::find(stack, label, &case.execution_prefix(), published, TIMEOUT).await?;
    let paused = watch.follow(stack, Some(GATE), TIMEOUT).await?;
    if paused.status != ExecutionStatus::Running {
        return Ok(paused);
    }
    let deadline = paused
        .state_input(GATE)
        .and_then(|input| input["classification"]["approval_timeout_seconds"].as_u64())
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_APPROVAL_TIMEOUT);

    let mail = wait_for_mail(&outbox(stack), &outcome.sg).await?;
    println!("  the approval e-mail to {}, from the outbox:", mail.to);
    println!("    subject: {}", mail.subject);
    println!("    open it: {}", mail.html.display());
    println!("    approve: {}", mail.approve);

    if wait_for_approval {
        heading(step + 1, "Your turn: approve (or reject) in a browser");
        println!("  {}", mail.approve);
        println!(
            "  open it in a browser and confirm; waiting… (at most {} s, the approval deadline)",
            deadline.as_secs()
        );
        // Past the deadline Step Functions ends the execution itself (ApprovalExpired).
        return watch.follow(stack, None, deadline + TIMEOUT).await;
    }

    heading(
        step + 1,
        "auto-remediate approves it itself (with --wait-for-approval, you would)",
    );
    outcome.approvers = vec![mail.to.clone()];
    let page = http::get(&mail.approve).await?;
    println!(
        "  GET the approve link → {} (a confirmation page: {})",
        page.status_line(),
        status_text(&page)
    );
    // As the tests do: give a wrongly acting GET the time to have an effect.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let unchanged = unchanged_after_get(stack, &watch, outcome, page.status.as_u16()).await;
    match &unchanged {
        Ok(()) => println!(
            "    nothing changed yet: the execution still waits in {GATE}, and re-read from EC2 the group still has:"
        ),
        Err(e) => println!("    ✘ {e}; the group now has:"),
    }
    let rules = group::live_rules(stack, &outcome.sg).await?;
    group::print_rules(&rules, "      ");
    outcome.get_changed_nothing = Some(unchanged);

    let (path, _) = mail.approve.split_once('?').unwrap_or((&mail.approve, ""));
    let response = http::post_link(&mail.approve).await?;
    println!(
        "  POST the link's fields to {path} (the page's Approve button) → {}",
        response.status_line()
    );
    println!("    status: {}", status_text(&response));
    if response.status != 200 {
        return Err(format!(
            "approving failed: POST {path} answered {}: {}",
            response.status_line(),
            status_text(&response)
        ));
    }
    watch.follow(stack, None, TIMEOUT).await
}

/// After a GET of the approve link: the execution still waits and the rules are as before.
async fn unchanged_after_get(stack: &Stack, watch: &Watch, outcome: &Outcome, status: u16) -> Result<(), String> {
    if status != 200 {
        return Err(format!("GET on the approve link answered {status}, not 200"));
    }
    let execution = watch.status(stack).await?;
    if execution != ExecutionStatus::Running {
        return Err(format!("the execution is {} after a mere GET", execution.as_str()));
    }
    let rules = group::live_rules(stack, &outcome.sg).await?;
    if !rules.iter().any(|r| group::opens_to_world(r, group::RDP)) || rules != outcome.rules_before {
        return Err("the group's rules changed after a mere GET".into());
    }
    Ok(())
}

/// The text of the page's status banner (`id="status"`).
fn status_text(response: &http::Response) -> String {
    http::element_text(&response.body, "status").unwrap_or_else(|| "(the page has no status element)".into())
}

/// `$.approval` of the execution's output.
fn approval(run: &Run) -> Option<Value> {
    run.output
        .as_ref()
        .map(|o| o["approval"].clone())
        .filter(|a| a.is_object())
}

fn describe_decision(approval: &Value) -> String {
    let s = |k: &str| approval[k].as_str().unwrap_or("?").to_string();
    let consequence = match ApprovalStatus::parse(&s("decision")) {
        Some(ApprovalStatus::Approved) => "",
        Some(ApprovalStatus::Rejected) => " — nothing was changed: the group is not healed",
        _ => " — nothing was applied",
    };
    format!(
        "{} by {} at {}{consequence}",
        s("decision"),
        s("approver"),
        s("decided_at")
    )
}

fn ended_in(run: &Run) -> String {
    format!(
        "the execution is {} in {}",
        run.status.as_str(),
        run.last_state().unwrap_or("no state")
    )
}

/// What must hold at the end: the execution was approved and healed the group, by one of the
/// approvers, opening the link changed nothing, and the group lost only its world-open rule.
pub fn check(checks: &mut Checks, outcome: &Outcome) {
    match &outcome.run {
        Ok(run) => {
            let states = run.states();
            checks.check_why(
                format!(
                    "EC2-003 execution {} waited in {GATE}, then SUCCEEDED and ended in Healed",
                    run.name
                ),
                run.succeeded() && states.contains(&GATE) && run.last_state() == Some("Healed"),
                || {
                    let path = states.join(" → ");
                    match approval(run) {
                        Some(a) if a["decision"] == ApprovalStatus::Rejected.as_str() => {
                            format!("rejected by {}: {path}", a["approver"].as_str().unwrap_or("?"))
                        }
                        _ if run.succeeded() => format!("it succeeded without healing: {path}"),
                        _ => format!("{}: {path}; {}", run.status.as_str(), run.failure()),
                    }
                },
            );
            let found = approval(run);
            let approved_by = |a: &Value| {
                a["decision"] == ApprovalStatus::Approved.as_str()
                    && outcome.approvers.iter().any(|who| a["approver"] == who.as_str())
                    && a["decided_at"].as_str().is_some_and(|t| !t.is_empty())
            };
            checks.check_why(
                format!(
                    "EC2-003 output $.approval: approved by {}, with its time",
                    match outcome.approvers.as_slice() {
                        [] => "an approver".to_string(),
                        [one] => one.clone(),
                        many => format!("one of {}", many.join(", ")),
                    }
                ),
                found.as_ref().is_some_and(approved_by),
                || match &found {
                    Some(a) => format!("found {a}"),
                    None => format!("no $.approval in the output ({})", ended_in(run)),
                },
            );
        }
        Err(e) => checks.check_why(
            format!("EC2-003 execution for {} was approved and finished", outcome.sg),
            false,
            || e.clone(),
        ),
    }
    if let Some(unchanged) = &outcome.get_changed_nothing {
        checks.check_why(
            "EC2-003: opening the approve link (GET) changed nothing",
            unchanged.is_ok(),
            || unchanged.clone().err().unwrap_or_default(),
        );
    }
    group::check_rdp(checks, &outcome.sg, &outcome.rules_before, &outcome.rules_after);
}

fn outbox(stack: &Stack) -> PathBuf {
    PathBuf::from(&stack.info.outbox_dir)
}

/// Polls the outbox (at most [`MAIL_TIMEOUT`]) for an approval e-mail about `resource`.
async fn wait_for_mail(outbox: &Path, resource: &str) -> Result<Mail, String> {
    let deadline = Instant::now() + MAIL_TIMEOUT;
    loop {
        if let Some(mail) = mails_about(outbox, resource).into_iter().next() {
            return Ok(mail);
        }
        if Instant::now() > deadline {
            return Err(format!(
                "no approval e-mail about {resource} in {} after {} s (see the gateway log)",
                outbox.display(),
                MAIL_TIMEOUT.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every approval e-mail in the outbox whose text names `resource`, by recipient.
pub fn mails_about(outbox: &Path, resource: &str) -> Vec<Mail> {
    let Ok(dir) = std::fs::read_dir(outbox) else {
        return Vec::new();
    };
    let mut mails: Vec<Mail> = dir
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.extension().and_then(|e| e.to_str()) == Some("eml"))
        .filter_map(|eml| {
            let text = std::fs::read_to_string(&eml).ok()?;
            if !text.contains(resource) {
                return None;
            }
            let mut mail = parse_eml(&text)?;
            mail.html = eml.with_extension("html");
            Some(mail)
        })
        .collect();
    mails.sort_by(|a, b| a.to.cmp(&b.to));
    mails
}

/// The recipient, subject and approve link of an approval e-mail (`None` when one is missing,
/// e.g. a file still being written).
fn parse_eml(text: &str) -> Option<Mail> {
    let line = |prefix: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(prefix))
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    Some(Mail {
        html: PathBuf::new(),
        to: line("To: ")?,
        subject: line("Subject: ")?,
        approve: line("Review and approve: ")?,
    })
}

#[cfg(test)]
mod tests {
    use super::parse_eml;

    #[test]
    fn the_plain_text_part_gives_recipient_subject_and_link() {
        let eml = "From: a@example.com\r\nTo: security-oncall@example.com\r\n\
                   Subject: [auto-remediate] Approve EC2-003 on sg-1 (123, us-east-1)?\r\n\r\n\
                   --b\r\nContent-Type: text/plain\r\n\r\nReview and approve: http://127.0.0.1:4512/approvals/ab?action=approve\n\
                   Review and reject:  http://127.0.0.1:4512/approvals/ab?action=reject\n";
        let mail = parse_eml(eml).unwrap();
        assert_eq!(mail.to, "security-oncall@example.com");
        assert_eq!(
            mail.subject,
            "[auto-remediate] Approve EC2-003 on sg-1 (123, us-east-1)?"
        );
        assert_eq!(mail.approve, "http://127.0.0.1:4512/approvals/ab?action=approve");
        assert!(parse_eml("To: x@example.com\r\n").is_none());
    }
}
