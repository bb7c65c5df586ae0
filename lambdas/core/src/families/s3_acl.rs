//! S3-001..S3-010: a bucket ACL grants a permission to AllUsers or AuthenticatedUsers.
//!
//! What a fix changes, never touches and how it is undone: [`S3Acl::DOC`] (RULES.md is generated
//! from it).
//!
//! Each call reads the ACL afresh and builds the new one from that read only: no state survives
//! between invocations (the seed leaked one bucket's grants into the next from a warm container).

use aws_sdk_s3::types::{AccessControlPolicy, Grant, Grantee as SdkGrantee, Owner, Permission, Type};
use serde::{Deserialize, Serialize};

use crate::aws::Ctx;
use crate::error::Error;
use crate::families::helpers::family::{Assessment, FamilyDoc, Placement, Read, RuleFamily, Tags, Target};
use crate::families::helpers::s3_bucket;
use crate::ids;
use crate::plan::{Describe, Plan};

/// The family: `s3-acl` in the catalog.
pub struct S3Acl;

impl RuleFamily for S3Acl {
    const NAME: &'static str = "s3-acl";
    const DOC: FamilyDoc = FamilyDoc {
        changes: "remove exactly the flagged permission of the flagged group from the bucket ACL (one PutBucketAcl with the owner and every other grant as read)",
        never: "the owner, canonical-user and e-mail grants, other groups, other permissions of the same group, the policy, Block Public Access, objects",
        undo: "PutBucketAcl with the recorded before ACL",
        tested: "local stack",
    };
    const RESOURCE: &'static str = "S3 bucket name";
    const PLACEMENT: Placement = Placement::Located;
    const READS: &'static [&'static str] = &[
        GET_BUCKET_ACL,
        s3_bucket::GET_BUCKET_TAGGING,
        s3_bucket::GET_BUCKET_LOCATION,
    ];
    const WRITES: &'static [&'static str] = &[PUT_BUCKET_ACL];
    type Params = S3AclParams;
    type State = BucketAcl;
    type Change = Change;

    fn valid_id(id: &str) -> bool {
        ids::is_bucket_name(id)
    }

    async fn read(ctx: &Ctx, bucket: &str, tags: Tags) -> Result<Option<Read<BucketAcl>>, Error> {
        let s3 = s3_bucket::client(ctx, bucket).await?;
        s3_bucket::read_with_tags(&s3, bucket, tags, read_acl(&s3, bucket)).await
    }

    fn assess(acl: &BucketAcl, params: &S3AclParams, t: Target<'_>) -> Assessment<Change> {
        Assessment {
            offending: offending(acl, params)
                .iter()
                .map(|g| format!("grant {}", g.describe()))
                .collect(),
            plan: plan(acl, params, t.rule_id, t.resource, t.region),
        }
    }

    async fn apply(ctx: &Ctx, bucket: &str, acl: &BucketAcl, changes: &[Change]) -> Result<(), Error> {
        write_acl(&s3_bucket::client(ctx, bucket).await?, bucket, &without(acl, changes)).await
    }

    fn simulate(acl: &BucketAcl, changes: &[Change]) -> BucketAcl {
        without(acl, changes)
    }

    fn diff(before: &BucketAcl, after: &BucketAcl) -> Vec<String> {
        diff(before, after)
    }

    /// The undo: add back exactly the grants `before` had and `live` lacks, remove those it
    /// did not have; the owner and every other grant stay.
    fn revert(live: &BucketAcl, before: &BucketAcl) -> Option<Vec<Change>> {
        let add = before
            .grants
            .iter()
            .filter(|g| !live.grants.contains(g))
            .map(|g| Change::AddGrant { grant: g.clone() });
        let remove = live
            .grants
            .iter()
            .filter(|g| !before.grants.contains(g))
            .map(|g| Change::RemoveGrant { grant: g.clone() });
        Some(add.chain(remove).collect())
    }
}

pub const GET_BUCKET_ACL: &str = "s3:GetBucketAcl";
pub const PUT_BUCKET_ACL: &str = "s3:PutBucketAcl";

/// Which S3 ACL grantee group a rule is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum GranteeGroup {
    AllUsers,
    AuthenticatedUsers,
}

impl GranteeGroup {
    pub fn uri(self) -> &'static str {
        match self {
            GranteeGroup::AllUsers => "http://acs.amazonaws.com/groups/global/AllUsers",
            GranteeGroup::AuthenticatedUsers => "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3AclParams {
    pub grantee: GranteeGroup,
    /// READ, READ_ACP, WRITE, WRITE_ACP or FULL_CONTROL.
    pub permission: String,
}

/// One write of this family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action")]
pub enum Change {
    /// Remove one grant from a bucket ACL (every other grant and the owner are kept).
    #[serde(rename = "s3:RemoveGrant")]
    RemoveGrant { grant: AclGrant },
    /// Add one grant back (an undo, from the recorded before-state).
    #[serde(rename = "s3:AddGrant")]
    AddGrant { grant: AclGrant },
}

impl Describe for Change {
    fn describe(&self) -> String {
        match self {
            Change::RemoveGrant { grant } => format!("remove grant {}", grant.describe()),
            Change::AddGrant { grant } => format!("add grant {}", grant.describe()),
        }
    }
}

/// Who a grant is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Grantee {
    CanonicalUser {
        id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        display_name: Option<String>,
    },
    Group {
        uri: String,
    },
    AmazonCustomerByEmail {
        email: String,
    },
}

/// One ACL grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AclGrant {
    pub grantee: Grantee,
    pub permission: String,
}

impl AclGrant {
    pub fn describe(&self) -> String {
        let who = match &self.grantee {
            Grantee::CanonicalUser { id, display_name } => {
                let short: String = id.chars().take(12).collect();
                match display_name {
                    Some(n) => format!("canonical user {n} ({short}…)"),
                    None => format!("canonical user {short}…"),
                }
            }
            Grantee::Group { uri } => format!("group {}", uri.rsplit('/').next().unwrap_or(uri)),
            Grantee::AmazonCustomerByEmail { email } => format!("e-mail grantee {email}"),
        };
        format!("{} to {who}", self.permission)
    }
}

/// A bucket's ACL as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketAcl {
    pub owner_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_display_name: Option<String>,
    pub grants: Vec<AclGrant>,
}

/// The grants a rule flags.
pub fn offending<'a>(acl: &'a BucketAcl, params: &S3AclParams) -> Vec<&'a AclGrant> {
    acl.grants
        .iter()
        .filter(|g| {
            g.permission == params.permission
                && matches!(&g.grantee, Grantee::Group { uri } if uri == params.grantee.uri())
        })
        .collect()
}

/// The plan: remove each offending grant, keep the rest.
pub fn plan(acl: &BucketAcl, params: &S3AclParams, rule_id: &str, bucket: &str, region: &str) -> Plan<Change> {
    let bad = offending(acl, params);
    let changes: Vec<Change> = bad
        .iter()
        .map(|g| Change::RemoveGrant { grant: (*g).clone() })
        .collect();
    let summary = if changes.is_empty() {
        format!(
            "bucket {bucket} does not grant {} to {:?}: nothing to change",
            params.permission, params.grantee
        )
    } else {
        format!(
            "remove {} from {:?} on bucket {bucket}",
            params.permission, params.grantee
        )
    };
    let mut plan = Plan::new(rule_id, bucket, region, summary, changes);
    if !bad.is_empty() {
        plan.removes = vec![format!("{} to {:?}", params.permission, params.grantee)];
    }
    plan.untouched = acl
        .grants
        .iter()
        .filter(|g| !bad.contains(g))
        .map(|g| format!("grant {}", g.describe()))
        .chain(std::iter::once(format!(
            "owner {}",
            acl.owner_display_name.as_deref().unwrap_or(&acl.owner_id)
        )))
        .collect();
    plan
}

/// The ACL with the changes made: their grants removed (each removed once per occurrence), or
/// added (when not there yet).
pub fn without(acl: &BucketAcl, changes: &[Change]) -> BucketAcl {
    let remove: Vec<&AclGrant> = changes
        .iter()
        .filter_map(|c| match c {
            Change::RemoveGrant { grant } => Some(grant),
            Change::AddGrant { .. } => None,
        })
        .collect();
    let mut grants: Vec<AclGrant> = acl.grants.iter().filter(|g| !remove.contains(g)).cloned().collect();
    for c in changes {
        if let Change::AddGrant { grant } = c {
            if !grants.contains(grant) {
                grants.push(grant.clone());
            }
        }
    }
    BucketAcl {
        owner_id: acl.owner_id.clone(),
        owner_display_name: acl.owner_display_name.clone(),
        grants,
    }
}

/// What differs between two reads of an ACL, one line per grant removed or added.
pub fn diff(before: &BucketAcl, after: &BucketAcl) -> Vec<String> {
    let mut left: Vec<&AclGrant> = after.grants.iter().collect();
    let mut out = Vec::new();
    for g in &before.grants {
        match left.iter().position(|a| *a == g) {
            Some(i) => {
                left.remove(i);
            }
            None => out.push(format!("removed grant {}", g.describe())),
        }
    }
    out.extend(left.into_iter().map(|g| format!("added grant {}", g.describe())));
    if before.owner_id != after.owner_id {
        out.push(format!("owner changed from {} to {}", before.owner_id, after.owner_id));
    }
    out
}

/// Reads the ACL; `None` when the bucket does not exist.
pub async fn read_acl(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<Option<BucketAcl>, Error> {
    let out = match s3.get_bucket_acl().bucket(bucket).send().await {
        Ok(out) => out,
        Err(e) => {
            let err = Error::from_sdk(GET_BUCKET_ACL, e);
            return if err.aws_code() == Some("NoSuchBucket") {
                Ok(None)
            } else {
                Err(err)
            };
        }
    };
    let owner = out.owner().ok_or_else(|| Error::Aws {
        operation: GET_BUCKET_ACL,
        code: "MissingOwner".into(),
        message: "the ACL has no owner; refusing to rewrite it".into(),
    })?;
    let mut grants = Vec::new();
    for g in out.grants() {
        let (Some(grantee), Some(permission)) = (g.grantee(), g.permission()) else {
            return Err(Error::Aws {
                operation: GET_BUCKET_ACL,
                code: "UnreadableGrant".into(),
                message: "a grant without grantee or permission; refusing to rewrite the ACL".into(),
            });
        };
        grants.push(AclGrant {
            grantee: from_sdk_grantee(grantee)?,
            permission: permission.as_str().to_string(),
        });
    }
    Ok(Some(BucketAcl {
        owner_id: owner.id().unwrap_or_default().to_string(),
        owner_display_name: owner.display_name().map(str::to_string),
        grants,
    }))
}

fn from_sdk_grantee(g: &SdkGrantee) -> Result<Grantee, Error> {
    let unreadable = |what: &str| Error::Aws {
        operation: GET_BUCKET_ACL,
        code: "UnreadableGrant".into(),
        message: format!("{what}; refusing to rewrite the ACL"),
    };
    match g.r#type() {
        Type::CanonicalUser => Ok(Grantee::CanonicalUser {
            id: g
                .id()
                .ok_or_else(|| unreadable("a canonical-user grant without id"))?
                .to_string(),
            display_name: g.display_name().map(str::to_string),
        }),
        Type::Group => Ok(Grantee::Group {
            uri: g
                .uri()
                .ok_or_else(|| unreadable("a group grant without uri"))?
                .to_string(),
        }),
        Type::AmazonCustomerByEmail => Ok(Grantee::AmazonCustomerByEmail {
            email: g
                .email_address()
                .ok_or_else(|| unreadable("an e-mail grant without address"))?
                .to_string(),
        }),
        other => Err(unreadable(&format!("a grantee of unknown type {}", other.as_str()))),
    }
}

fn to_sdk_grant(g: &AclGrant) -> Result<Grant, Error> {
    let grantee = match &g.grantee {
        Grantee::CanonicalUser { id, display_name } => SdkGrantee::builder()
            .r#type(Type::CanonicalUser)
            .id(id)
            .set_display_name(display_name.clone()),
        Grantee::Group { uri } => SdkGrantee::builder().r#type(Type::Group).uri(uri),
        Grantee::AmazonCustomerByEmail { email } => SdkGrantee::builder()
            .r#type(Type::AmazonCustomerByEmail)
            .email_address(email),
    }
    .build()
    .map_err(|e| Error::InvalidInput(format!("grant: {e}")))?;
    Ok(Grant::builder()
        .grantee(grantee)
        .permission(Permission::from(g.permission.as_str()))
        .build())
}

/// Writes `acl` as the bucket's whole ACL (owner and grants as given).
pub async fn write_acl(s3: &aws_sdk_s3::Client, bucket: &str, acl: &BucketAcl) -> Result<(), Error> {
    let grants = acl.grants.iter().map(to_sdk_grant).collect::<Result<Vec<_>, _>>()?;
    let policy = AccessControlPolicy::builder()
        .owner(
            Owner::builder()
                .id(&acl.owner_id)
                .set_display_name(acl.owner_display_name.clone())
                .build(),
        )
        .set_grants(Some(grants))
        .build();
    s3.put_bucket_acl()
        .bucket(bucket)
        .access_control_policy(policy)
        .send()
        .await
        .map_err(|e| Error::from_sdk(PUT_BUCKET_ACL, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::operation::get_bucket_acl::GetBucketAclOutput;
    use aws_sdk_s3::operation::put_bucket_acl::PutBucketAclOutput;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    const ALL: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
    const AUTH: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";
    const LOG: &str = "http://acs.amazonaws.com/groups/s3/LogDelivery";

    fn group(uri: &str, permission: &str) -> AclGrant {
        AclGrant {
            grantee: Grantee::Group { uri: uri.into() },
            permission: permission.into(),
        }
    }

    fn user(id: &str, permission: &str) -> AclGrant {
        AclGrant {
            grantee: Grantee::CanonicalUser {
                id: id.into(),
                display_name: None,
            },
            permission: permission.into(),
        }
    }

    fn acl(grants: Vec<AclGrant>) -> BucketAcl {
        BucketAcl {
            owner_id: "owner-id".into(),
            owner_display_name: Some("owner".into()),
            grants,
        }
    }

    fn read_all_users() -> S3AclParams {
        S3AclParams {
            grantee: GranteeGroup::AllUsers,
            permission: "READ".into(),
        }
    }

    #[test]
    fn only_the_flagged_permission_of_the_flagged_group_is_removed() {
        let before = acl(vec![
            user("owner-id", "FULL_CONTROL"),
            user("partner", "READ"),
            group(ALL, "READ"),
            group(ALL, "WRITE"),
            group(AUTH, "READ"),
            group(LOG, "READ"),
        ]);
        let plan = plan(&before, &read_all_users(), "S3-001", "b", "us-east-1");
        assert_eq!(
            plan.changes,
            vec![Change::RemoveGrant {
                grant: group(ALL, "READ")
            }]
        );
        let after = without(&before, &plan.changes);
        assert_eq!(
            after.grants,
            vec![
                user("owner-id", "FULL_CONTROL"),
                user("partner", "READ"),
                group(ALL, "WRITE"),
                group(AUTH, "READ"),
                group(LOG, "READ"),
            ]
        );
        assert_eq!(after.owner_id, "owner-id");
    }

    #[test]
    fn a_compliant_acl_gives_an_empty_plan() {
        let before = acl(vec![user("owner-id", "FULL_CONTROL"), group(AUTH, "READ")]);
        assert!(plan(&before, &read_all_users(), "S3-001", "b", "us-east-1").is_empty());
    }

    fn sdk_acl_output() -> GetBucketAclOutput {
        let g = |grantee: SdkGrantee, p: &str| {
            Grant::builder()
                .grantee(grantee)
                .permission(Permission::from(p))
                .build()
        };
        GetBucketAclOutput::builder()
            .owner(Owner::builder().id("owner-id").display_name("owner").build())
            .grants(g(
                SdkGrantee::builder()
                    .r#type(Type::CanonicalUser)
                    .id("owner-id")
                    .build()
                    .unwrap(),
                "FULL_CONTROL",
            ))
            .grants(g(
                SdkGrantee::builder().r#type(Type::Group).uri(ALL).build().unwrap(),
                "READ",
            ))
            .grants(g(
                SdkGrantee::builder().r#type(Type::Group).uri(LOG).build().unwrap(),
                "WRITE",
            ))
            .build()
    }

    #[tokio::test]
    async fn the_put_request_carries_the_owner_and_every_other_grant() {
        let get = mock!(aws_sdk_s3::Client::get_bucket_acl)
            .match_requests(|r| r.bucket() == Some("site"))
            .then_output(sdk_acl_output);
        let put = mock!(aws_sdk_s3::Client::put_bucket_acl)
            .match_requests(|r| {
                let p = r.access_control_policy().expect("a policy, not a canned ACL");
                r.bucket() == Some("site")
                    && r.acl().is_none()
                    && p.owner().and_then(|o| o.id()) == Some("owner-id")
                    && p.grants().len() == 2
                    && p.grants()
                        .iter()
                        .all(|g| g.grantee().and_then(|x| x.uri()) != Some(ALL))
                    && p.grants()
                        .iter()
                        .any(|g| g.grantee().and_then(|x| x.uri()) == Some(LOG))
            })
            .then_output(|| PutBucketAclOutput::builder().build());
        let s3 = mock_client!(aws_sdk_s3, RuleMode::Sequential, [&get, &put]);

        let before = read_acl(&s3, "site").await.unwrap().unwrap();
        let plan = plan(&before, &read_all_users(), "S3-001", "site", "us-east-1");
        write_acl(&s3, "site", &without(&before, &plan.changes)).await.unwrap();

        assert_eq!(get.num_calls(), 1);
        assert_eq!(put.num_calls(), 1);
    }

    #[tokio::test]
    async fn service_unavailable_is_retried_by_the_sdk_before_it_reaches_us() {
        let get = mock!(aws_sdk_s3::Client::get_bucket_acl)
            .sequence()
            .http_status(503, None)
            .times(2)
            .output(sdk_acl_output)
            .build();
        let s3 = mock_client!(aws_sdk_s3, RuleMode::Sequential, [&get]);
        let acl = read_acl(&s3, "site").await.unwrap().unwrap();
        assert_eq!(acl.grants.len(), 3);
        assert_eq!(get.num_calls(), 3);
    }

    #[tokio::test]
    async fn service_unavailable_past_the_retries_is_transient_and_retryable() {
        let get = mock!(aws_sdk_s3::Client::get_bucket_acl)
            .sequence()
            .http_status(503, None)
            .repeatedly()
            .build();
        let s3 = mock_client!(aws_sdk_s3, RuleMode::Sequential, [&get]);
        let err = read_acl(&s3, "site").await.unwrap_err();
        assert!(err.is_retryable(), "{err:?}");
    }

    #[test]
    fn descriptions_never_split_a_character() {
        let g = user("ééééééééééééééé", "READ");
        assert!(g.describe().starts_with("READ to canonical user éééééééééééé…"));
    }

    #[tokio::test]
    async fn a_missing_bucket_reads_as_none() {
        let get = mock!(aws_sdk_s3::Client::get_bucket_acl).then_error(|| {
            aws_sdk_s3::operation::get_bucket_acl::GetBucketAclError::generic(
                aws_sdk_s3::error::ErrorMetadata::builder().code("NoSuchBucket").build(),
            )
        });
        let s3 = mock_client!(aws_sdk_s3, [&get]);
        assert_eq!(read_acl(&s3, "gone").await.unwrap(), None);
    }

    #[tokio::test]
    async fn throttling_is_retryable() {
        let get = mock!(aws_sdk_s3::Client::get_bucket_acl).then_error(|| {
            aws_sdk_s3::operation::get_bucket_acl::GetBucketAclError::generic(
                aws_sdk_s3::error::ErrorMetadata::builder().code("SlowDown").build(),
            )
        });
        let s3 = mock_client!(aws_sdk_s3, RuleMode::MatchAny, [&get], |c| c
            .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled()));
        let err = read_acl(&s3, "busy").await.unwrap_err();
        assert_eq!(err.name(), "Throttled");
        assert!(err.is_retryable());
    }
}
