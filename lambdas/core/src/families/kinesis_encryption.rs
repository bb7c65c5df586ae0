//! Kinesis-001: a Kinesis data stream is not encrypted at rest.
//!
//! What a fix changes, never touches and how it is undone: [`KinesisEncryption::DOC`] (RULES.md
//! is generated from it).

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_kinesis::types::EncryptionType;
use serde::{Deserialize, Serialize};

use crate::aws::Ctx;
use crate::error::Error;
use crate::families::helpers::family::{Assessment, FamilyDoc, Read, RuleFamily, Tags, Target};
use crate::plan::Describe;

/// The family: `kinesis-encryption` in the catalog.
pub struct KinesisEncryption;

const DESCRIBE_STREAM_SUMMARY: &str = "kinesis:DescribeStreamSummary";
const LIST_TAGS_FOR_STREAM: &str = "kinesis:ListTagsForStream";
const START_STREAM_ENCRYPTION: &str = "kinesis:StartStreamEncryption";
/// The undo's only write.
const STOP_STREAM_ENCRYPTION: &str = "kinesis:StopStreamEncryption";

fn default_key() -> String {
    "alias/aws/kinesis".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The KMS key (id, ARN, alias name or alias ARN); default the AWS-managed key.
    #[serde(default = "default_key")]
    pub kms_key_id: String,
}

/// A stream's encryption as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamEncryption {
    /// `CREATING`, `ACTIVE`, `UPDATING`, `DELETING`.
    pub status: String,
    /// `NONE` or `KMS`.
    pub encryption_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action")]
pub enum Change {
    #[serde(rename = "kinesis:StartStreamEncryption")]
    StartEncryption { key_id: String },
    /// Stop encrypting with `key_id` (an undo: the recorded stream was not encrypted).
    #[serde(rename = "kinesis:StopStreamEncryption")]
    StopEncryption { key_id: String },
}

impl Describe for Change {
    fn describe(&self) -> String {
        match self {
            Change::StartEncryption { key_id } => format!("encrypt the stream with KMS key {key_id}"),
            Change::StopEncryption { key_id } => {
                format!("stop encrypting the stream with KMS key {key_id} (records already written stay encrypted)")
            }
        }
    }
}

/// A stream name: 1-128 of `[A-Za-z0-9_.-]`.
pub fn is_stream_name(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

fn encrypted(s: &StreamEncryption) -> bool {
    s.encryption_type == "KMS"
}

impl RuleFamily for KinesisEncryption {
    const NAME: &'static str = "kinesis-encryption";
    const DOC: FamilyDoc = FamilyDoc {
        changes: "StartStreamEncryption EncryptionType=KMS with params.kms_key_id (default alias/aws/kinesis)",
        never: "records, shards, retention, consumers, the key of a stream already encrypted",
        undo: "StopStreamEncryption with the key the fix set, when the recorded stream was not encrypted (records written meanwhile stay encrypted)",
        tested: "local stack",
    };
    const RESOURCE: &'static str = "Kinesis stream name";
    const READS: &'static [&'static str] = &[DESCRIBE_STREAM_SUMMARY, LIST_TAGS_FOR_STREAM];
    const WRITES: &'static [&'static str] = &[START_STREAM_ENCRYPTION, STOP_STREAM_ENCRYPTION];
    /// The stream is UPDATING for a few seconds, on a large stream longer.
    const SETTLE: Duration = Duration::from_secs(120);
    type Params = Params;
    type State = StreamEncryption;
    type Change = Change;

    fn valid_id(id: &str) -> bool {
        is_stream_name(id)
    }

    async fn read(ctx: &Ctx, stream: &str, tags: Tags) -> Result<Option<Read<StreamEncryption>>, Error> {
        let kinesis = crate::sdk_client!(ctx, aws_sdk_kinesis);
        let out = match kinesis.describe_stream_summary().stream_name(stream).send().await {
            Ok(out) => out,
            Err(e) => {
                let err = Error::from_sdk(DESCRIBE_STREAM_SUMMARY, e);
                return if err.aws_code() == Some("ResourceNotFoundException") {
                    Ok(None)
                } else {
                    Err(err)
                };
            }
        };
        let Some(s) = out.stream_description_summary() else {
            return Ok(None);
        };
        let state = StreamEncryption {
            status: s.stream_status().as_str().to_string(),
            encryption_type: s
                .encryption_type()
                .map(|e| e.as_str().to_string())
                .unwrap_or_else(|| "NONE".into()),
            key_id: s.key_id().map(str::to_string),
        };
        let mut live_tags = BTreeMap::new();
        if tags == Tags::Read {
            let mut start: Option<String> = None;
            loop {
                let out = kinesis
                    .list_tags_for_stream()
                    .stream_name(stream)
                    .set_exclusive_start_tag_key(start.take())
                    .send()
                    .await
                    .map_err(|e| Error::from_sdk(LIST_TAGS_FOR_STREAM, e))?;
                for t in out.tags() {
                    live_tags.insert(t.key().to_string(), t.value().unwrap_or_default().to_string());
                }
                match out.tags().last() {
                    Some(last) if out.has_more_tags() => start = Some(last.key().to_string()),
                    _ => break,
                }
            }
        }
        Ok(Some(Read { state, tags: live_tags }))
    }

    fn assess(s: &StreamEncryption, p: &Params, t: Target<'_>) -> Assessment<Change> {
        let on = encrypted(s);
        let summary = if on {
            format!(
                "stream {} is encrypted with KMS key {}: nothing to change",
                t.resource,
                s.key_id.as_deref().unwrap_or("?")
            )
        } else {
            format!(
                "encrypt stream {} at rest with KMS key {} (records already written stay unencrypted)",
                t.resource, p.kms_key_id
            )
        };
        let changes = if on {
            Vec::new()
        } else {
            vec![Change::StartEncryption {
                key_id: p.kms_key_id.clone(),
            }]
        };
        let mut plan = t.plan(summary, changes);
        plan.untouched = vec!["records, shards, retention and consumers".into()];
        Assessment {
            offending: if on {
                Vec::new()
            } else {
                vec![format!("encryption {}", s.encryption_type)]
            },
            plan,
        }
    }

    async fn apply(ctx: &Ctx, stream: &str, _: &StreamEncryption, changes: &[Change]) -> Result<(), Error> {
        for c in changes {
            let kinesis = crate::sdk_client!(ctx, aws_sdk_kinesis);
            match c {
                Change::StartEncryption { key_id } => start(&kinesis, stream, key_id).await?,
                Change::StopEncryption { key_id } => stop(&kinesis, stream, key_id).await?,
            }
        }
        Ok(())
    }

    fn simulate(s: &StreamEncryption, changes: &[Change]) -> StreamEncryption {
        let mut out = s.clone();
        for c in changes {
            match c {
                Change::StartEncryption { key_id } => {
                    out.encryption_type = "KMS".into();
                    out.key_id = Some(key_id.clone());
                }
                Change::StopEncryption { .. } => {
                    out.encryption_type = "NONE".into();
                    out.key_id = None;
                }
            }
        }
        out
    }

    /// The undo: stop the encryption the fix started (the recorded stream was not encrypted), or
    /// put the recorded key back.
    fn revert(live: &StreamEncryption, before: &StreamEncryption) -> Option<Vec<Change>> {
        if Self::diff(live, before).is_empty() {
            return Some(Vec::new());
        }
        Some(match (encrypted(before), &before.key_id, &live.key_id) {
            (false, _, Some(key_id)) if encrypted(live) => vec![Change::StopEncryption { key_id: key_id.clone() }],
            (true, Some(key_id), _) => vec![Change::StartEncryption { key_id: key_id.clone() }],
            _ => return None,
        })
    }

    fn diff(before: &StreamEncryption, after: &StreamEncryption) -> Vec<String> {
        let show = |s: &StreamEncryption| match &s.key_id {
            Some(k) if encrypted(s) => format!("KMS ({k})"),
            _ => s.encryption_type.clone(),
        };
        if show(before) == show(after) {
            Vec::new()
        } else {
            vec![format!("encryption {} → {}", show(before), show(after))]
        }
    }
}

/// `StartStreamEncryption` KMS with `key_id`. A stream not ACTIVE yet (`ResourceInUseException`)
/// is a transient failure: the state machine retries.
pub async fn start(kinesis: &aws_sdk_kinesis::Client, stream: &str, key_id: &str) -> Result<(), Error> {
    match kinesis
        .start_stream_encryption()
        .stream_name(stream)
        .encryption_type(EncryptionType::Kms)
        .key_id(key_id)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) => match Error::from_sdk(START_STREAM_ENCRYPTION, e) {
            err if err.aws_code() == Some("ResourceInUseException") => Err(Error::AwsTransient {
                operation: START_STREAM_ENCRYPTION,
                detail: format!("stream {stream} is not ACTIVE yet (ResourceInUseException)"),
            }),
            err => Err(err),
        },
    }
}

/// `StopStreamEncryption` KMS with `key_id` (the key the stream is encrypted with). A stream not
/// ACTIVE (`ResourceInUseException`) is transient, as for [`start`].
pub async fn stop(kinesis: &aws_sdk_kinesis::Client, stream: &str, key_id: &str) -> Result<(), Error> {
    match kinesis
        .stop_stream_encryption()
        .stream_name(stream)
        .encryption_type(EncryptionType::Kms)
        .key_id(key_id)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) => match Error::from_sdk(STOP_STREAM_ENCRYPTION, e) {
            err if err.aws_code() == Some("ResourceInUseException") => Err(Error::AwsTransient {
                operation: STOP_STREAM_ENCRYPTION,
                detail: format!("stream {stream} is not ACTIVE yet (ResourceInUseException)"),
            }),
            err => Err(err),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::families::helpers::mock_ctx;
    use aws_sdk_kinesis::operation::describe_stream_summary::DescribeStreamSummaryError;
    use aws_sdk_kinesis::operation::start_stream_encryption::{
        StartStreamEncryptionError, StartStreamEncryptionOutput,
    };
    use aws_smithy_mocks::mock;

    fn target() -> Target<'static> {
        Target {
            rule_id: "Kinesis-001",
            resource: "clicks",
            region: "us-east-1",
        }
    }

    fn stream(kind: &str, key: Option<&str>) -> StreamEncryption {
        StreamEncryption {
            status: "ACTIVE".into(),
            encryption_type: kind.into(),
            key_id: key.map(str::to_string),
        }
    }

    fn params() -> Params {
        serde_json::from_value(serde_json::json!({})).unwrap()
    }

    #[test]
    fn an_unencrypted_stream_gets_the_aws_managed_key_and_an_encrypted_one_keeps_its_key() {
        let a = KinesisEncryption::assess(&stream("NONE", None), &params(), target());
        assert_eq!(
            a.plan.changes,
            vec![Change::StartEncryption {
                key_id: "alias/aws/kinesis".into()
            }]
        );
        assert_eq!(a.offending, vec!["encryption NONE"]);
        assert!(a.plan.removes.is_empty());
        let after = KinesisEncryption::simulate(&stream("NONE", None), &a.plan.changes);
        assert_eq!(after, stream("KMS", Some("alias/aws/kinesis")));
        assert_eq!(
            KinesisEncryption::diff(&stream("NONE", None), &after),
            vec!["encryption NONE → KMS (alias/aws/kinesis)"]
        );
        let team = stream("KMS", Some("arn:aws:kms:us-east-1:111122223333:key/team"));
        let a = KinesisEncryption::assess(&team, &params(), target());
        assert!(a.plan.is_empty() && a.offending.is_empty());
    }

    #[test]
    fn a_configured_key_is_used_and_unknown_params_are_refused() {
        let p: Params = serde_json::from_value(serde_json::json!({"kms_key_id": "alias/team"})).unwrap();
        let a = KinesisEncryption::assess(&stream("NONE", None), &p, target());
        assert_eq!(
            a.plan.changes,
            vec![Change::StartEncryption {
                key_id: "alias/team".into()
            }]
        );
        assert!(serde_json::from_value::<Params>(serde_json::json!({"key": "x"})).is_err());
    }

    #[test]
    fn stream_names_only() {
        assert!(is_stream_name("clicks-v2.prod_1"));
        for bad in ["", "a/b", "../x", "a b", &"x".repeat(129)] {
            assert!(!is_stream_name(bad), "{bad}");
        }
    }

    #[tokio::test]
    async fn apply_sends_exactly_one_start_with_kms_and_the_key() {
        let start = mock!(aws_sdk_kinesis::Client::start_stream_encryption)
            .match_requests(|r| {
                r.stream_name() == Some("clicks")
                    && r.encryption_type() == Some(&EncryptionType::Kms)
                    && r.key_id() == Some("alias/aws/kinesis")
                    && r.stream_arn().is_none()
            })
            .then_output(|| StartStreamEncryptionOutput::builder().build());
        let ctx = mock_ctx::ctx(KinesisEncryption::READS, KinesisEncryption::WRITES, &[&start]);
        KinesisEncryption::apply(
            &ctx,
            "clicks",
            &stream("NONE", None),
            &[Change::StartEncryption {
                key_id: "alias/aws/kinesis".into(),
            }],
        )
        .await
        .unwrap();
        assert_eq!(start.num_calls(), 1);
    }

    #[test]
    fn fix_then_revert_stops_the_encryption_and_an_unchanged_stream_needs_nothing() {
        let before = stream("NONE", None);
        let fixed = KinesisEncryption::simulate(
            &before,
            &KinesisEncryption::assess(&before, &params(), target()).plan.changes,
        );
        let undo = KinesisEncryption::revert(&fixed, &before).unwrap();
        assert_eq!(
            undo,
            vec![Change::StopEncryption {
                key_id: "alias/aws/kinesis".into()
            }]
        );
        assert_eq!(KinesisEncryption::simulate(&fixed, &undo), before);
        assert!(KinesisEncryption::revert(&before, &before).unwrap().is_empty());
        assert!(KinesisEncryption::revert(&fixed, &fixed).unwrap().is_empty());
    }

    #[tokio::test]
    async fn the_undo_sends_exactly_one_stop_with_kms_and_the_key() {
        use aws_sdk_kinesis::operation::stop_stream_encryption::StopStreamEncryptionOutput;
        let stop = mock!(aws_sdk_kinesis::Client::stop_stream_encryption)
            .match_requests(|r| {
                r.stream_name() == Some("clicks")
                    && r.encryption_type() == Some(&EncryptionType::Kms)
                    && r.key_id() == Some("alias/aws/kinesis")
            })
            .then_output(|| StopStreamEncryptionOutput::builder().build());
        let ctx = mock_ctx::ctx(KinesisEncryption::READS, KinesisEncryption::WRITES, &[&stop]);
        KinesisEncryption::apply(
            &ctx,
            "clicks",
            &stream("KMS", Some("alias/aws/kinesis")),
            &[Change::StopEncryption {
                key_id: "alias/aws/kinesis".into(),
            }],
        )
        .await
        .unwrap();
        assert_eq!(stop.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_stream_still_updating_is_retryable() {
        let busy = mock!(aws_sdk_kinesis::Client::start_stream_encryption).then_error(|| {
            StartStreamEncryptionError::generic(
                aws_sdk_kinesis::error::ErrorMetadata::builder()
                    .code("ResourceInUseException")
                    .build(),
            )
        });
        let ctx = mock_ctx::ctx(KinesisEncryption::READS, KinesisEncryption::WRITES, &[&busy]);
        let err = start(&crate::sdk_client!(ctx, aws_sdk_kinesis), "clicks", "k")
            .await
            .unwrap_err();
        assert!(err.is_retryable(), "{err}");
    }

    #[tokio::test]
    async fn a_missing_stream_reads_as_none() {
        let gone = mock!(aws_sdk_kinesis::Client::describe_stream_summary).then_error(|| {
            DescribeStreamSummaryError::generic(
                aws_sdk_kinesis::error::ErrorMetadata::builder()
                    .code("ResourceNotFoundException")
                    .build(),
            )
        });
        let ctx = mock_ctx::ctx(KinesisEncryption::READS, KinesisEncryption::WRITES, &[&gone]);
        assert!(KinesisEncryption::read(&ctx, "clicks", Tags::Read)
            .await
            .unwrap()
            .is_none());
    }
}
