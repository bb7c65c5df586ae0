//! S3-016: a bucket has no default server-side encryption.
//!
//! Changes: `PutBucketEncryption` with one rule, SSE-S3 (AES256). (The seed wrote a bucket policy
//! denying unencrypted uploads instead, which breaks every client that does not set the header.)
//! Never touches: existing objects (they keep their encryption), the policy, the ACL.
//! Undo: `DeleteBucketEncryption` (the bucket had no default encryption before).

use serde::{Deserialize, Serialize};

use crate::aws::Ctx;
use crate::error::Error;
use crate::plan::{Describe, Plan};
use crate::rules::family::{Assessment, FamilyDoc, Placement, Read, RuleFamily, Tags, Target};
use crate::rules::{ids, s3_bucket};

/// The family: `s3-default-encryption` in the catalog.
pub struct S3DefaultEncryption;

// The IAM actions behind GetBucketEncryption / PutBucketEncryption.
const GET_ENCRYPTION: &str = "s3:GetEncryptionConfiguration";
const PUT_ENCRYPTION: &str = "s3:PutEncryptionConfiguration";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {}

/// A bucket's default encryption rules as read (empty: none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Encryption {
    pub rules: Vec<EncryptionRule>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptionRule {
    /// `AES256`, `aws:kms` or `aws:kms:dsse`.
    pub algorithm: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action")]
pub enum Change {
    /// Default encryption with S3-managed keys (SSE-S3).
    #[serde(rename = "s3:SetDefaultEncryption")]
    SetDefaultEncryption { algorithm: String },
}

impl Describe for Change {
    fn describe(&self) -> String {
        match self {
            Change::SetDefaultEncryption { algorithm } => format!("set default encryption {algorithm}"),
        }
    }
}

impl RuleFamily for S3DefaultEncryption {
    const NAME: &'static str = "s3-default-encryption";
    const DOC: FamilyDoc = FamilyDoc {
        changes: "PutBucketEncryption with one SSE-S3 (AES256) default rule (the seed wrote a deny policy instead)",
        never: "existing objects, an existing default rule (SSE-KMS is kept), the policy and the ACL",
        undo: "DeleteBucketEncryption",
        tested: "local stack",
    };
    const RESOURCE: &'static str = "S3 bucket name";
    const PLACEMENT: Placement = Placement::Located;
    const READS: &'static [&'static str] = &[
        GET_ENCRYPTION,
        s3_bucket::GET_BUCKET_TAGGING,
        s3_bucket::GET_BUCKET_LOCATION,
    ];
    const WRITES: &'static [&'static str] = &[PUT_ENCRYPTION];
    type Params = Params;
    type State = Encryption;
    type Change = Change;

    fn valid_id(id: &str) -> bool {
        ids::is_bucket_name(id)
    }

    async fn read(ctx: &Ctx, bucket: &str, tags: Tags) -> Result<Option<Read<Encryption>>, Error> {
        let s3 = s3_bucket::client(ctx, bucket).await?;
        let state = async {
            let rules = match s3.get_bucket_encryption().bucket(bucket).send().await {
                Ok(out) => out
                    .server_side_encryption_configuration()
                    .map(|c| c.rules())
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|r| r.apply_server_side_encryption_by_default())
                    .map(|d| EncryptionRule {
                        algorithm: d.sse_algorithm().as_str().to_string(),
                        kms_key_id: d.kms_master_key_id().map(str::to_string),
                    })
                    .collect(),
                Err(e) => {
                    let err = Error::from_sdk(GET_ENCRYPTION, e);
                    match err.aws_code() {
                        Some("ServerSideEncryptionConfigurationNotFoundError") => Vec::new(),
                        _ if s3_bucket::is_gone(&err) => return Ok(None),
                        _ => return Err(err),
                    }
                }
            };
            Ok(Some(Encryption { rules }))
        };
        s3_bucket::read_with_tags(&s3, bucket, tags, state).await
    }

    fn assess(e: &Encryption, _: &Params, t: Target<'_>) -> Assessment<Change> {
        let on = !e.rules.is_empty();
        let changes = if on {
            Vec::new()
        } else {
            vec![Change::SetDefaultEncryption {
                algorithm: "AES256".into(),
            }]
        };
        let summary = if on {
            format!(
                "bucket {} encrypts new objects by default: nothing to change",
                t.resource
            )
        } else {
            format!("encrypt new objects in bucket {} by default with SSE-S3", t.resource)
        };
        let mut plan = Plan::new(t.rule_id, t.resource, t.region, summary, changes);
        plan.untouched = vec!["existing objects, the policy and the ACL".into()];
        Assessment {
            offending: if on {
                Vec::new()
            } else {
                vec!["no default encryption".into()]
            },
            plan,
        }
    }

    async fn apply(ctx: &Ctx, bucket: &str, _: &Encryption, changes: &[Change]) -> Result<(), Error> {
        for Change::SetDefaultEncryption { algorithm } in changes {
            put(&s3_bucket::client(ctx, bucket).await?, bucket, algorithm).await?;
        }
        Ok(())
    }

    fn simulate(_: &Encryption, changes: &[Change]) -> Encryption {
        Encryption {
            rules: changes
                .iter()
                .map(|Change::SetDefaultEncryption { algorithm }| EncryptionRule {
                    algorithm: algorithm.clone(),
                    kms_key_id: None,
                })
                .collect(),
        }
    }

    fn diff(before: &Encryption, after: &Encryption) -> Vec<String> {
        let show = |e: &Encryption| match e.rules.first() {
            Some(r) => r.algorithm.clone(),
            None => "none".into(),
        };
        if before == after {
            Vec::new()
        } else {
            vec![format!("default encryption {} → {}", show(before), show(after))]
        }
    }
}

/// `PutBucketEncryption` with one default rule of `algorithm`.
pub async fn put(s3: &aws_sdk_s3::Client, bucket: &str, algorithm: &str) -> Result<(), Error> {
    use aws_sdk_s3::types::{
        ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
        ServerSideEncryptionRule,
    };
    let by_default = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(ServerSideEncryption::from(algorithm))
        .build()
        .map_err(|e| Error::InvalidInput(format!("encryption rule: {e}")))?;
    let config = ServerSideEncryptionConfiguration::builder()
        .rules(
            ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(by_default)
                .build(),
        )
        .build()
        .map_err(|e| Error::InvalidInput(format!("encryption configuration: {e}")))?;
    s3.put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(config)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| Error::from_sdk(PUT_ENCRYPTION, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::operation::put_bucket_encryption::PutBucketEncryptionOutput;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    fn target() -> Target<'static> {
        Target {
            rule_id: "S3-016",
            resource: "b",
            region: "us-east-1",
        }
    }

    #[test]
    fn no_default_encryption_gets_sse_s3_and_any_existing_rule_is_left_alone() {
        let a = S3DefaultEncryption::assess(&Encryption { rules: vec![] }, &Params {}, target());
        assert_eq!(
            a.plan.changes,
            vec![Change::SetDefaultEncryption {
                algorithm: "AES256".into()
            }]
        );
        let kms = Encryption {
            rules: vec![EncryptionRule {
                algorithm: "aws:kms".into(),
                kms_key_id: Some("k".into()),
            }],
        };
        assert!(S3DefaultEncryption::assess(&kms, &Params {}, target()).plan.is_empty());
    }

    #[tokio::test]
    async fn put_sends_one_aes256_default_rule_and_no_policy() {
        let put_enc = mock!(aws_sdk_s3::Client::put_bucket_encryption)
            .match_requests(|r| {
                let rules = r
                    .server_side_encryption_configuration()
                    .map(|c| c.rules())
                    .unwrap_or_default();
                r.bucket() == Some("b")
                    && rules.len() == 1
                    && rules[0]
                        .apply_server_side_encryption_by_default()
                        .map(|d| d.sse_algorithm().as_str())
                        == Some("AES256")
            })
            .then_output(|| PutBucketEncryptionOutput::builder().build());
        let s3 = mock_client!(aws_sdk_s3, RuleMode::Sequential, [&put_enc]);
        put(&s3, "b", "AES256").await.unwrap();
        assert_eq!(put_enc.num_calls(), 1);
    }
}
