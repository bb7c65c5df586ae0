//! A config kept in S3 (`AUTO_REMEDIATE_CONFIG_S3`, how infra/ deploys a config too large for
//! Lambda's 4 KB environment): read once at cold start by `Settings::load`, the function
//! `Deps::from_env` calls, with the deployment's S3 client as `Aws::s3` builds it, against moto.

use ar_core::aws::Aws;
use ar_core::config::{Settings, CONFIG_S3, CONFIG_S3_VERSION};
use ar_tests::{unique, Stack};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
use serde_json::json;

const APPROVAL: &str = r#"{"approvers": ["a@example.com"], "sender": "ar@example.com"}"#;

/// A config of `accounts` member accounts and the given member role.
fn config(accounts: usize, member_role: &str) -> String {
    let ids: Vec<String> = (0..accounts)
        .map(|i| format!("{:012}", 200_000_000_000u64 + i as u64))
        .collect();
    json!({"accounts": ids, "member_role": member_role, "approval": serde_json::from_str::<serde_json::Value>(APPROVAL).unwrap()})
        .to_string()
}

async fn load(stack: &Stack, vars: &[(&str, String)]) -> Result<Settings, ar_core::Error> {
    let base = [
        ("AWS_REGION", "us-east-1".to_string()),
        ("AUTO_REMEDIATE_ACCOUNT_ID", stack.info.account_id.clone()),
    ];
    let vars: Vec<(&str, String)> = base.into_iter().chain(vars.iter().cloned()).collect();
    let s3 = Aws::from_sdk_config(stack.sdk.clone(), true).s3();
    Settings::load(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()), &s3).await
}

#[tokio::test]
async fn a_config_of_1000_accounts_is_read_from_s3_at_the_version_the_environment_names() {
    let stack = Stack::connect();
    let bucket = unique("it-config");
    stack.s3.create_bucket().bucket(&bucket).send().await.unwrap();
    stack
        .s3
        .put_bucket_versioning()
        .bucket(&bucket)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let put = |body: String| {
        let (s3, bucket) = (stack.s3.clone(), bucket.clone());
        async move {
            s3.put_object()
                .bucket(bucket)
                .key("auto-remediate/config.json")
                .body(ByteStream::from(body.into_bytes()))
                .send()
                .await
                .unwrap()
                .version_id()
                .expect("a versioned bucket")
                .to_string()
        }
    };
    let big = config(1000, "org-member");
    assert!(
        big.len() > 4096,
        "{} bytes: more than Lambda's environment holds",
        big.len()
    );
    let v1 = put(big).await;
    let v2 = put(config(2, "later-member")).await;
    let url = format!("s3://{bucket}/auto-remediate/config.json");

    let at_v1 = load(&stack, &[(CONFIG_S3, url.clone()), (CONFIG_S3_VERSION, v1.clone())])
        .await
        .unwrap();
    assert_eq!(at_v1.config.accounts.len(), 1000);
    assert_eq!(at_v1.config.member_role, "org-member");
    assert_eq!(at_v1.config.member_read_role(), "org-member-read");
    let latest = load(&stack, &[(CONFIG_S3, url.clone())]).await.unwrap();
    assert_eq!(latest.config.member_role, "later-member");
    let at_v2 = load(&stack, &[(CONFIG_S3, url.clone()), (CONFIG_S3_VERSION, v2)])
        .await
        .unwrap();
    assert_eq!(at_v2.config.accounts.len(), 2);

    // A version that is not there, an object that is not there: refused by name, no default.
    let err = load(
        &stack,
        &[(CONFIG_S3, url.clone()), (CONFIG_S3_VERSION, "no-such-version".into())],
    )
    .await
    .unwrap_err();
    assert_eq!(err.name(), "ConfigInvalid", "{err}");
    assert!(err.to_string().contains(&url), "{err}");
    let missing = format!("s3://{bucket}/no/such/key.json");
    let err = load(&stack, &[(CONFIG_S3, missing.clone())]).await.unwrap_err();
    assert_eq!(err.name(), "ConfigInvalid", "{err}");
    assert!(err.to_string().contains(&missing), "{err}");

    // An invalid document is refused naming where it came from and the field.
    let v3 = put(r#"{"acounts": []}"#.to_string()).await;
    let err = load(&stack, &[(CONFIG_S3, url.clone()), (CONFIG_S3_VERSION, v3.clone())])
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(&format!("{CONFIG_S3} {url} (version {v3})")) && text.contains("acounts"),
        "{text}"
    );
}
