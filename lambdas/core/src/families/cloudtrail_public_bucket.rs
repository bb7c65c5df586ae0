//! CT-003: the S3 bucket a CloudTrail trail delivers its logs to is public.
//!
//! Resource: the trail's name (a trail ARN is accepted too; its region is used). The bucket is
//! read from the trail (`GetTrail`).
//!
//! What a fix changes, never touches and how it is undone: [`CloudTrailPublicBucket::DOC`]
//! (RULES.md is generated from it). The policy's public statements are judged as S3-014 judges
//! them ([`s3_bucket_policy`]) and put back by its undo ([`s3_bucket_policy::revert_policy`]).
//! (The seed wiped every grant.)
//! Tags: the trail's (`ListTags`) over the bucket's, so an exclusion tag on either is honoured.
//! A log bucket in another account is refused by S3 (`ExpectedBucketOwner`): the fix stops with
//! `AccessDenied`, nothing changed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::aws::Ctx;
use crate::error::Error;
use crate::families::helpers::family::{Assessment, FamilyDoc, NoParams, Read, RuleFamily, Tags, Target};
use crate::families::helpers::s3_bucket;
use crate::families::s3_acl::{self, AclGrant, BucketAcl, Grantee, GranteeGroup};
use crate::families::s3_bucket_policy::{self, PolicyChange};
use crate::ids;
use crate::plan::Describe;

/// The family: `cloudtrail-public-bucket` in the catalog.
pub struct CloudTrailPublicBucket;

const GET_TRAIL: &str = "cloudtrail:GetTrail";
const LIST_TAGS: &str = "cloudtrail:ListTags";

/// Its rules take no parameters.
pub type Params = NoParams;

/// The trail's log bucket as read: its ACL and policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrailBucket {
    pub trail_arn: String,
    pub bucket: String,
    /// `None`: the bucket does not exist (nothing public to remove).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acl: Option<BucketAcl>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<Value>,
}

/// One write: an ACL grant removed, or public policy statements removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Change {
    Acl(s3_acl::Change),
    Policy(PolicyChange),
}

impl Describe for Change {
    fn describe(&self) -> String {
        match self {
            Change::Acl(c) => c.describe(),
            Change::Policy(c) => c.describe(),
        }
    }
}

const PUBLIC_GROUPS: [GranteeGroup; 2] = [GranteeGroup::AllUsers, GranteeGroup::AuthenticatedUsers];

/// The public group a grant is to, if it is one.
fn public_group(g: &AclGrant) -> Option<GranteeGroup> {
    match &g.grantee {
        Grantee::Group { uri } => PUBLIC_GROUPS.into_iter().find(|p| p.uri() == uri),
        _ => None,
    }
}

fn acl_changes(changes: &[Change]) -> Vec<s3_acl::Change> {
    changes
        .iter()
        .filter_map(|c| match c {
            Change::Acl(a) => Some(a.clone()),
            Change::Policy(_) => None,
        })
        .collect()
}

fn policy_changes(changes: &[Change]) -> Vec<PolicyChange> {
    changes
        .iter()
        .filter_map(|c| match c {
            Change::Policy(p) => Some(p.clone()),
            Change::Acl(_) => None,
        })
        .collect()
}

/// The CloudTrail client for a trail: in the ARN's region when given an ARN.
fn cloudtrail(ctx: &Ctx, trail: &str) -> aws_sdk_cloudtrail::Client {
    match ids::trail_arn_parts(trail) {
        Some((region, _)) if region != ctx.region() => crate::sdk_client!(ctx.in_region(region), aws_sdk_cloudtrail),
        _ => crate::sdk_client!(ctx, aws_sdk_cloudtrail),
    }
}

impl RuleFamily for CloudTrailPublicBucket {
    const NAME: &'static str = "cloudtrail-public-bucket";
    const DOC: FamilyDoc = FamilyDoc {
        changes: "on the trail's log bucket: remove exactly the AllUsers/AuthenticatedUsers grants of its ACL (one PutBucketAcl with the owner and every other grant) and the unrestricted Allow-to-* statements of its policy (PutBucketPolicy with the rest, DeleteBucketPolicy when none is left)",
        never: "the trail, the owner, canonical-user, e-mail and LogDelivery grants, Condition-restricted statements (CloudTrail's own) and those with a condition key not known to leave them open (fail closed, as S3-014), Block Public Access, objects",
        undo: "the public grants the fix removed added back to the ACL (one PutBucketAcl, every other grant as live has it), then the public statements it removed put back at their recorded places (one PutBucketPolicy; a policy it deleted whole comes back as recorded); the trail is not touched",
        tested: "local stack",
    };
    const RESOURCE: &'static str = "CloudTrail trail name or ARN";
    const READS: &'static [&'static str] = &[
        GET_TRAIL,
        LIST_TAGS,
        s3_acl::GET_BUCKET_ACL,
        s3_bucket_policy::GET_BUCKET_POLICY,
        s3_bucket::GET_BUCKET_TAGGING,
        s3_bucket::GET_BUCKET_LOCATION,
    ];
    const WRITES: &'static [&'static str] = &[
        s3_acl::PUT_BUCKET_ACL,
        s3_bucket_policy::PUT_BUCKET_POLICY,
        s3_bucket_policy::DELETE_BUCKET_POLICY,
    ];
    type Params = Params;
    type State = TrailBucket;
    type Change = Change;

    fn valid_id(id: &str) -> bool {
        ids::is_trail(id)
    }

    async fn read(ctx: &Ctx, trail: &str, tags: Tags) -> Result<Option<Read<TrailBucket>>, Error> {
        let ct = cloudtrail(ctx, trail);
        let found = match ct.get_trail().name(trail).send().await {
            Ok(out) => out.trail().cloned(),
            Err(e) => {
                let err = Error::from_sdk(GET_TRAIL, e);
                return if err.aws_code() == Some("TrailNotFoundException") {
                    Ok(None)
                } else {
                    Err(err)
                };
            }
        };
        let Some(found) = found else { return Ok(None) };
        let trail_arn = found.trail_arn().unwrap_or_default().to_string();
        let Some(bucket) = found.s3_bucket_name().filter(|b| !b.is_empty()).map(str::to_string) else {
            return Err(Error::Aws {
                operation: GET_TRAIL,
                code: "NoLogBucket".into(),
                message: format!("trail {trail} names no S3 bucket"),
            });
        };
        let s3 = s3_bucket::client(ctx, &bucket).await?;
        let acl = s3_acl::read_acl(&s3, &bucket).await?;
        let policy = match acl {
            Some(_) => s3_bucket_policy::read_policy(&s3, &bucket).await?.flatten(),
            None => None,
        };
        let mut live = BTreeMap::new();
        if tags == Tags::Read {
            if acl.is_some() {
                live = s3_bucket::read_tags(&s3, &bucket, tags).await?;
            }
            let out = ct
                .list_tags()
                .resource_id_list(&trail_arn)
                .send()
                .await
                .map_err(|e| Error::from_sdk(LIST_TAGS, e))?;
            for t in out.resource_tag_list().iter().flat_map(|r| r.tags_list()) {
                live.insert(t.key().to_string(), t.value().unwrap_or_default().to_string());
            }
        }
        Ok(Some(Read {
            state: TrailBucket {
                trail_arn,
                bucket,
                acl,
                policy,
            },
            tags: live,
        }))
    }

    fn assess(s: &TrailBucket, _: &Params, t: Target<'_>) -> Assessment<Change> {
        let mut offending = Vec::new();
        let mut changes = Vec::new();
        let mut removes = Vec::new();
        let mut untouched = Vec::new();
        if let Some(acl) = &s.acl {
            for g in &acl.grants {
                match public_group(g) {
                    Some(group) => {
                        offending.push(format!("bucket {} grants {}", s.bucket, g.describe()));
                        removes.push(format!("{} to {group:?}", g.permission));
                        changes.push(Change::Acl(s3_acl::Change::RemoveGrant { grant: g.clone() }));
                    }
                    None => untouched.push(format!("grant {}", g.describe())),
                }
            }
            untouched.push(format!(
                "owner {}",
                acl.owner_display_name.as_deref().unwrap_or(&acl.owner_id)
            ));
        }
        let p = s3_bucket_policy::assess_policy(s.policy.as_ref());
        offending.extend(p.offending.iter().map(|o| format!("bucket {} {o}", s.bucket)));
        removes.extend(p.removes);
        untouched.extend(p.untouched);
        changes.extend(p.changes.into_iter().map(Change::Policy));
        untouched.push(format!("the trail {} and its settings", t.resource));
        untouched.push("Block Public Access and objects".into());
        let summary = if changes.is_empty() {
            format!(
                "the log bucket {} of trail {} is not public: nothing to change",
                s.bucket, t.resource
            )
        } else {
            format!(
                "remove the public access to the log bucket {} of trail {} ({} change(s))",
                s.bucket,
                t.resource,
                changes.len()
            )
        };
        let mut plan = t.plan(summary, changes);
        plan.removes = removes;
        plan.untouched = untouched;
        plan.cannot_keep = p.cannot_keep;
        Assessment { offending, plan }
    }

    async fn apply(ctx: &Ctx, _: &str, s: &TrailBucket, changes: &[Change]) -> Result<(), Error> {
        let after = Self::simulate(s, changes);
        if after == *s {
            return Ok(());
        }
        let s3 = s3_bucket::client(ctx, &s.bucket).await?;
        if let (Some(before), Some(new)) = (&s.acl, &after.acl) {
            if before != new {
                s3_acl::write_acl(&s3, &s.bucket, new).await?;
            }
        }
        s3_bucket_policy::write_policy(&s3, &s.bucket, s.policy.as_ref(), after.policy.as_ref()).await
    }

    fn simulate(s: &TrailBucket, changes: &[Change]) -> TrailBucket {
        TrailBucket {
            trail_arn: s.trail_arn.clone(),
            bucket: s.bucket.clone(),
            acl: s.acl.as_ref().map(|a| s3_acl::without(a, &acl_changes(changes))),
            policy: s3_bucket_policy::policy_after(s.policy.as_ref(), &policy_changes(changes)),
        }
    }

    /// The undo: the grants `before` had and `live` lacks added back (and any the fix left that
    /// `before` lacked removed: none, a fix only removes), then the policy statements as the
    /// S3-014 undo puts them back. `None` when the log bucket is another one or gone.
    fn revert(live: &TrailBucket, before: &TrailBucket) -> Option<Vec<Change>> {
        if live.bucket != before.bucket {
            return None;
        }
        let mut out = Vec::new();
        match (&live.acl, &before.acl) {
            (Some(l), Some(b)) => {
                out.extend(
                    b.grants
                        .iter()
                        .filter(|g| !l.grants.contains(g))
                        .map(|g| Change::Acl(s3_acl::Change::AddGrant { grant: g.clone() })),
                );
                out.extend(
                    l.grants
                        .iter()
                        .filter(|g| !b.grants.contains(g))
                        .map(|g| Change::Acl(s3_acl::Change::RemoveGrant { grant: g.clone() })),
                );
            }
            (None, None) => {}
            _ => return None,
        }
        let policy = s3_bucket_policy::revert_policy(live.policy.as_ref(), before.policy.as_ref())?;
        out.extend(policy.into_iter().map(Change::Policy));
        Some(out)
    }

    fn diff(before: &TrailBucket, after: &TrailBucket) -> Vec<String> {
        if before.bucket != after.bucket {
            return vec![format!(
                "the trail's log bucket changed from {} to {}",
                before.bucket, after.bucket
            )];
        }
        let mut out = match (&before.acl, &after.acl) {
            (Some(b), Some(a)) => s3_acl::diff(b, a),
            (Some(_), None) => vec![format!("bucket {} no longer exists", before.bucket)],
            _ => Vec::new(),
        };
        out.extend(s3_bucket_policy::diff_policy(
            before.policy.as_ref(),
            after.policy.as_ref(),
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudtrail::operation::get_trail::{GetTrailError, GetTrailOutput};
    use aws_sdk_s3::operation::get_bucket_location::GetBucketLocationOutput;
    use aws_sdk_s3::operation::put_bucket_acl::PutBucketAclOutput;
    use aws_sdk_s3::operation::put_bucket_policy::PutBucketPolicyOutput;
    use aws_smithy_mocks::{mock, MockResponseInterceptor, RuleMode};
    use serde_json::json;

    const ALL: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
    const AUTH: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";
    const LOG: &str = "http://acs.amazonaws.com/groups/s3/LogDelivery";

    fn target() -> Target<'static> {
        Target {
            rule_id: "CT-003",
            resource: "main-trail",
            region: "us-east-1",
        }
    }

    fn group(uri: &str, p: &str) -> AclGrant {
        AclGrant {
            grantee: Grantee::Group { uri: uri.into() },
            permission: p.into(),
        }
    }

    fn owner_full() -> AclGrant {
        AclGrant {
            grantee: Grantee::CanonicalUser {
                id: "owner-id".into(),
                display_name: None,
            },
            permission: "FULL_CONTROL".into(),
        }
    }

    fn cloudtrail_write() -> Value {
        json!({"Sid": "AWSCloudTrailWrite", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
               "Action": "s3:PutObject", "Resource": "arn:aws:s3:::logs/AWSLogs/*",
               "Condition": {"StringEquals": {"aws:SourceArn": "arn:aws:cloudtrail:us-east-1:111122223333:trail/main-trail"}}})
    }

    fn public_read() -> Value {
        json!({"Sid": "Anyone", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::logs/*"})
    }

    fn state() -> TrailBucket {
        TrailBucket {
            trail_arn: "arn:aws:cloudtrail:us-east-1:111122223333:trail/main-trail".into(),
            bucket: "logs".into(),
            acl: Some(BucketAcl {
                owner_id: "owner-id".into(),
                owner_display_name: None,
                grants: vec![
                    owner_full(),
                    group(ALL, "READ"),
                    group(AUTH, "READ_ACP"),
                    group(LOG, "WRITE"),
                ],
            }),
            policy: Some(json!({"Version": "2012-10-17", "Statement": [cloudtrail_write(), public_read()]})),
        }
    }

    #[test]
    fn exactly_the_public_grants_and_statements_go() {
        let s = state();
        let a = CloudTrailPublicBucket::assess(&s, &Params {}, target());
        assert_eq!(
            a.plan.changes,
            vec![
                Change::Acl(s3_acl::Change::RemoveGrant {
                    grant: group(ALL, "READ")
                }),
                Change::Acl(s3_acl::Change::RemoveGrant {
                    grant: group(AUTH, "READ_ACP")
                }),
                Change::Policy(PolicyChange::RemoveStatements {
                    labels: vec!["Anyone".into()],
                    statements: vec![public_read()],
                    narrowed: vec![],
                }),
            ]
        );
        assert_eq!(
            a.plan.removes,
            vec![
                "READ to AllUsers",
                "READ_ACP to AuthenticatedUsers",
                "policy statement Anyone: Allow * s3:GetObject"
            ]
        );
        assert_eq!(a.offending.len(), 3);
        let after = CloudTrailPublicBucket::simulate(&s, &a.plan.changes);
        assert_eq!(
            after.acl.as_ref().unwrap().grants,
            vec![owner_full(), group(LOG, "WRITE")]
        );
        assert_eq!(
            after.policy,
            Some(json!({"Version": "2012-10-17", "Statement": [cloudtrail_write()]}))
        );
        assert!(CloudTrailPublicBucket::assess(&after, &Params {}, target())
            .plan
            .is_empty());
        assert_eq!(CloudTrailPublicBucket::diff(&s, &after).len(), 3);
        // The changes travel as tagged JSON and come back the same.
        let json = serde_json::to_value(&a.plan.changes).unwrap();
        assert_eq!(json[0]["action"], "s3:RemoveGrant");
        assert_eq!(json[2]["action"], "s3:RemovePolicyStatements");
        assert_eq!(serde_json::from_value::<Vec<Change>>(json).unwrap(), a.plan.changes);
    }

    #[test]
    fn the_undo_puts_back_exactly_the_removed_grants_and_statements() {
        let before = state();
        let fix = CloudTrailPublicBucket::assess(&before, &Params {}, target())
            .plan
            .changes;
        let after = CloudTrailPublicBucket::simulate(&before, &fix);
        let undo = CloudTrailPublicBucket::revert(&after, &before).unwrap();
        assert_eq!(
            undo[..2],
            [
                Change::Acl(s3_acl::Change::AddGrant {
                    grant: group(ALL, "READ")
                }),
                Change::Acl(s3_acl::Change::AddGrant {
                    grant: group(AUTH, "READ_ACP")
                }),
            ]
        );
        assert!(
            matches!(&undo[2..], [Change::Policy(PolicyChange::RestoreStatements { labels, .. })] if labels == &["Anyone"]),
            "{undo:?}"
        );
        let restored = CloudTrailPublicBucket::simulate(&after, &undo);
        assert!(
            CloudTrailPublicBucket::diff(&restored, &before).is_empty(),
            "{restored:?}"
        );
        assert_eq!(restored.policy, before.policy, "statement for statement, in order");
        // Nothing to put back on a bucket as recorded.
        assert!(CloudTrailPublicBucket::revert(&before, &before).unwrap().is_empty());
        // A deleted policy comes back whole.
        let mut only_public = state();
        only_public.policy = Some(json!({"Version": "2012-10-17", "Statement": [public_read()]}));
        let fix = CloudTrailPublicBucket::assess(&only_public, &Params {}, target())
            .plan
            .changes;
        let after = CloudTrailPublicBucket::simulate(&only_public, &fix);
        assert_eq!(after.policy, None);
        let undo = CloudTrailPublicBucket::revert(&after, &only_public).unwrap();
        assert_eq!(
            CloudTrailPublicBucket::simulate(&after, &undo).policy,
            only_public.policy
        );
    }

    /// The undo's writes: one PutBucketAcl with the public grants back beside every other grant,
    /// one PutBucketPolicy with the public statement back in its place.
    #[tokio::test]
    async fn the_undo_sends_one_acl_put_and_one_policy_put() {
        let loc =
            mock!(aws_sdk_s3::Client::get_bucket_location).then_output(|| GetBucketLocationOutput::builder().build());
        let acl = mock!(aws_sdk_s3::Client::put_bucket_acl)
            .match_requests(|r| {
                let p = r.access_control_policy().unwrap();
                let uris: Vec<_> = p
                    .grants()
                    .iter()
                    .filter_map(|g| g.grantee().and_then(|x| x.uri()))
                    .collect();
                r.bucket() == Some("undo-logs")
                    && p.grants().len() == 4
                    && uris.contains(&ALL)
                    && uris.contains(&AUTH)
                    && uris.contains(&LOG)
            })
            .then_output(|| PutBucketAclOutput::builder().build());
        let policy = mock!(aws_sdk_s3::Client::put_bucket_policy)
            .match_requests(|r| {
                serde_json::from_str::<Value>(r.policy().unwrap()).unwrap()
                    == json!({"Version": "2012-10-17", "Statement": [cloudtrail_write(), public_read()]})
            })
            .then_output(|| PutBucketPolicyOutput::builder().build());
        let ctx = crate::families::helpers::mock_ctx::ctx(
            CloudTrailPublicBucket::READS,
            CloudTrailPublicBucket::WRITES,
            &[&loc, &acl, &policy],
        );
        // A bucket of its own: S3 locations are cached per bucket and process.
        let before = TrailBucket {
            bucket: "undo-logs".into(),
            ..state()
        };
        let fix = CloudTrailPublicBucket::assess(&before, &Params {}, target())
            .plan
            .changes;
        let after = CloudTrailPublicBucket::simulate(&before, &fix);
        let undo = CloudTrailPublicBucket::revert(&after, &before).unwrap();
        CloudTrailPublicBucket::apply(&ctx, "main-trail", &after, &undo)
            .await
            .unwrap();
        assert_eq!((loc.num_calls(), acl.num_calls(), policy.num_calls()), (1, 1, 1));
    }

    #[test]
    fn a_private_log_bucket_or_a_gone_one_is_compliant() {
        let mut s = state();
        s.acl.as_mut().unwrap().grants = vec![owner_full(), group(LOG, "WRITE")];
        s.policy = Some(json!({"Version": "2012-10-17", "Statement": [cloudtrail_write()]}));
        let a = CloudTrailPublicBucket::assess(&s, &Params {}, target());
        assert!(a.plan.is_empty() && a.offending.is_empty());
        assert!(a.plan.untouched.iter().any(|u| u.contains("LogDelivery")));
        s.acl = None;
        s.policy = None;
        assert!(CloudTrailPublicBucket::assess(&s, &Params {}, target()).plan.is_empty());
    }

    #[test]
    fn a_finding_may_name_the_trail_by_name_or_by_arn() {
        use crate::catalog::Catalog;
        use crate::intake::{conformity, Intake, IntakeCtx};
        let cx = IntakeCtx::new(Catalog::builtin(), "us-east-1");
        let arn = "arn:aws:cloudtrail:eu-west-1:111122223333:trail/main-trail";
        for resource in ["main-trail", arn] {
            let msg = serde_json::json!({
                "ruleId": "CT-003", "status": "FAILURE", "service": "CloudTrail", "region": "eu-west-1",
                "resource": resource, "ccrn": format!("ccrn:aws:oZX1TUZ6p:CloudTrail:eu-west-1:{resource}"),
                "cloudProviderId": "111122223333",
            });
            match conformity::parse(&msg.to_string(), &cx).unwrap() {
                Intake::Failure(f) => assert_eq!(f.resource, resource),
                other => panic!("{other:?}"),
            }
        }
        let bad = serde_json::json!({
            "ruleId": "CT-003", "status": "FAILURE", "region": "eu-west-1", "resource": "../x",
            "ccrn": "ccrn:aws:oZX1TUZ6p:CloudTrail:eu-west-1:../x", "cloudProviderId": "111122223333",
        });
        let err = conformity::parse(&bad.to_string(), &cx).unwrap_err();
        assert_eq!(err.name(), "InvalidResourceId");
    }

    fn trail_output() -> GetTrailOutput {
        GetTrailOutput::builder()
            .trail(
                aws_sdk_cloudtrail::types::Trail::builder()
                    .name("main-trail")
                    .trail_arn("arn:aws:cloudtrail:us-east-1:111122223333:trail/main-trail")
                    .s3_bucket_name("read-test-logs")
                    .build(),
            )
            .build()
    }

    /// Apply sends one PutBucketAcl without the public grants and one PutBucketPolicy with the
    /// CloudTrail statement only; nothing to the trail.
    #[tokio::test]
    async fn apply_sends_one_acl_put_and_one_policy_put() {
        let loc =
            mock!(aws_sdk_s3::Client::get_bucket_location).then_output(|| GetBucketLocationOutput::builder().build());
        let acl = mock!(aws_sdk_s3::Client::put_bucket_acl)
            .match_requests(|r| {
                let p = r.access_control_policy().unwrap();
                r.bucket() == Some("logs")
                    && p.owner().and_then(|o| o.id()) == Some("owner-id")
                    && p.grants().len() == 2
                    && p.grants().iter().all(|g| {
                        let uri = g.grantee().and_then(|x| x.uri());
                        uri != Some(ALL) && uri != Some(AUTH)
                    })
            })
            .then_output(|| PutBucketAclOutput::builder().build());
        let policy = mock!(aws_sdk_s3::Client::put_bucket_policy)
            .match_requests(|r| {
                serde_json::from_str::<Value>(r.policy().unwrap()).unwrap()
                    == json!({"Version": "2012-10-17", "Statement": [cloudtrail_write()]})
            })
            .then_output(|| PutBucketPolicyOutput::builder().build());
        let mocks = MockResponseInterceptor::new()
            .rule_mode(RuleMode::Sequential)
            .with_rule(&loc)
            .with_rule(&acl)
            .with_rule(&policy);
        let ctx = Ctx::new(
            crate::families::helpers::mock_ctx::sdk_config(),
            "111122223333",
            CloudTrailPublicBucket::READS,
            CloudTrailPublicBucket::WRITES,
        )
        .with_interceptor(mocks);
        let s = state();
        let a = CloudTrailPublicBucket::assess(&s, &Params {}, target());
        CloudTrailPublicBucket::apply(&ctx, "main-trail", &s, &a.plan.changes)
            .await
            .unwrap();
        assert_eq!((loc.num_calls(), acl.num_calls(), policy.num_calls()), (1, 1, 1));
    }

    #[tokio::test]
    async fn a_missing_trail_reads_as_none_and_the_bucket_comes_from_the_trail() {
        let gone = mock!(aws_sdk_cloudtrail::Client::get_trail).then_error(|| {
            GetTrailError::generic(
                aws_sdk_cloudtrail::error::ErrorMetadata::builder()
                    .code("TrailNotFoundException")
                    .build(),
            )
        });
        let mocks = MockResponseInterceptor::new().with_rule(&gone);
        let ctx = Ctx::new(
            crate::families::helpers::mock_ctx::sdk_config(),
            "111122223333",
            CloudTrailPublicBucket::READS,
            &[],
        )
        .with_interceptor(mocks);
        assert!(CloudTrailPublicBucket::read(&ctx, "gone-trail", Tags::Skip)
            .await
            .unwrap()
            .is_none());

        let get = mock!(aws_sdk_cloudtrail::Client::get_trail)
            .match_requests(|r| r.name() == Some("main-trail"))
            .then_output(trail_output);
        let loc = mock!(aws_sdk_s3::Client::get_bucket_location)
            .match_requests(|r| r.bucket() == Some("read-test-logs"))
            .then_output(|| GetBucketLocationOutput::builder().build());
        let no_bucket = mock!(aws_sdk_s3::Client::get_bucket_acl).then_error(|| {
            aws_sdk_s3::operation::get_bucket_acl::GetBucketAclError::generic(
                aws_sdk_s3::error::ErrorMetadata::builder().code("NoSuchBucket").build(),
            )
        });
        let mocks = MockResponseInterceptor::new()
            .rule_mode(RuleMode::Sequential)
            .with_rule(&get)
            .with_rule(&loc)
            .with_rule(&no_bucket);
        let ctx = Ctx::new(
            crate::families::helpers::mock_ctx::sdk_config(),
            "111122223333",
            CloudTrailPublicBucket::READS,
            &[],
        )
        .with_interceptor(mocks);
        let r = CloudTrailPublicBucket::read(&ctx, "main-trail", Tags::Skip)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (r.state.bucket.as_str(), r.state.acl.is_none()),
            ("read-test-logs", true)
        );
    }
}
