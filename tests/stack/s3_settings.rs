//! Bucket settings families on the real stack: S3-012 versioning, S3-016 default encryption.

use ar_tests::{unique, Stack};
use aws_sdk_s3::types::{
    BucketVersioningStatus, ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule, VersioningConfiguration,
};

async fn bucket(stack: &Stack) -> String {
    let name = unique("it-settings");
    stack.s3.create_bucket().bucket(&name).send().await.unwrap();
    name
}

async fn versioning(stack: &Stack, bucket: &str) -> Option<String> {
    let out = stack.s3.get_bucket_versioning().bucket(bucket).send().await.unwrap();
    out.status().map(|s| s.as_str().to_string())
}

async fn encryption(stack: &Stack, bucket: &str) -> Vec<(String, Option<String>)> {
    match stack.s3.get_bucket_encryption().bucket(bucket).send().await {
        Ok(out) => out
            .server_side_encryption_configuration()
            .unwrap()
            .rules()
            .iter()
            .filter_map(|r| r.apply_server_side_encryption_by_default())
            .map(|d| {
                (
                    d.sse_algorithm().as_str().to_string(),
                    d.kms_master_key_id().map(str::to_string),
                )
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

#[tokio::test]
async fn versioning_never_enabled_or_suspended_is_enabled() {
    let stack = Stack::connect();
    for suspended in [false, true] {
        let b = bucket(&stack).await;
        if suspended {
            stack
                .s3
                .put_bucket_versioning()
                .bucket(&b)
                .versioning_configuration(
                    VersioningConfiguration::builder()
                        .status(BucketVersioningStatus::Suspended)
                        .build(),
                )
                .send()
                .await
                .unwrap();
        }
        let run = stack.publish_and_wait(&stack.message("S3-012", &b)).await;
        assert_eq!(
            run.states().last().map(String::as_str),
            Some("Healed"),
            "{:?}",
            run.task_errors()
        );
        assert_eq!(versioning(&stack, &b).await.as_deref(), Some("Enabled"));
        let before = &run.output["remediation"]["before"];
        assert_eq!(before["kind"], "s3-versioning");
        assert_eq!(
            before.get("status").and_then(|s| s.as_str()),
            suspended.then_some("Suspended")
        );
    }
}

#[tokio::test]
async fn a_bucket_without_default_encryption_gets_sse_s3_and_a_kms_bucket_is_left_alone() {
    let stack = Stack::connect();
    let plain = bucket(&stack).await;
    let run = stack.publish_and_wait(&stack.message("S3-016", &plain)).await;
    assert_eq!(
        run.states().last().map(String::as_str),
        Some("Healed"),
        "{:?}",
        run.task_errors()
    );
    assert_eq!(encryption(&stack, &plain).await, vec![("AES256".to_string(), None)]);

    let kms = bucket(&stack).await;
    let by_default = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(ServerSideEncryption::AwsKms)
        .kms_master_key_id("alias/team-key")
        .build()
        .unwrap();
    stack
        .s3
        .put_bucket_encryption()
        .bucket(&kms)
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .rules(
                    ServerSideEncryptionRule::builder()
                        .apply_server_side_encryption_by_default(by_default)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let run = stack.publish_and_wait(&stack.message("S3-016", &kms)).await;
    assert_eq!(run.states().last().map(String::as_str), Some("AlreadyCompliant"));
    assert_eq!(
        encryption(&stack, &kms).await,
        vec![("aws:kms".to_string(), Some("alias/team-key".to_string()))],
        "the team's KMS key is kept"
    );
}

#[tokio::test]
async fn undo_of_s3_012_suspends_versioning_and_says_a_never_versioned_bucket_cannot_be_returned_to() {
    let stack = Stack::connect();
    for suspended in [false, true] {
        let b = bucket(&stack).await;
        if suspended {
            stack
                .s3
                .put_bucket_versioning()
                .bucket(&b)
                .versioning_configuration(
                    VersioningConfiguration::builder()
                        .status(BucketVersioningStatus::Suspended)
                        .build(),
                )
                .send()
                .await
                .unwrap();
        }
        let before = versioning(&stack, &b).await;
        let (run, _) = stack.publish_for_execution(&stack.message("S3-012", &b)).await;
        stack.wait(&run).await.assert_healed();
        assert_eq!(versioning(&stack, &b).await.as_deref(), Some("Enabled"));
        let out = crate::cli::undo_restored(&stack, &run).await;
        assert!(out.contains("suspend versioning"), "{out}");
        assert_eq!(
            out.contains("never versioned before, which S3 cannot return a bucket to"),
            !suspended,
            "{out}"
        );
        // Suspended: as recorded, or the nearest S3 has to never versioned.
        assert_eq!(before.as_deref(), suspended.then_some("Suspended"));
        assert_eq!(versioning(&stack, &b).await.as_deref(), Some("Suspended"));
    }
}

#[tokio::test]
async fn undo_of_s3_016_deletes_the_default_encryption_that_was_not_there_before() {
    let stack = Stack::connect();
    let b = bucket(&stack).await;
    let before = encryption(&stack, &b).await;
    assert!(before.is_empty(), "{before:?}");
    let (run, _) = stack.publish_for_execution(&stack.message("S3-016", &b)).await;
    stack.wait(&run).await.assert_healed();
    assert_eq!(encryption(&stack, &b).await, vec![("AES256".to_string(), None)]);
    let out = crate::cli::undo_restored(&stack, &run).await;
    assert!(out.contains("delete the default encryption configuration"), "{out}");
    assert_eq!(encryption(&stack, &b).await, before);
    let err = stack.s3.get_bucket_encryption().bucket(&b).send().await.unwrap_err();
    assert_eq!(
        err.as_service_error().and_then(|e| e.meta().code()),
        Some("ServerSideEncryptionConfigurationNotFoundError")
    );
}
