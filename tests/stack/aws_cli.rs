//! The stock `aws` CLI (from the venv `make` creates) works against the local endpoint.

use std::process::Command;

use ar_tests::{unique, Stack};
use serde_json::Value;

fn aws(stack: &Stack, args: &[&str]) -> Value {
    let bin = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/aws");
    let out = Command::new(bin)
        .args([
            "--endpoint-url",
            &stack.info.endpoint_url,
            "--region",
            &stack.info.region,
            "--output",
            "json",
        ])
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .output()
        .expect("the aws CLI runs (make venv installs it)");
    assert!(
        out.status.success(),
        "aws {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

#[tokio::test]
async fn the_aws_cli_publishes_a_finding_and_reads_the_healing_execution() {
    let stack = Stack::connect();
    let bucket = unique("it-cli");
    aws(&stack, &["s3api", "create-bucket", "--bucket", &bucket]);
    aws(
        &stack,
        &["s3api", "put-bucket-acl", "--bucket", &bucket, "--acl", "public-read"],
    );
    let message = stack.message("S3-001", &bucket);

    aws(
        &stack,
        &[
            "sns",
            "publish",
            "--topic-arn",
            &stack.info.topic_arn,
            "--message",
            &message.to_string(),
        ],
    );
    let name = stack.execution_name(&message);
    stack.wait(&name).await;

    let arn = stack.execution_arn(&name);
    let described = aws(
        &stack,
        &["stepfunctions", "describe-execution", "--execution-arn", &arn],
    );
    assert_eq!(described["status"], "SUCCEEDED");
    let history = aws(
        &stack,
        &["stepfunctions", "get-execution-history", "--execution-arn", &arn],
    );
    let entered: Vec<&str> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["stateEnteredEventDetails"]["name"].as_str())
        .collect();
    for state in ["Classify", "Remediate", "Verify", "AfterVerify", "Healed"] {
        assert!(entered.contains(&state), "{state} missing from {entered:?}");
    }
    let remediate_out = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["stateExitedEventDetails"].as_object())
        .find(|d| d["name"] == "Remediate")
        .map(|d| serde_json::from_str::<Value>(d["output"].as_str().unwrap()).unwrap())
        .expect("Remediate exited");
    assert!(remediate_out["remediation"]["before"].is_object());
    assert!(remediate_out["remediation"]["after"].is_object());
    let acl = aws(&stack, &["s3api", "get-bucket-acl", "--bucket", &bucket]);
    assert!(!acl.to_string().contains("AllUsers"), "{acl}");
}

#[tokio::test]
async fn the_aws_cli_sees_a_default_key_as_aws_shows_it() {
    // `aws kms create-key` with no options: AWS makes a SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT key and
    // says so in both answers (moto leaves the usage out; the gateway fills it in).
    let stack = Stack::connect();
    let created = aws(&stack, &["kms", "create-key"]);
    assert_eq!(created["KeyMetadata"]["KeyUsage"], "ENCRYPT_DECRYPT", "{created}");
    let key = created["KeyMetadata"]["KeyId"].as_str().unwrap();
    let described = aws(&stack, &["kms", "describe-key", "--key-id", key]);
    assert_eq!(described["KeyMetadata"]["KeySpec"], "SYMMETRIC_DEFAULT", "{described}");
    assert_eq!(described["KeyMetadata"]["KeyUsage"], "ENCRYPT_DECRYPT", "{described}");
}
