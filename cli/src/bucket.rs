//! The demo's S3 side: a bucket that is public (AllUsers READ) next to grants that must stay,
//! and an independent read of its live ACL.
//!
//! The ACL is read here with a plain `GetBucketAcl`, not with the core's reader, so the proof
//! that the bucket healed does not depend on the code under demonstration; the core's types are
//! reused only to describe grants the same way plans do.

use ar_core::families::s3_acl::GranteeGroup;
use ar_core::families::s3_acl::{AclGrant, BucketAcl, Grantee};
use aws_sdk_s3::types::{
    AccessControlPolicy, BucketLocationConstraint, CreateBucketConfiguration, Grant, Grantee as SdkGrantee, Owner,
    Permission, Type,
};

use crate::checks::Checks;
use crate::stack::{aws, Stack};

/// A legitimate grant the fix must keep: a partner account's canonical user, READ.
pub const PARTNER: &str = "1111111111111111111111111111111111111111111111111111111111111111";

/// Creates `bucket` with the owner's FULL_CONTROL, the partner's READ and AllUsers READ.
pub async fn create_public(stack: &Stack, bucket: &str) -> Result<(), String> {
    let mut create = stack.s3.create_bucket().bucket(bucket);
    if stack.info.region != "us-east-1" {
        create = create.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(stack.info.region.as_str()))
                .build(),
        );
    }
    create.send().await.map_err(aws("s3:CreateBucket"))?;
    let owner_id = live_acl(stack, bucket).await?.owner_id;
    let grants = vec![
        grant(canonical_user(&owner_id)?, Permission::FullControl),
        grant(canonical_user(PARTNER)?, Permission::Read),
        grant(group(GranteeGroup::AllUsers)?, Permission::Read),
    ];
    stack
        .s3
        .put_bucket_acl()
        .bucket(bucket)
        .access_control_policy(
            AccessControlPolicy::builder()
                .owner(Owner::builder().id(owner_id).build())
                .set_grants(Some(grants))
                .build(),
        )
        .send()
        .await
        .map_err(aws("s3:PutBucketAcl"))?;
    Ok(())
}

fn canonical_user(id: &str) -> Result<SdkGrantee, String> {
    SdkGrantee::builder()
        .r#type(Type::CanonicalUser)
        .id(id)
        .build()
        .map_err(|e| e.to_string())
}

fn group(g: GranteeGroup) -> Result<SdkGrantee, String> {
    SdkGrantee::builder()
        .r#type(Type::Group)
        .uri(g.uri())
        .build()
        .map_err(|e| e.to_string())
}

fn grant(grantee: SdkGrantee, permission: Permission) -> Grant {
    Grant::builder().grantee(grantee).permission(permission).build()
}

/// The bucket's live ACL.
pub async fn live_acl(stack: &Stack, bucket: &str) -> Result<BucketAcl, String> {
    let out = stack
        .s3
        .get_bucket_acl()
        .bucket(bucket)
        .send()
        .await
        .map_err(aws("s3:GetBucketAcl"))?;
    let owner = out.owner().ok_or("s3:GetBucketAcl: the ACL has no owner")?;
    let grants = out
        .grants()
        .iter()
        .map(|g| {
            let who = g.grantee().ok_or("s3:GetBucketAcl: a grant without grantee")?;
            let grantee = match who.r#type() {
                Type::Group => Grantee::Group {
                    uri: who.uri().unwrap_or_default().to_string(),
                },
                Type::AmazonCustomerByEmail => Grantee::AmazonCustomerByEmail {
                    email: who.email_address().unwrap_or_default().to_string(),
                },
                _ => Grantee::CanonicalUser {
                    id: who.id().unwrap_or_default().to_string(),
                    display_name: who.display_name().map(str::to_string),
                },
            };
            let permission = g.permission().map(|p| p.as_str()).unwrap_or("?").to_string();
            Ok(AclGrant { grantee, permission })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(BucketAcl {
        owner_id: owner.id().unwrap_or_default().to_string(),
        owner_display_name: owner.display_name().map(str::to_string),
        grants,
    })
}

fn is_public_read(g: &AclGrant) -> bool {
    g.permission == "READ" && matches!(&g.grantee, Grantee::Group { uri } if uri == GranteeGroup::AllUsers.uri())
}

fn is_user_grant(g: &AclGrant, user: &str, permission: &str) -> bool {
    g.permission == permission && matches!(&g.grantee, Grantee::CanonicalUser { id, .. } if id == user)
}

/// The first 12 characters of a canonical user id, as plans show them.
fn short(id: &str) -> String {
    id.chars().take(12).collect()
}

/// Prints the ACL, one grant a line after `indent`, marking the public grant and the partner's.
pub fn print_acl(acl: &BucketAcl, indent: &str) {
    match &acl.owner_display_name {
        Some(name) => println!("{indent}owner {name} ({}…)", short(&acl.owner_id)),
        None => println!("{indent}owner {}", acl.owner_id),
    }
    if acl.grants.is_empty() {
        println!("{indent}(no grants)");
    }
    for g in &acl.grants {
        let mark = if is_public_read(g) {
            "   ← public: anyone can list the bucket"
        } else if is_user_grant(g, PARTNER, "READ") {
            "   ← a partner account: legitimate"
        } else {
            ""
        };
        println!("{indent}{}{mark}", g.describe());
    }
}

/// What must hold once the bucket healed: the public grant is gone, and the ACL is otherwise the
/// one it had `before`.
pub fn check(checks: &mut Checks, bucket: &str, before: &BucketAcl, acl: &BucketAcl) {
    checks.check(
        format!("{bucket}: AllUsers READ is gone"),
        !acl.grants.iter().any(is_public_read),
    );
    checks.check(
        format!("{bucket}: the owner keeps FULL_CONTROL"),
        acl.grants
            .iter()
            .any(|g| is_user_grant(g, &acl.owner_id, "FULL_CONTROL")),
    );
    checks.check(
        format!("{bucket}: canonical user {}… keeps READ", short(PARTNER)),
        acl.grants.iter().any(|g| is_user_grant(g, PARTNER, "READ")),
    );
    let others =
        |acl: &BucketAcl| -> Vec<AclGrant> { acl.grants.iter().filter(|g| !is_public_read(g)).cloned().collect() };
    let (expected, found) = (others(before), others(acl));
    checks.check_why(
        format!("{bucket}: the owner and every other grant are exactly as before"),
        acl.owner_id == before.owner_id && found == expected,
        || {
            let show = |v: &[AclGrant]| v.iter().map(AclGrant::describe).collect::<Vec<_>>().join(", ");
            format!(
                "expected owner {} and [{}], found owner {} and [{}]",
                before.owner_id,
                show(&expected),
                acl.owner_id,
                show(&found)
            )
        },
    );
}
