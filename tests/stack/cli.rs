//! The audit CLI (`auto-remediate runs` and `show`) against the local stack: the built binary
//! (`cargo build --workspace --bins`), run on the stack's `stack.json`.

use std::path::PathBuf;
use std::process::Command;

use ar_tests::{stack_dir, Stack};
use serde_json::Value;

use crate::ec2::{allow, group};

/// `target/debug/auto-remediate` of this workspace (or of `CARGO_TARGET_DIR`).
fn binary() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let bin = target.join("debug/auto-remediate");
    assert!(
        bin.exists(),
        "{} is missing: build it with `cargo build --workspace --bins`",
        bin.display()
    );
    bin
}

/// Runs the CLI on the test stack; its stdout (the test fails on a non-zero exit).
fn cli(args: &[&str]) -> String {
    cli_ok_at(&stack_dir(), args)
}

/// Runs the CLI on the stack in `dir`; its stdout (the test fails on a non-zero exit).
pub fn cli_ok_at(dir: &std::path::Path, args: &[&str]) -> String {
    let (ok, stdout, stderr) = cli_at(dir, args);
    assert!(ok, "auto-remediate {args:?} failed: {stderr}\n{stdout}");
    stdout
}

fn rows(args: &[&str]) -> Vec<Value> {
    let out = cli(args);
    serde_json::from_str::<Value>(&out)
        .unwrap_or_else(|e| panic!("runs --json is not JSON ({e}): {out}"))
        .as_array()
        .expect("runs --json is an array")
        .clone()
}

#[tokio::test]
async fn runs_and_show_tell_a_healed_run_and_a_dry_run_apart() {
    let stack = Stack::connect();
    let sg = group(&stack).await;
    allow(&stack, &sg, "tcp", 22, 22, "0.0.0.0/0", "ssh from anywhere").await;
    allow(&stack, &sg, "tcp", 3389, 3389, "0.0.0.0/0", "rdp from anywhere").await;
    allow(&stack, &sg, "tcp", 22, 22, "10.0.0.0/8", "office").await;

    // EC2-002 is `auto` in tests/config.json, EC2-003 `dry-run`.
    let (healed, _) = stack.publish_for_execution(&stack.message("EC2-002", &sg)).await;
    let run = stack.wait(&healed).await;
    assert_eq!(
        run.states().last().map(String::as_str),
        Some("Healed"),
        "{:?}",
        run.task_errors()
    );
    let (dry, _) = stack.publish_for_execution(&stack.message("EC2-003", &sg)).await;
    let run = stack.wait(&dry).await;
    assert_eq!(run.states().last().map(String::as_str), Some("DryRunComplete"));

    // Newest first, both about this group, with their rule, decision and end state.
    let all = rows(&["runs", "--json", "--resource", &sg]);
    assert_eq!(all.len(), 2, "{all:#?}");
    assert_eq!(all[0]["name"], dry.as_str());
    assert_eq!(all[1]["name"], healed.as_str());
    for row in &all {
        assert_eq!(row["resource"], sg.as_str());
        assert_eq!(row["status"], "SUCCEEDED");
        assert_eq!(row["account"], stack.info.account_id.as_str());
        assert_eq!(row["region"], stack.info.region.as_str());
        assert!(row["approver"].is_null());
        assert!(row["duration_seconds"].as_f64().is_some_and(|d| d >= 0.0), "{row}");
        assert!(row["arn"].as_str().unwrap().ends_with(row["name"].as_str().unwrap()));
    }
    assert_eq!(all[0]["rule"], "EC2-003");
    assert_eq!(all[0]["decision"], "dry-run");
    assert_eq!(all[0]["outcome"], "DryRunComplete");
    assert_eq!(all[1]["rule"], "EC2-002");
    assert_eq!(all[1]["decision"], "auto");
    assert_eq!(all[1]["outcome"], "Healed");

    // Filters: outcome (loosely spelled), rule, time window, status, limit.
    let only = rows(&["runs", "--json", "--resource", &sg, "--outcome", "healed"]);
    assert_eq!(only.len(), 1);
    assert_eq!(only[0]["name"], healed.as_str());
    let only = rows(&[
        "runs",
        "--json",
        "--resource",
        &sg,
        "--rule",
        "EC2-003",
        "--since",
        "10m",
    ]);
    assert_eq!(only.len(), 1);
    assert_eq!(only[0]["name"], dry.as_str());
    assert!(rows(&["runs", "--json", "--resource", &sg, "--until", "1970-01-02T00:00:00Z"]).is_empty());
    assert!(rows(&["runs", "--json", "--resource", &sg, "--status", "FAILED"]).is_empty());
    assert_eq!(rows(&["runs", "--json", "--resource", &sg, "--limit", "1"]).len(), 1);

    // The table: a header and one aligned line per run.
    let table = cli(&["runs", "--resource", &sg]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert!(
        lines[0].starts_with("STARTED") && lines[0].contains("OUTCOME"),
        "{table}"
    );
    assert!(
        lines[1].contains("DryRunComplete") && lines[1].contains(&dry),
        "{table}"
    );
    assert!(lines[2].contains("Healed") && lines[2].contains(&healed), "{table}");
    let column = |l: &str| l.find(&sg).unwrap();
    assert_eq!(column(lines[1]), column(lines[2]), "aligned:\n{table}");

    // show: timeline, finding, decision, plan, before → after, verification, console URL.
    let shown = cli(&["show", &healed]);
    for state in [
        "Classify",
        "Route",
        "Remediate",
        "AfterRemediate",
        "Verify",
        "AfterVerify",
        "Healed",
    ] {
        assert!(
            shown.lines().any(|l| l.trim_start().starts_with(state)),
            "no {state} in:\n{shown}"
        );
    }
    assert!(shown.contains("SUCCEEDED, ended in Healed"), "{shown}");
    assert!(shown.contains(&format!("resource  {sg}")), "{shown}");
    assert!(shown.contains("Decision   auto"), "{shown}");
    assert!(shown.contains("Before → after"), "{shown}");
    // The before → after section: one line per change, up to the next blank line.
    let diff: Vec<&str> = shown
        .lines()
        .skip_while(|l| *l != "Before → after")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect();
    let revoked: Vec<&str> = diff.iter().copied().filter(|l| l.contains("revoked ingress")).collect();
    assert_eq!((diff.len(), revoked.len()), (1, 1), "one rule revoked:\n{shown}");
    assert!(
        revoked[0].contains("tcp 22") && revoked[0].contains("0.0.0.0/0"),
        "{shown}"
    );
    assert!(shown.contains("Verified   compliant"), "{shown}");
    let arn = stack.execution_arn(&healed);
    let region = &stack.info.region;
    assert!(
        shown.contains(&format!(
            "https://{region}.console.aws.amazon.com/states/home?region={region}#/v2/executions/details/{arn}"
        )),
        "{shown}"
    );
    // By ARN too; the dry run shows its plan and changed nothing.
    assert_eq!(cli(&["show", &arn]), shown);
    let shown = cli(&["show", &dry]);
    assert!(shown.contains("Decision   dry-run"), "{shown}");
    assert!(shown.contains("ended in DryRunComplete"), "{shown}");
    assert!(shown.contains("step") && shown.contains("3389"), "{shown}");
    assert!(!shown.contains("revoked ingress"), "{shown}");
}

#[test]
fn show_of_an_unknown_execution_says_what_to_do() {
    let out = Command::new(binary())
        .arg("--stack-dir")
        .arg(stack_dir())
        .args(["show", "EC2-002-no-such-run"])
        .output()
        .expect("the CLI runs");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no execution named EC2-002-no-such-run") && err.contains("auto-remediate runs"),
        "{err}"
    );
}

/// Runs the CLI on a stack; (success, stdout, stderr).
pub fn cli_at(dir: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(binary())
        .arg("--stack-dir")
        .arg(dir)
        .args(args)
        .output()
        .expect("the CLI runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// Runs `auto-remediate undo <healed>` on the test stack and waits for the undo run
/// (`undo-<healed>`, its outcome notification checked) to end `Restored`; the CLI's stdout.
pub async fn undo_restored(stack: &Stack, healed: &str) -> String {
    let undo = format!("undo-{healed}");
    stack.watch_outcome(&undo).await;
    let (ok, out, err) = cli_at(&stack_dir(), &["undo", healed]);
    assert!(ok, "undo of {healed} failed: {err}\n{out}");
    assert!(out.contains(&format!("as execution {undo}:")), "{out}");
    assert!(out.contains("Restored and verified"), "{out}");
    let run = stack.wait(&undo).await;
    assert_eq!(
        run.states().last().map(String::as_str),
        Some("Restored"),
        "{:?}\n{out}",
        run.task_errors()
    );
    out
}

/// A group with SSH open to the world inside a wider range, plus an office rule; EC2-002 healed.
async fn healed_group(stack: &Stack) -> (String, Vec<crate::ec2::Rule>, String) {
    let sg = group(stack).await;
    allow(stack, &sg, "tcp", 20, 30, "0.0.0.0/0", "legacy range").await;
    allow(stack, &sg, "tcp", 22, 22, "10.0.0.0/8", "office").await;
    let before = crate::ec2::ingress(stack, &sg).await;
    let (name, _) = stack.publish_for_execution(&stack.message("EC2-002", &sg)).await;
    let run = stack.wait(&name).await;
    assert_eq!(
        run.states().last().map(String::as_str),
        Some("Healed"),
        "{:?}",
        run.task_errors()
    );
    assert_ne!(crate::ec2::ingress(stack, &sg).await, before);
    (sg, before, name)
}

#[tokio::test]
async fn undo_puts_back_exactly_the_revoked_rule_as_its_own_execution() {
    let stack = Stack::connect();
    let (sg, before, healed) = healed_group(&stack).await;

    let undo = format!("undo-{healed}");
    stack.watch_outcome(&undo).await;
    let (ok, out, err) = cli_at(&stack_dir(), &["undo", &healed]);
    assert!(ok, "undo failed: {err}\n{out}");
    // Its notification says Restored (Stack::wait checks it).
    assert_eq!(
        stack.wait(&undo).await.states().last().map(String::as_str),
        Some("Restored")
    );
    assert!(out.contains(&format!("as execution {undo}")), "{out}");
    assert!(out.contains("Restored and verified"), "{out}");
    // Re-read: the wide rule is back with its description, the narrowed ranges are gone.
    assert_eq!(crate::ec2::ingress(&stack, &sg).await, before);

    // Its own audited execution, with the original's finding, healed (restored and verified).
    let rows = rows(&["runs", "--json", "--resource", &sg]);
    let row = rows
        .iter()
        .find(|r| r["name"] == undo.as_str())
        .unwrap_or_else(|| panic!("{rows:#?}"));
    assert_eq!(row["outcome"], "Restored");
    assert_eq!(row["rule"], "EC2-002");
    let shown = cli(&["show", &undo]);
    assert!(shown.contains("add ingress"), "{shown}");

    // Twice is refused, naming the undo run.
    let (ok, out, _) = cli_at(&stack_dir(), &["undo", &healed]);
    assert!(!ok);
    assert!(out.contains(&format!("auto-remediate show {undo}")), "{out}");
    // An undo is not undone.
    let (ok, out, _) = cli_at(&stack_dir(), &["undo", &undo]);
    assert!(!ok);
    assert!(out.contains("is itself an undo"), "{out}");
    assert_eq!(crate::ec2::ingress(&stack, &sg).await, before);

    // The undo run was given the run to undo and nothing else: its states came from the record.
    let mut finding = input_finding(&stack, &undo).await;
    assert_eq!(
        finding["undo"],
        serde_json::json!({ "execution": stack.execution_arn(&healed) })
    );
    // Started by hand, an undo of the undo is refused from the record (it was an undo).
    finding["undo"] = serde_json::json!({ "execution": stack.execution_arn(&undo) });
    let run = start_by_hand(&stack, &ar_tests::unique("undo-of-undo"), finding).await;
    assert!(
        run.task_errors().iter().any(|e| e == "CannotUndo"),
        "{:?}",
        run.task_errors()
    );
    assert_eq!(crate::ec2::ingress(&stack, &sg).await, before);
}

#[tokio::test]
async fn undo_refuses_after_a_manual_change_and_shows_it() {
    let stack = Stack::connect();
    let (sg, _, healed) = healed_group(&stack).await;
    allow(&stack, &sg, "tcp", 443, 443, "0.0.0.0/0", "added by hand").await;
    let now = crate::ec2::ingress(&stack, &sg).await;

    let (ok, out, err) = cli_at(&stack_dir(), &["undo", &healed]);
    assert!(!ok, "{out}");
    assert!(out.contains("changed since its fix"), "{out}\n{err}");
    assert!(
        out.contains(r#"tcp 443 from 0.0.0.0/0 ("added by hand")"#),
        "the difference is shown: {out}"
    );
    assert_eq!(crate::ec2::ingress(&stack, &sg).await, now, "nothing was changed");
    assert!(
        !stack.execution_exists(&format!("undo-{healed}")).await,
        "no undo run was started"
    );
}

#[tokio::test]
async fn undo_of_a_dry_run_refuses() {
    let stack = Stack::connect();
    let sg = group(&stack).await;
    allow(&stack, &sg, "tcp", 3389, 3389, "0.0.0.0/0", "rdp from anywhere").await;
    let (dry, _) = stack.publish_for_execution(&stack.message("EC2-003", &sg)).await;
    let run = stack.wait(&dry).await;
    assert_eq!(run.states().last().map(String::as_str), Some("DryRunComplete"));
    let (ok, out, _) = cli_at(&stack_dir(), &["undo", &dry]);
    assert!(!ok);
    assert!(out.contains("changed nothing (a dry run writes nothing)"), "{out}");
    assert!(!stack.execution_exists(&format!("undo-{dry}")).await);
}

#[tokio::test]
async fn undo_restores_exactly_the_removed_bucket_grant() {
    use crate::s3::{bucket_with, group as grant, live_grants, user, ALL, PARTNER};
    let stack = Stack::connect();
    let (bucket, _) = bucket_with(&stack, vec![user(PARTNER, "READ_ACP"), grant(ALL, "READ")]).await;
    let before = live_grants(&stack, &bucket).await;
    let (healed, _) = stack.publish_for_execution(&stack.message("S3-001", &bucket)).await;
    assert_eq!(
        stack.wait(&healed).await.states().last().map(String::as_str),
        Some("Healed")
    );
    assert_ne!(live_grants(&stack, &bucket).await, before);

    let (ok, out, err) = cli_at(&stack_dir(), &["undo", &healed]);
    assert!(ok, "{err}\n{out}");
    assert!(out.contains("add grant READ to"), "{out}");
    let mut after = live_grants(&stack, &bucket).await;
    let mut want = before.clone();
    after.sort();
    want.sort();
    assert_eq!(after, want, "the AllUsers READ grant is back, nothing else changed");
}

#[tokio::test]
async fn undo_goes_through_the_approval_gate_by_default() {
    // The approve stack's config leaves `undo.mode` at its default, `approve`.
    let stack = Stack::connect_named("approve");
    let stack_dir = {
        let base = stack_dir();
        base.with_file_name(format!("{}-approve", base.file_name().unwrap().to_str().unwrap()))
    };
    // S3-002 is `auto` by the catalog's default there: heal a bucket, then undo it.
    use crate::s3::{bucket_with, group as grant, live_grants, ALL};
    let (bucket, _) = bucket_with(&stack, vec![grant(ALL, "READ_ACP")]).await;
    let (healed, _) = stack.publish_for_execution(&stack.message("S3-002", &bucket)).await;
    assert_eq!(
        stack.wait(&healed).await.states().last().map(String::as_str),
        Some("Healed")
    );
    let fixed = live_grants(&stack, &bucket).await;

    let (ok, out, err) = cli_at(&stack_dir, &["undo", &healed]);
    assert!(ok, "{err}\n{out}");
    assert!(
        out.contains("Waiting for approval: the approvers were e-mailed (`undo.mode` is approve)"),
        "{out}"
    );
    assert_eq!(
        live_grants(&stack, &bucket).await,
        fixed,
        "nothing is restored before approval"
    );
    // The undo run waits at the gate; stop it so it leaves nothing behind.
    let arn = stack.execution_arn(&format!("undo-{healed}"));
    let d = stack.sfn.describe_execution().execution_arn(&arn).send().await.unwrap();
    assert_eq!(d.status().as_str(), "RUNNING");
    let _ = stack.sfn.stop_execution().execution_arn(&arn).send().await;
}

/// The finding a run was started with (its execution input's `finding`).
async fn input_finding(stack: &Stack, name: &str) -> Value {
    let d = stack
        .sfn
        .describe_execution()
        .execution_arn(stack.execution_arn(name))
        .send()
        .await
        .expect("DescribeExecution");
    let input: Value = serde_json::from_str(d.input().unwrap_or("{}")).expect("JSON input");
    input["finding"].clone()
}

/// Starts an execution by hand, as anyone with `states:StartExecution` could, and waits for it.
async fn start_by_hand(stack: &Stack, name: &str, finding: Value) -> ar_tests::Execution {
    stack
        .sfn
        .start_execution()
        .state_machine_arn(&stack.info.state_machine_arn)
        .name(name)
        .input(serde_json::json!({ "finding": finding }).to_string())
        .send()
        .await
        .expect("StartExecution");
    stack.wait(name).await
}

#[tokio::test]
async fn an_undo_started_by_hand_with_a_forged_before_state_is_refused_and_nothing_changes() {
    let stack = Stack::connect();
    let (sg, before, healed) = healed_group(&stack).await;
    let fixed = crate::ec2::ingress(&stack, &sg).await;
    // The attacker's input: undo the real run, "restoring" all traffic from anywhere.
    let mut finding = input_finding(&stack, &healed).await;
    let forged = serde_json::json!({
        "kind": "ec2-ports", "group_id": sg, "rules": [
            {"protocol": "-1", "from_port": -1, "to_port": -1, "cidr": "0.0.0.0/0", "description": "forged"}
        ]
    });
    finding["undo"] = serde_json::json!({ "execution": stack.execution_arn(&healed), "before": forged });
    let name = ar_tests::unique("forged-undo");
    let run = start_by_hand(&stack, &name, finding.clone()).await;
    assert_eq!(
        run.states().last().map(String::as_str),
        Some("Rejected"),
        "{:?}",
        run.states()
    );
    let errors = run.task_errors();
    assert!(
        errors.iter().any(|e| e == "InvalidInput"),
        "refused by name: {errors:?}"
    );
    assert!(
        failure_causes(&run).contains("unknown field `before`"),
        "the field is named: {}",
        failure_causes(&run)
    );
    assert!(!run.states().iter().any(|s| s == "Remediate"), "{:?}", run.states());
    assert_eq!(crate::ec2::ingress(&stack, &sg).await, fixed, "nothing was changed");
    assert_ne!(crate::ec2::ingress(&stack, &sg).await, before);

    // `after` alone is refused by name too.
    finding["undo"] = serde_json::json!({ "execution": stack.execution_arn(&healed), "after": forged });
    let name = ar_tests::unique("forged-undo");
    let run = start_by_hand(&stack, &name, finding).await;
    assert_eq!(
        run.states().last().map(String::as_str),
        Some("Rejected"),
        "{:?}",
        run.states()
    );
    assert!(
        failure_causes(&run).contains("unknown field `after`"),
        "the field is named: {}",
        failure_causes(&run)
    );
    assert_eq!(crate::ec2::ingress(&stack, &sg).await, fixed, "nothing was changed");
}

/// The causes of a run's failed Lambda tasks, one a line.
fn failure_causes(run: &ar_tests::Execution) -> String {
    run.events
        .iter()
        .filter_map(|e| e.lambda_function_failed_event_details())
        .filter_map(|d| d.cause().map(str::to_string))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn an_undo_naming_a_run_with_no_recorded_fix_is_refused() {
    let stack = Stack::connect();
    let (sg, _, healed) = healed_group(&stack).await;
    let fixed = crate::ec2::ingress(&stack, &sg).await;
    let finding = input_finding(&stack, &healed).await;

    // A run that never existed, and a dry run (which records no fix), by ARN.
    let dry_sg = group(&stack).await;
    allow(&stack, &dry_sg, "tcp", 3389, 3389, "0.0.0.0/0", "rdp from anywhere").await;
    let (dry, _) = stack.publish_for_execution(&stack.message("EC2-003", &dry_sg)).await;
    assert_eq!(
        stack.wait(&dry).await.states().last().map(String::as_str),
        Some("DryRunComplete")
    );
    let dry_finding = input_finding(&stack, &dry).await;
    for (mut f, run) in [
        (finding.clone(), stack.execution_arn("EC2-002-never-ran")),
        (dry_finding, stack.execution_arn(&dry)),
    ] {
        f["undo"] = serde_json::json!({ "execution": run });
        let name = ar_tests::unique("undo-unrecorded");
        let run = start_by_hand(&stack, &name, f).await;
        assert!(
            run.task_errors().iter().any(|e| e == "CannotUndo"),
            "refused by name: {:?} {:?}",
            run.task_errors(),
            run.states()
        );
        assert!(!run.states().iter().any(|s| s == "Remediate"), "{:?}", run.states());
    }
    assert_eq!(crate::ec2::ingress(&stack, &sg).await, fixed, "nothing was changed");

    // A real run's record names its resource: an undo of it about another group is refused.
    let other = group(&stack).await;
    allow(&stack, &other, "tcp", 80, 80, "10.0.0.0/8", "web").await;
    let other_before = crate::ec2::ingress(&stack, &other).await;
    let mut f = finding.clone();
    f["resource"] = Value::String(other.clone());
    f["undo"] = serde_json::json!({ "execution": stack.execution_arn(&healed) });
    let run = start_by_hand(&stack, &ar_tests::unique("undo-elsewhere"), f).await;
    assert!(
        run.task_errors().iter().any(|e| e == "CannotUndo"),
        "{:?}",
        run.task_errors()
    );
    assert_eq!(crate::ec2::ingress(&stack, &other).await, other_before);
}
