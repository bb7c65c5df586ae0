//! Approval signing keys kept in AWS: loaded from the local stack's Secrets Manager and SSM
//! exactly as a Lambda cold start loads them (`Settings::from_lookup` + `load_signing_keys`).

use ar_approval::signing::{Action, LinkClaims};
use ar_core::config::{KeyRing, Settings, SigningKey};
use ar_tests::{unique, Stack};
use aws_config::SdkConfig;
use aws_sdk_ssm::types::ParameterType;

const CONFIG: &str = r#"{"approval": {"approvers": ["a@example.com"], "sender": "ar@example.com"}}"#;

fn sdk(stack: &Stack) -> SdkConfig {
    ar_core::aws::local_sdk_config(&stack.info.endpoint_url, &stack.info.region)
}

/// A 64-hex-character key, distinct per call.
fn fresh_key() -> String {
    use std::hash::{BuildHasher, RandomState};
    (0..4)
        .map(|i| format!("{:016x}", RandomState::new().hash_one((unique("key"), i))))
        .collect()
}

fn key(text: &str) -> SigningKey {
    SigningKey::new(text.as_bytes().to_vec()).unwrap()
}

/// The key ring a Lambda with these variables loads at cold start.
async fn cold_start(stack: &Stack, vars: &[(&str, &str)]) -> Result<KeyRing, ar_core::Error> {
    let mut settings = Settings::from_lookup(|k| match k {
        "AWS_REGION" => Some(stack.info.region.clone()),
        "AUTO_REMEDIATE_ACCOUNT_ID" => Some(stack.info.account_id.clone()),
        "AUTO_REMEDIATE_CONFIG" => Some(CONFIG.to_string()),
        _ => vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string()),
    })?;
    assert!(
        settings.signing_keys.is_none(),
        "nothing is read from AWS before cold start loads it"
    );
    settings.load_signing_keys(&sdk(stack)).await?;
    Ok(settings.signing_keys.expect("loaded"))
}

fn link() -> LinkClaims {
    LinkClaims {
        approval_id: "0".repeat(32),
        approver: "a@example.com".into(),
        action: Action::Approve,
        expires: 4_000_000_000,
    }
}

#[tokio::test]
async fn a_rotated_secret_signs_with_its_current_version_and_still_verifies_the_previous() {
    let stack = Stack::connect();
    let sm = aws_sdk_secretsmanager::Client::new(&sdk(&stack));
    let (old, new) = (fresh_key(), fresh_key());
    let name = unique("it-approval-key");
    sm.create_secret().name(&name).secret_string(&old).send().await.unwrap();
    let sent = link().sign(&key(&old));

    let before = cold_start(&stack, &[("APPROVAL_SIGNING_KEY_SECRET_ID", &name)])
        .await
        .unwrap();
    assert_eq!(before.kids(), vec![key(&old).kid()], "never rotated: one key");

    sm.put_secret_value()
        .secret_id(&name)
        .secret_string(&new)
        .send()
        .await
        .unwrap();
    let after = cold_start(&stack, &[("APPROVAL_SIGNING_KEY_SECRET_ID", &name)])
        .await
        .unwrap();

    assert_eq!(after.current(), &key(&new), "AWSCURRENT signs");
    assert_eq!(after.kids(), vec![key(&new).kid(), key(&old).kid()]);
    assert!(
        link().verify(&after, key(&old).kid(), &sent),
        "a link sent before the rotation still verifies"
    );
    assert!(!format!("{after:?}").contains(&new) && !format!("{after:?}").contains(&old));
}

#[tokio::test]
async fn secure_string_parameters_give_the_current_and_previous_keys() {
    let stack = Stack::connect();
    let ssm = aws_sdk_ssm::Client::new(&sdk(&stack));
    let (old, new) = (fresh_key(), fresh_key());
    let base = format!("/{}", unique("it-approval"));
    for (suffix, value, kind) in [
        ("current", &new, ParameterType::SecureString),
        ("previous", &old, ParameterType::SecureString),
        ("plain", &new, ParameterType::String),
    ] {
        ssm.put_parameter()
            .name(format!("{base}/{suffix}"))
            .value(value)
            .r#type(kind)
            .send()
            .await
            .unwrap();
    }
    let (current, previous, plain) = (
        format!("{base}/current"),
        format!("{base}/previous"),
        format!("{base}/plain"),
    );

    let ring = cold_start(
        &stack,
        &[
            ("APPROVAL_SIGNING_KEY_PARAMETER", &current),
            ("APPROVAL_SIGNING_KEY_PREVIOUS_PARAMETER", &previous),
        ],
    )
    .await
    .unwrap();
    assert_eq!(ring, KeyRing::new(key(&new), [key(&old)]));

    let err = cold_start(&stack, &[("APPROVAL_SIGNING_KEY_PARAMETER", &plain)])
        .await
        .unwrap_err();
    assert_eq!(err.name(), "ConfigInvalid");
    assert!(
        err.to_string().contains("SecureString") && err.to_string().contains(&plain),
        "{err}"
    );
    assert!(!err.to_string().contains(&new));

    let missing = format!("{base}/missing");
    let err = cold_start(&stack, &[("APPROVAL_SIGNING_KEY_PARAMETER", &missing)])
        .await
        .unwrap_err();
    assert_eq!(err.name(), "ConfigInvalid");
    assert!(err.to_string().contains("no such parameter"), "{err}");
}

#[tokio::test]
async fn a_missing_secret_fails_cold_start_by_name() {
    let stack = Stack::connect();
    let name = unique("it-no-such-key");
    let err = cold_start(&stack, &[("APPROVAL_SIGNING_KEY_SECRET_ID", &name)])
        .await
        .unwrap_err();
    assert_eq!(err.name(), "ConfigInvalid");
    assert!(err.to_string().contains("APPROVAL_SIGNING_KEY_SECRET_ID"), "{err}");
}
