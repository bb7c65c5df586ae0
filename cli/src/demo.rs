//! `auto-remediate demo`: the whole flow on the local stack, end to end, in eight steps.
//!
//! 1. create a bucket readable by anyone (AllUsers READ) that also has grants that must stay;
//! 2. create a security group with SSH open to the world, and rules that must stay;
//! 3. publish a Conformity FAILURE for each (S3-001, EC2-002) to the Conformity SNS topic;
//! 4. follow both Step Functions executions state by state;
//! 5. show each plan (from the Remediate state's output) and the resource as it is now;
//! 6. the approval gate: a group with RDP open to the world (EC2-003, `approve` mode), followed
//!    until its execution waits in `RequestApproval`, and the e-mail found in the outbox;
//! 7. the approve link followed by the demo itself, or, with `--wait-for-approval`, by a person
//!    in a browser; then the execution followed to its end (see [`crate::approval`]);
//! 8. prove, from live state, that all three healed and nothing else changed.
//!
//! Names are unique per run (`demo-public-<unix-ms>`), so the demo can run again on the same stack.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::case::{heading, print_remediation, publish, Case, TIMEOUT};
use crate::checks::Checks;
use crate::progress::{self, Run};
use crate::stack::Stack;
use crate::{approval, bucket, group};

/// Runs the demo; `Ok(true)` when every check passed. With `wait_for_approval`, a person decides
/// on the approval e-mail instead of the demo.
pub async fn run(stack_dir: &Path, wait_for_approval: bool) -> Result<bool, String> {
    let stack = Stack::load(stack_dir)?;
    let now = now_ms();
    println!(
        "auto-remediate demo on the local stack at {} (account {}, region {})",
        stack.info.endpoint_url, stack.info.account_id, stack.info.region
    );

    heading(1, "A bucket anyone on the internet can read");
    let bucket = format!("demo-public-{now}");
    bucket::create_public(&stack, &bucket).await?;
    println!("  created s3://{bucket}; its ACL before:");
    let acl_before = bucket::live_acl(&stack, &bucket).await?;
    bucket::print_acl(&acl_before, "    ");

    heading(2, "A security group with SSH open to the world");
    let vpc = group::default_vpc(&stack).await?;
    let sg = group::create_open(&stack, &vpc, &format!("demo-ssh-{now}")).await?;
    println!("  created {sg} in {vpc}; its ingress rules before:");
    let rules_before = group::live_rules(&stack, &sg).await?;
    group::print_rules(&rules_before, "    ");

    heading(3, "Conformity reports both failures to its SNS topic");
    let cases = [
        Case {
            rule_id: "S3-001",
            region: "global".into(),
            text: format!("Bucket {bucket} allows public 'READ' access."),
            resource: bucket.clone(),
        },
        Case {
            rule_id: "EC2-002",
            region: stack.info.region.clone(),
            text: format!("Security group {sg} allows unrestricted inbound access on TCP port 22 (SSH)."),
            resource: sg.clone(),
        },
    ];
    let published = SystemTime::now();
    for case in &cases {
        publish(&stack, case, now).await?;
    }

    heading(
        4,
        "auto-remediate heals them (Step Functions, state by state, time since published)",
    );
    let prefixes = cases.each_ref().map(Case::execution_prefix);
    let (s3_run, ec2_run) = tokio::join!(
        progress::watch(&stack, cases[0].rule_id, &prefixes[0], published, TIMEOUT),
        progress::watch(&stack, cases[1].rule_id, &prefixes[1], published, TIMEOUT),
    );

    heading(5, "What changed");
    println!("  S3-001 on {bucket}:");
    print_remediation(&s3_run);
    let acl = bucket::live_acl(&stack, &bucket).await?;
    println!("    the ACL after, re-read from S3:");
    bucket::print_acl(&acl, "      ");
    println!();
    println!("  EC2-002 on {sg}:");
    print_remediation(&ec2_run);
    let rules = group::live_rules(&stack, &sg).await?;
    println!("    the ingress rules after, re-read from EC2:");
    group::print_rules(&rules, "      ");

    let gated = approval::run(&stack, 6, now, wait_for_approval).await?;

    heading(8, "Proof, from live state");
    let mut checks = Checks::default();
    check_run(&mut checks, &cases[0], &s3_run);
    bucket::check(&mut checks, &bucket, &acl_before, &acl);
    check_run(&mut checks, &cases[1], &ec2_run);
    group::check(&mut checks, &sg, &rules_before, &rules);
    approval::check(&mut checks, &gated);
    Ok(checks.print_summary())
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

fn check_run(checks: &mut Checks, case: &Case, run: &Result<Run, String>) {
    match run {
        Ok(run) => checks.check_why(
            format!("{} execution {} SUCCEEDED and ended in Healed", case.rule_id, run.name),
            run.succeeded() && run.last_state() == Some("Healed"),
            || {
                let states = run.states().join(" → ");
                if run.succeeded() {
                    format!("it succeeded without healing: {states}")
                } else {
                    format!("{}: {states}; {}", run.status.as_str(), run.failure())
                }
            },
        ),
        Err(e) => checks.check_why(
            format!("{} execution for {} finished", case.rule_id, case.resource),
            false,
            || e.clone(),
        ),
    }
}
