//! The local stack refuses, at start, a config that cannot work: `ar-local` exits non-zero naming
//! the field, before it binds or provisions anything. (No running stack needed.)

use std::path::PathBuf;
use std::process::{Command, Output};

use ar_tests::unique;

/// `target/debug/ar-local`, next to this test binary's `deps/` folder (built by `make build`).
fn ar_local() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let bin = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps")
        .join(format!("ar-local{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: build it with `cargo build --workspace --bins --tests`",
        bin.display()
    );
    bin
}

/// Runs ar-local with `config` (or none); returns its output and the stack dir it was given.
fn start(config: Option<&str>) -> (Output, PathBuf) {
    let dir = std::env::temp_dir().join(unique("ar-local-config"));
    std::fs::create_dir_all(&dir).unwrap();
    let mut cmd = Command::new(ar_local());
    cmd.args(["--port", "0", "--approval-port", "0", "--moto", "http://127.0.0.1:9"])
        .arg("--stack-dir")
        .arg(dir.join("stack"))
        .env_remove("AUTO_REMEDIATE_CONFIG")
        .env_remove("AUTO_REMEDIATE_CONFIG_FILE");
    if let Some(text) = config {
        let path = dir.join("config.json");
        std::fs::write(&path, text).unwrap();
        cmd.arg("--config").arg(path);
    }
    (cmd.output().expect("ar-local runs"), dir)
}

fn refused(config: Option<&str>, needles: &[&str]) {
    let (out, dir) = start(config);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{config:?}: {stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "{needle:?} not in: {stderr}");
    }
    assert!(!dir.join("stack").join("stack.json").exists(), "nothing is provisioned");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn the_gateway_refuses_approve_rules_without_approvers() {
    refused(
        Some(r#"{"rules": {"EC2-002": {"mode": "approve"}}, "approval": {"sender": "ar@example.com"}}"#),
        &[
            "ar-local: --config",
            "approval.approvers: empty",
            "EC2-002",
            "approve mode",
        ],
    );
}

#[test]
fn the_gateway_refuses_to_start_on_catalog_defaults_that_need_approvers() {
    refused(
        None,
        &[
            "no --config",
            "approval.approvers: empty",
            "approval.sender: missing",
            "S3-001",
        ],
    );
}

#[test]
fn the_gateway_refuses_unknown_rules_and_malformed_accounts() {
    let approval = r#""approval": {"approvers": ["a@example.com"], "sender": "ar@example.com"}"#;
    refused(
        Some(&format!(
            r#"{{"rules": {{"EC2-999": {{"mode": "auto"}}}}, {approval}}}"#
        )),
        &["rules.EC2-999"],
    );
    refused(
        Some(&format!(r#"{{"accounts": ["12345"], {approval}}}"#)),
        &["accounts: \"12345\""],
    );
}

#[test]
fn the_gateway_refuses_auto_for_a_rule_unconfirmable_live_unless_acknowledged() {
    refused(
        Some(
            r#"{"rules": {"TrustedAdvisor-003": {"mode": "auto"}},
                "approval": {"approvers": ["a@example.com"], "sender": "ar@example.com"}}"#,
        ),
        &[
            "ar-local: --config",
            "rules.TrustedAdvisor-003",
            "cannot be confirmed from live state",
            "rules.TrustedAdvisor-003.unverifiable_auto",
        ],
    );
}
