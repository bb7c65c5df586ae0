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
