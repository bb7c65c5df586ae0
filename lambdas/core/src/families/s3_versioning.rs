//! S3-012: a bucket's versioning is off (never enabled, or suspended).
//!
//! What a fix changes, never touches and how it is undone: [`S3Versioning::DOC`] (RULES.md is
//! generated from it). MFA delete is left as it is: changing it needs the root user's MFA.
//! S3 cannot return a bucket to "never versioned": for this family "never versioned" and
//! "suspended" are the same state (neither keeps new versions), so the undo of a fix on a bucket
//! never versioned (suspending it) verifies as restored.

use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
use serde::{Deserialize, Serialize};

use crate::aws::Ctx;
use crate::error::Error;
use crate::families::helpers::family::{Assessment, FamilyDoc, NoParams, Placement, Read, RuleFamily, Tags, Target};
use crate::families::helpers::s3_bucket;
use crate::ids;
use crate::plan::Describe;

/// The family: `s3-versioning` in the catalog.
pub struct S3Versioning;

const GET_BUCKET_VERSIONING: &str = "s3:GetBucketVersioning";
const PUT_BUCKET_VERSIONING: &str = "s3:PutBucketVersioning";

/// No parameters: the rule is the same for every bucket.
/// Its rules take no parameters.
pub type Params = NoParams;

/// A bucket's versioning as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Versioning {
    /// `Enabled`, `Suspended`, or absent (never enabled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action")]
pub enum Change {
    #[serde(rename = "s3:EnableVersioning")]
    EnableVersioning,
    /// `Status=Suspended` (an undo). `never_versioned`: the recorded before-state was never
    /// versioned, which S3 cannot return to.
    #[serde(rename = "s3:SuspendVersioning")]
    SuspendVersioning {
        #[serde(default)]
        never_versioned: bool,
    },
}

impl Describe for Change {
    fn describe(&self) -> String {
        match self {
            Change::EnableVersioning => "enable versioning".into(),
            Change::SuspendVersioning { never_versioned: false } => "suspend versioning (existing versions are kept)".into(),
            Change::SuspendVersioning { never_versioned: true } => "suspend versioning: the bucket was never versioned \
                 before, which S3 cannot return a bucket to; suspended is the nearest (existing versions are kept, no new \
                 ones are made)"
                .into(),
        }
    }
}

/// Never enabled and suspended are one state for this family: S3 keeps no new versions in either,
/// and a bucket once versioned can only be suspended, never returned to "never enabled".
fn keeps_versions(v: &Versioning) -> Option<&str> {
    match v.status.as_deref() {
        None | Some("Suspended") => None,
        other => other,
    }
}

fn enabled(v: &Versioning) -> bool {
    v.status.as_deref() == Some("Enabled")
}

impl RuleFamily for S3Versioning {
    const NAME: &'static str = "s3-versioning";
    const DOC: FamilyDoc = FamilyDoc {
        changes: "PutBucketVersioning Status=Enabled",
        never: "MFA delete, objects, lifecycle rules, the policy and the ACL",
        undo: "PutBucketVersioning Status=Suspended, only when the recorded before-state was suspended or never versioned; S3 cannot return a bucket to never-versioned, so a never-versioned bucket is suspended (existing versions kept, no new ones made) and the undo's plan says so",
        tested: "local stack",
    };
    const RESOURCE: &'static str = "S3 bucket name";
    const PLACEMENT: Placement = Placement::Located;
    const READS: &'static [&'static str] = &[
        GET_BUCKET_VERSIONING,
        s3_bucket::GET_BUCKET_TAGGING,
        s3_bucket::GET_BUCKET_LOCATION,
    ];
    const WRITES: &'static [&'static str] = &[PUT_BUCKET_VERSIONING];
    type Params = Params;
    type State = Versioning;
    type Change = Change;

    fn valid_id(id: &str) -> bool {
        ids::is_bucket_name(id)
    }

    async fn read(ctx: &Ctx, bucket: &str, tags: Tags) -> Result<Option<Read<Versioning>>, Error> {
        let s3 = s3_bucket::client(ctx, bucket).await?;
        let state = async {
            match s3.get_bucket_versioning().bucket(bucket).send().await {
                Ok(out) => Ok(Some(Versioning {
                    status: out.status().map(|s| s.as_str().to_string()),
                })),
                Err(e) => {
                    let err = Error::from_sdk(GET_BUCKET_VERSIONING, e);
                    if s3_bucket::is_gone(&err) {
                        Ok(None)
                    } else {
                        Err(err)
                    }
                }
            }
        };
        s3_bucket::read_with_tags(&s3, bucket, tags, state).await
    }

    fn assess(v: &Versioning, _: &Params, t: Target<'_>) -> Assessment<Change> {
        let on = enabled(v);
        let was = v.status.as_deref().unwrap_or("never enabled");
        let changes = if on { Vec::new() } else { vec![Change::EnableVersioning] };
        let summary = if on {
            format!("bucket {} already keeps versions: nothing to change", t.resource)
        } else {
            format!("enable versioning on bucket {} (now {was})", t.resource)
        };
        let mut plan = t.plan(summary, changes);
        plan.untouched = vec!["objects, lifecycle rules, MFA delete, the policy and the ACL".into()];
        Assessment {
            offending: if on {
                Vec::new()
            } else {
                vec![format!("versioning {was}")]
            },
            plan,
        }
    }

    async fn apply(ctx: &Ctx, bucket: &str, _: &Versioning, changes: &[Change]) -> Result<(), Error> {
        for c in changes {
            let status = match c {
                Change::EnableVersioning => BucketVersioningStatus::Enabled,
                Change::SuspendVersioning { .. } => BucketVersioningStatus::Suspended,
            };
            put(&s3_bucket::client(ctx, bucket).await?, bucket, status).await?;
        }
        Ok(())
    }

    fn simulate(v: &Versioning, changes: &[Change]) -> Versioning {
        let mut out = v.clone();
        for c in changes {
            out.status = Some(
                match c {
                    Change::EnableVersioning => "Enabled",
                    Change::SuspendVersioning { .. } => "Suspended",
                }
                .into(),
            );
        }
        out
    }

    /// Never enabled and suspended do not differ (see [`keeps_versions`]).
    fn diff(before: &Versioning, after: &Versioning) -> Vec<String> {
        if keeps_versions(before) == keeps_versions(after) {
            return Vec::new();
        }
        vec![format!(
            "versioning {} → {}",
            before.status.as_deref().unwrap_or("never enabled"),
            after.status.as_deref().unwrap_or("never enabled")
        )]
    }

    /// The undo: suspend versioning when the bucket keeps versions now and did not before.
    fn revert(live: &Versioning, before: &Versioning) -> Option<Vec<Change>> {
        Some(if keeps_versions(live).is_some() && keeps_versions(before).is_none() {
            vec![Change::SuspendVersioning {
                never_versioned: before.status.is_none(),
            }]
        } else {
            Vec::new()
        })
    }
}

/// `PutBucketVersioning` with `Status=Enabled` and nothing else.
pub async fn enable(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<(), Error> {
    put(s3, bucket, BucketVersioningStatus::Enabled).await
}

/// `PutBucketVersioning` with `status` and nothing else (no MFA delete).
pub async fn put(s3: &aws_sdk_s3::Client, bucket: &str, status: BucketVersioningStatus) -> Result<(), Error> {
    s3.put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(VersioningConfiguration::builder().status(status).build())
        .send()
        .await
        .map(|_| ())
        .map_err(|e| Error::from_sdk(PUT_BUCKET_VERSIONING, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::operation::put_bucket_versioning::PutBucketVersioningOutput;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    fn target() -> Target<'static> {
        Target {
            rule_id: "S3-012",
            resource: "b",
            region: "us-east-1",
        }
    }

    #[test]
    fn suspended_or_never_enabled_versioning_is_enabled_and_enabled_is_left_alone() {
        for status in [None, Some("Suspended".to_string())] {
            let a = S3Versioning::assess(&Versioning { status }, &Params {}, target());
            assert_eq!(a.plan.changes, vec![Change::EnableVersioning]);
            assert_eq!(a.offending.len(), 1);
        }
        let on = Versioning {
            status: Some("Enabled".into()),
        };
        let a = S3Versioning::assess(&on, &Params {}, target());
        assert!(a.plan.is_empty() && a.offending.is_empty());
        assert!(a.plan.removes.is_empty(), "enabling versioning removes no access");
    }

    #[test]
    fn fix_then_revert_suspends_and_says_so_for_a_never_versioned_bucket() {
        for status in [None, Some("Suspended".to_string())] {
            let before = Versioning { status };
            let fix = S3Versioning::assess(&before, &Params {}, target()).plan.changes;
            let fixed = S3Versioning::simulate(&before, &fix);
            assert_eq!(fixed.status.as_deref(), Some("Enabled"));
            let undo = S3Versioning::revert(&fixed, &before).unwrap();
            let never = before.status.is_none();
            assert_eq!(undo, vec![Change::SuspendVersioning { never_versioned: never }]);
            let restored = S3Versioning::simulate(&fixed, &undo);
            assert_eq!(restored.status.as_deref(), Some("Suspended"));
            assert!(S3Versioning::diff(&restored, &before).is_empty());
            assert_eq!(
                undo[0]
                    .describe()
                    .contains("never versioned before, which S3 cannot return a bucket to"),
                never
            );
            assert!(S3Versioning::revert(&before, &before).unwrap().is_empty());
            assert!(S3Versioning::revert(&restored, &before).unwrap().is_empty());
        }
        // Enabled differs from both; never enabled and suspended do not differ.
        let on = Versioning {
            status: Some("Enabled".into()),
        };
        assert_eq!(S3Versioning::diff(&Versioning { status: None }, &on).len(), 1);
        assert!(S3Versioning::revert(&on, &on).unwrap().is_empty());
    }

    #[tokio::test]
    async fn apply_of_the_undo_sends_one_put_with_status_suspended() {
        let put = mock!(aws_sdk_s3::Client::put_bucket_versioning)
            .match_requests(|r| {
                r.bucket() == Some("b")
                    && r.versioning_configuration()
                        .and_then(|v| v.status())
                        .map(|s| s.as_str())
                        == Some("Suspended")
                    && r.versioning_configuration().and_then(|v| v.mfa_delete()).is_none()
                    && r.mfa().is_none()
            })
            .then_output(|| PutBucketVersioningOutput::builder().build());
        let s3 = mock_client!(aws_sdk_s3, RuleMode::Sequential, [&put]);
        super::put(&s3, "b", BucketVersioningStatus::Suspended).await.unwrap();
        assert_eq!(put.num_calls(), 1);
    }

    #[tokio::test]
    async fn apply_sends_exactly_one_put_with_status_enabled() {
        let put = mock!(aws_sdk_s3::Client::put_bucket_versioning)
            .match_requests(|r| {
                r.bucket() == Some("b")
                    && r.versioning_configuration()
                        .and_then(|v| v.status())
                        .map(|s| s.as_str())
                        == Some("Enabled")
                    && r.versioning_configuration().and_then(|v| v.mfa_delete()).is_none()
                    && r.mfa().is_none()
            })
            .then_output(|| PutBucketVersioningOutput::builder().build());
        let s3 = mock_client!(aws_sdk_s3, RuleMode::Sequential, [&put]);
        enable(&s3, "b").await.unwrap();
        assert_eq!(put.num_calls(), 1);
    }
}
