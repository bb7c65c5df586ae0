//! KMS families on the real stack: KMS-002 rotation off, KMS-004 scheduled deletion.

use ar_tests::{Execution, Stack};
use aws_sdk_kms::types::{KeySpec, KeyState, KeyUsageType};

fn kms(stack: &Stack) -> aws_sdk_kms::Client {
    aws_sdk_kms::Client::new(&stack.sdk)
}

async fn key(stack: &Stack, spec: KeySpec, usage: KeyUsageType) -> String {
    kms(stack)
        .create_key()
        .key_spec(spec)
        .key_usage(usage)
        .description("auto-remediate integration test")
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .key_id()
        .to_string()
}

async fn rotation(stack: &Stack, key: &str) -> bool {
    kms(stack)
        .get_key_rotation_status()
        .key_id(key)
        .send()
        .await
        .unwrap()
        .key_rotation_enabled()
}

async fn state(stack: &Stack, key: &str) -> KeyState {
    kms(stack)
        .describe_key()
        .key_id(key)
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .key_state()
        .unwrap()
        .clone()
}

fn last(run: &Execution) -> String {
    run.states().last().cloned().unwrap_or_default()
}

#[tokio::test]
async fn rotation_off_is_turned_on_and_the_key_stays_enabled() {
    let stack = Stack::connect();
    let k = key(&stack, KeySpec::SymmetricDefault, KeyUsageType::EncryptDecrypt).await;
    assert!(!rotation(&stack, &k).await);
    let run = stack.publish_and_wait(&stack.message("KMS-002", &k)).await;
    assert_eq!(last(&run), "Healed", "{:?} {:?}", run.task_errors(), run.output);
    assert!(rotation(&stack, &k).await);
    assert_eq!(state(&stack, &k).await, KeyState::Enabled);
    assert_eq!(run.output["remediation"]["before"]["rotation_enabled"], false);
}

/// A key created as most are on AWS: `CreateKey` with neither `KeySpec` nor `KeyUsage`. (moto
/// leaves its usage empty; the gateway answers as AWS does, `ENCRYPT_DECRYPT`.)
async fn default_key(stack: &Stack) -> String {
    let created = kms(stack)
        .create_key()
        .description("auto-remediate integration test, AWS's defaults")
        .send()
        .await
        .unwrap();
    let meta = created.key_metadata().unwrap();
    assert_eq!(
        meta.key_usage(),
        Some(&KeyUsageType::EncryptDecrypt),
        "CreateKey: {meta:?}"
    );
    meta.key_id().to_string()
}

#[tokio::test]
async fn a_key_created_with_the_defaults_is_described_as_aws_describes_it() {
    let stack = Stack::connect();
    let k = default_key(&stack).await;
    let out = kms(&stack).describe_key().key_id(&k).send().await.unwrap();
    let meta = out.key_metadata().unwrap();
    assert_eq!(meta.key_spec(), Some(&KeySpec::SymmetricDefault));
    assert_eq!(meta.key_usage(), Some(&KeyUsageType::EncryptDecrypt), "{meta:?}");
}

#[tokio::test]
async fn rotation_off_on_a_key_created_with_the_defaults_is_turned_on() {
    let stack = Stack::connect();
    let k = default_key(&stack).await;
    assert!(!rotation(&stack, &k).await);
    let run = stack.publish_and_wait(&stack.message("KMS-002", &k)).await;
    assert_eq!(last(&run), "Healed", "{:?} {:?}", run.task_errors(), run.output);
    assert!(rotation(&stack, &k).await);
    assert_eq!(state(&stack, &k).await, KeyState::Enabled);
    assert_eq!(run.output["remediation"]["before"]["key"]["usage"], "ENCRYPT_DECRYPT");
}

#[tokio::test]
async fn an_asymmetric_key_is_rejected_by_name_and_left_as_it_is() {
    let stack = Stack::connect();
    let k = key(&stack, KeySpec::Rsa2048, KeyUsageType::SignVerify).await;
    let run = stack.publish_and_wait(&stack.message("KMS-002", &k)).await;
    assert_eq!(last(&run), "Rejected", "{:?}", run.states());
    assert_eq!(run.task_errors(), vec!["InvalidInput"]);
    assert!(!rotation(&stack, &k).await);
    assert_eq!(state(&stack, &k).await, KeyState::Enabled);
}

#[tokio::test]
async fn a_key_scheduled_for_deletion_is_kept_and_left_disabled() {
    let stack = Stack::connect();
    let k = key(&stack, KeySpec::SymmetricDefault, KeyUsageType::EncryptDecrypt).await;
    kms(&stack)
        .schedule_key_deletion()
        .key_id(&k)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    assert_eq!(state(&stack, &k).await, KeyState::PendingDeletion);
    let run = stack.publish_and_wait(&stack.message("KMS-004", &k)).await;
    assert_eq!(last(&run), "Healed", "{:?} {:?}", run.task_errors(), run.output);
    assert_eq!(state(&stack, &k).await, KeyState::Disabled, "not enabled by default");
    let meta = kms(&stack).describe_key().key_id(&k).send().await.unwrap();
    assert!(meta.key_metadata().unwrap().deletion_date().is_none());
    assert!(!rotation(&stack, &k).await, "rotation untouched");
    let summary = run.output["remediation"]["plan"]["summary"]
        .as_str()
        .unwrap_or_default();
    assert!(summary.contains("stays Disabled"), "{summary}");
    assert_eq!(run.output["remediation"]["before"]["state"], "PendingDeletion");
}

#[tokio::test]
async fn undo_of_kms_002_turns_rotation_off_again_and_leaves_the_key_as_it_was() {
    let stack = Stack::connect();
    let k = key(&stack, KeySpec::SymmetricDefault, KeyUsageType::EncryptDecrypt).await;
    let (healed, _) = stack.publish_for_execution(&stack.message("KMS-002", &k)).await;
    assert_eq!(last(&stack.wait(&healed).await), "Healed");
    assert!(rotation(&stack, &k).await);
    crate::cli::undo_restored(&stack, &healed).await;
    // Re-read: rotation off as before, the key still enabled.
    assert!(!rotation(&stack, &k).await);
    assert_eq!(state(&stack, &k).await, KeyState::Enabled);
}

/// Waits for the approval e-mails about `resource` and approves with the first approver's link;
/// the undo run `undo` then ends.
pub async fn approve_undo(stack: &Stack, resource: &str, undo: &str) -> Execution {
    let start = std::time::Instant::now();
    let links = loop {
        let links = crate::approval::links_for(stack, resource);
        if !links.is_empty() {
            break links;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "{undo}: no approval e-mail for {resource}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let (base, query) = links[0].approve.split_once('?').unwrap();
    let (code, page) = ar_tests::http("POST", base, query).await;
    assert_eq!(code, 200, "{page}");
    stack.wait(undo).await
}

#[tokio::test]
async fn undo_of_kms_004_waits_for_an_approver_even_in_auto_then_schedules_the_deletion_again() {
    let stack = Stack::connect();
    assert_eq!(
        stack.config.undo.mode,
        ar_core::catalog::Mode::Auto,
        "the test stack's undo.mode is auto"
    );
    let k = key(&stack, KeySpec::SymmetricDefault, KeyUsageType::EncryptDecrypt).await;
    kms(&stack)
        .schedule_key_deletion()
        .key_id(&k)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    let described = kms(&stack).describe_key().key_id(&k).send().await.unwrap();
    let due = described.key_metadata().unwrap().deletion_date().unwrap().secs();
    let (healed, _) = stack.publish_for_execution(&stack.message("KMS-004", &k)).await;
    assert_eq!(last(&stack.wait(&healed).await), "Healed");
    assert_eq!(state(&stack, &k).await, KeyState::Disabled);

    let undo = format!("undo-{healed}");
    stack.watch_outcome(&undo).await;
    let (ok, out, err) = crate::cli::cli_at(&ar_tests::stack_dir(), &["undo", &healed]);
    assert!(ok, "{err}\n{out}");
    assert!(
        out.contains("Waiting for approval: the approvers were e-mailed (the kms-pending-deletion family's undo always waits for an approver)"),
        "the real reason, not undo.mode (auto here): {out}"
    );
    // Gated: nothing is scheduled before the approver decides.
    assert_eq!(state(&stack, &k).await, KeyState::Disabled, "nothing before approval");
    let d = stack
        .sfn
        .describe_execution()
        .execution_arn(stack.execution_arn(&undo))
        .send()
        .await
        .unwrap();
    assert_eq!(d.status().as_str(), "RUNNING", "the undo waits at the gate");
    let run = approve_undo(&stack, &k, &undo).await;
    assert_eq!(last(&run), "Restored", "{:?} {:?}", run.states(), run.task_errors());
    // Re-read: pending deletion again, due no earlier than recorded (KMS counts whole days from
    // the undo: at most a day later), rotation untouched.
    let meta = kms(&stack).describe_key().key_id(&k).send().await.unwrap();
    let meta = meta.key_metadata().unwrap();
    assert_eq!(meta.key_state(), Some(&KeyState::PendingDeletion));
    let again = meta.deletion_date().unwrap().secs();
    assert!(again >= due && again < due + 86_400, "due {due}, now {again}");
    assert!(!rotation(&stack, &k).await);
}
