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
    let out = Command::new(binary())
        .arg("--stack-dir")
        .arg(stack_dir())
        .args(args)
        .output()
        .expect("the CLI runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "auto-remediate {args:?} failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
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
