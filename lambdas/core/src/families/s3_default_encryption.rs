//! S3-016: a bucket has no default server-side encryption.
//!
//! What a fix changes, never touches and how it is undone: [`S3DefaultEncryption::DOC`]
//! (RULES.md is generated from it). (The seed wrote a bucket policy denying unencrypted uploads
//! instead, which breaks every client that does not set the header.)

use serde::{Deserialize, Serialize};

use crate::aws::Ctx;
use crate::error::Error;
use crate::families::helpers::family::{Assessment, FamilyDoc, NoParams, Placement, Read, RuleFamily, Tags, Target};
use crate::families::helpers::s3_bucket;
use crate::ids;
use crate::plan::Describe;

/// The family: `s3-default-encryption` in the catalog.
pub struct S3DefaultEncryption;

// The IAM actions behind GetBucketEncryption / PutBucketEncryption.
const GET_ENCRYPTION: &str = "s3:GetEncryptionConfiguration";
const PUT_ENCRYPTION: &str = "s3:PutEncryptionConfiguration";

/// Its rules take no parameters.
pub type Params = NoParams;

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
    /// Delete the default encryption configuration (an undo: the recorded state had none).
    #[serde(rename = "s3:DeleteDefaultEncryption")]
    DeleteDefaultEncryption,
    /// Put back a recorded configuration, rule by rule (an undo).
    #[serde(rename = "s3:RestoreDefaultEncryption")]
    RestoreDefaultEncryption { rules: Vec<EncryptionRule> },
}

impl Describe for Change {
    fn describe(&self) -> String {
        match self {
            Change::SetDefaultEncryption { algorithm } => format!("set default encryption {algorithm}"),
            Change::DeleteDefaultEncryption => "delete the default encryption configuration (none was recorded \
                 before the fix; on AWS the bucket falls back to its SSE-S3 default)"
                .into(),
            Change::RestoreDefaultEncryption { rules } => format!(
                "set default encryption back to {}",
                rules.iter().map(EncryptionRule::show).collect::<Vec<_>>().join(", ")
            ),
        }
    }
}

impl EncryptionRule {
    fn show(&self) -> String {
        match &self.kms_key_id {
            Some(k) => format!("{} ({k})", self.algorithm),
            None => self.algorithm.clone(),
        }
    }
}

impl RuleFamily for S3DefaultEncryption {
    const NAME: &'static str = "s3-default-encryption";
    const DOC: FamilyDoc = FamilyDoc {
        changes: "PutBucketEncryption with one SSE-S3 (AES256) default rule (the seed wrote a deny policy instead)",
        never: "existing objects, an existing default rule (SSE-KMS is kept), the policy and the ACL",
        undo: "the recorded configuration exactly: DeleteBucketEncryption when none was recorded (the state the fix acts on), else PutBucketEncryption with the recorded rules; on AWS every bucket has SSE-S3 by default since 2023 and DeleteBucketEncryption returns it to that, so a recorded none is only met on a local stack or in an older record",
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
        let mut plan = t.plan(summary, changes);
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
        for c in changes {
            let s3 = s3_bucket::client(ctx, bucket).await?;
            match c {
                Change::SetDefaultEncryption { algorithm } => put(&s3, bucket, algorithm).await?,
                Change::DeleteDefaultEncryption => delete(&s3, bucket).await?,
                Change::RestoreDefaultEncryption { rules } => put_rules(&s3, bucket, rules).await?,
            }
        }
        Ok(())
    }

    fn simulate(e: &Encryption, changes: &[Change]) -> Encryption {
        let mut out = e.clone();
        for c in changes {
            out.rules = match c {
                Change::SetDefaultEncryption { algorithm } => vec![EncryptionRule {
                    algorithm: algorithm.clone(),
                    kms_key_id: None,
                }],
                Change::DeleteDefaultEncryption => Vec::new(),
                Change::RestoreDefaultEncryption { rules } => rules.clone(),
            };
        }
        out
    }

    /// The undo: the recorded configuration exactly (none: delete it).
    fn revert(live: &Encryption, before: &Encryption) -> Option<Vec<Change>> {
        Some(if live == before {
            Vec::new()
        } else if before.rules.is_empty() {
            vec![Change::DeleteDefaultEncryption]
        } else {
            vec![Change::RestoreDefaultEncryption {
                rules: before.rules.clone(),
            }]
        })
    }

    fn diff(before: &Encryption, after: &Encryption) -> Vec<String> {
        let show = |e: &Encryption| match e.rules.first() {
            Some(_) => e.rules.iter().map(EncryptionRule::show).collect::<Vec<_>>().join(", "),
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
    put_rules(
        s3,
        bucket,
        &[EncryptionRule {
            algorithm: algorithm.into(),
            kms_key_id: None,
        }],
    )
    .await
}

/// `DeleteBucketEncryption` (IAM: `s3:PutEncryptionConfiguration`); idempotent.
pub async fn delete(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<(), Error> {
    s3.delete_bucket_encryption()
        .bucket(bucket)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| Error::from_sdk(PUT_ENCRYPTION, e))
}

/// `PutBucketEncryption` with exactly `rules` (algorithm and KMS key each).
pub async fn put_rules(s3: &aws_sdk_s3::Client, bucket: &str, rules: &[EncryptionRule]) -> Result<(), Error> {
    use aws_sdk_s3::types::{
        ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
        ServerSideEncryptionRule,
    };
    let mut config = ServerSideEncryptionConfiguration::builder();
    for r in rules {
        let by_default = ServerSideEncryptionByDefault::builder()
            .sse_algorithm(ServerSideEncryption::from(r.algorithm.as_str()))
            .set_kms_master_key_id(r.kms_key_id.clone())
            .build()
            .map_err(|e| Error::InvalidInput(format!("encryption rule: {e}")))?;
        config = config.rules(
            ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(by_default)
                .build(),
        );
    }
    let config = config
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

    #[test]
    fn fix_then_revert_is_the_recorded_configuration_and_an_unchanged_one_needs_nothing() {
        let none = Encryption { rules: vec![] };
        let fixed = S3DefaultEncryption::simulate(
            &none,
            &S3DefaultEncryption::assess(&none, &Params {}, target()).plan.changes,
        );
        assert_ne!(fixed, none);
        let undo = S3DefaultEncryption::revert(&fixed, &none).unwrap();
        assert_eq!(undo, vec![Change::DeleteDefaultEncryption]);
        assert_eq!(S3DefaultEncryption::simulate(&fixed, &undo), none);
        assert!(undo[0].describe().contains("none was recorded"));
        assert!(S3DefaultEncryption::revert(&none, &none).unwrap().is_empty());
        assert!(S3DefaultEncryption::revert(&fixed, &fixed).unwrap().is_empty());
        // A recorded configuration is put back exactly, key included.
        let kms = Encryption {
            rules: vec![EncryptionRule {
                algorithm: "aws:kms".into(),
                kms_key_id: Some("alias/team-key".into()),
            }],
        };
        let undo = S3DefaultEncryption::revert(&fixed, &kms).unwrap();
        assert_eq!(S3DefaultEncryption::simulate(&fixed, &undo), kms);
        assert_eq!(
            undo[0].describe(),
            "set default encryption back to aws:kms (alias/team-key)"
        );
    }

    #[tokio::test]
    async fn the_undo_deletes_the_configuration_or_puts_back_the_recorded_rule_with_its_key() {
        use aws_sdk_s3::operation::delete_bucket_encryption::DeleteBucketEncryptionOutput;
        let delete_enc = mock!(aws_sdk_s3::Client::delete_bucket_encryption)
            .match_requests(|r| r.bucket() == Some("b"))
            .then_output(|| DeleteBucketEncryptionOutput::builder().build());
        let put_enc = mock!(aws_sdk_s3::Client::put_bucket_encryption)
            .match_requests(|r| {
                let rules = r
                    .server_side_encryption_configuration()
                    .map(|c| c.rules())
                    .unwrap_or_default();
                let d = rules[0].apply_server_side_encryption_by_default().unwrap();
                rules.len() == 1
                    && d.sse_algorithm().as_str() == "aws:kms"
                    && d.kms_master_key_id() == Some("alias/team-key")
            })
            .then_output(|| PutBucketEncryptionOutput::builder().build());
        let s3 = mock_client!(aws_sdk_s3, RuleMode::Sequential, [&delete_enc, &put_enc]);
        delete(&s3, "b").await.unwrap();
        put_rules(
            &s3,
            "b",
            &[EncryptionRule {
                algorithm: "aws:kms".into(),
                kms_key_id: Some("alias/team-key".into()),
            }],
        )
        .await
        .unwrap();
        assert_eq!((delete_enc.num_calls(), put_enc.num_calls()), (1, 1));
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
