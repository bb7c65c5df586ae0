//! Public bucket policies on the real stack: S3-014 (a bucket's policy allows everyone) and
//! CT-003 (a CloudTrail trail's log bucket is public). Only the public statements and grants go;
//! restricted statements, other grants, the owner and the trail stay.

use ar_core::catalog::Catalog;
use ar_core::intake::conformity::failure_message;
use ar_tests::{now_ms, unique, Stack};
use aws_sdk_s3::types::{AccessControlPolicy, Grant, Grantee, Owner, Permission, Type};
use serde_json::{json, Value};

const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
const LOG_DELIVERY: &str = "http://acs.amazonaws.com/groups/s3/LogDelivery";
/// The region the CT-003 test's trail lives in (no other test uses it).
const CT003_REGION: &str = "eu-south-2";

fn public_read(bucket: &str) -> Value {
    json!({"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
           "Resource": format!("arn:aws:s3:::{bucket}/*")})
}

fn from_vpce(bucket: &str) -> Value {
    json!({"Sid": "FromVpce", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:GetObject",
           "Resource": format!("arn:aws:s3:::{bucket}/*"),
           "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-0123abcd"}}})
}

fn partner(bucket: &str) -> Value {
    json!({"Sid": "Partner", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
           "Action": "s3:ListBucket", "Resource": format!("arn:aws:s3:::{bucket}")})
}

/// Puts `policy` on `bucket`.
async fn put_policy(stack: &Stack, bucket: &str, policy: &Value) {
    stack
        .s3
        .put_bucket_policy()
        .bucket(bucket)
        .policy(policy.to_string())
        .send()
        .await
        .unwrap();
}

async fn bucket_with_policy(stack: &Stack, statements: Vec<Value>) -> String {
    let b = unique("it-policy");
    stack.s3.create_bucket().bucket(&b).send().await.unwrap();
    let policy = json!({"Version": "2012-10-17", "Statement": statements});
    put_policy(stack, &b, &policy).await;
    b
}

/// The bucket's policy as JSON, `None` when it has none.
async fn policy(stack: &Stack, bucket: &str) -> Option<Value> {
    match stack.s3.get_bucket_policy().bucket(bucket).send().await {
        Ok(out) => Some(serde_json::from_str(out.policy().unwrap()).unwrap()),
        Err(e) => {
            let code = aws_sdk_s3::error::ProvideErrorMetadata::code(&e).map(str::to_string);
            assert_eq!(code.as_deref(), Some("NoSuchBucketPolicy"), "{e:?}");
            None
        }
    }
}

/// The ACL's grants as (grantee, permission) lines, sorted.
async fn grants(stack: &Stack, bucket: &str) -> Vec<String> {
    let out = stack.s3.get_bucket_acl().bucket(bucket).send().await.unwrap();
    let mut g: Vec<String> = out
        .grants()
        .iter()
        .map(|g| {
            let who = g.grantee().unwrap();
            format!(
                "{} {}",
                who.uri().or(who.id()).unwrap_or("?"),
                g.permission().unwrap().as_str()
            )
        })
        .collect();
    g.sort();
    g
}

#[tokio::test]
async fn a_public_statement_goes_and_restricted_and_named_ones_stay() {
    let stack = Stack::connect();
    let b = unique("it-policy");
    stack.s3.create_bucket().bucket(&b).send().await.unwrap();
    let before = json!({"Version": "2012-10-17", "Statement": [public_read(&b), from_vpce(&b), partner(&b)]});
    put_policy(&stack, &b, &before).await;
    let acl_before = grants(&stack, &b).await;

    let run = stack.publish_and_wait(&stack.message("S3-014", &b)).await;
    run.assert_healed();

    assert_eq!(
        policy(&stack, &b).await,
        Some(json!({"Version": "2012-10-17", "Statement": [from_vpce(&b), partner(&b)]}))
    );
    assert_eq!(grants(&stack, &b).await, acl_before, "the ACL is not touched");
    assert_eq!(
        run.output["remediation"]["before"]["policy"], before,
        "the whole policy is kept for undo"
    );
}

#[tokio::test]
async fn a_policy_of_public_statements_only_is_deleted() {
    let stack = Stack::connect();
    let b = bucket_with_policy(&stack, vec![public_read("x")]).await;
    let run = stack.publish_and_wait(&stack.message("S3-014", &b)).await;
    run.assert_healed();
    assert_eq!(policy(&stack, &b).await, None);

    // A bucket whose statements are all restricted is already compliant and stays as it is.
    let kept = bucket_with_policy(&stack, vec![from_vpce("y"), partner("y")]).await;
    let run = stack.publish_and_wait(&stack.message("S3-014", &kept)).await;
    assert_eq!(run.states().last().map(String::as_str), Some("AlreadyCompliant"));
    assert_eq!(
        policy(&stack, &kept).await,
        Some(json!({"Version": "2012-10-17", "Statement": [from_vpce("y"), partner("y")]}))
    );
}

/// The access-point delegation statement (S3's documented form): everyone, restricted to the
/// access points owned by one account, whose own policies then decide.
fn delegation(bucket: &str, account: &str) -> Value {
    json!({"Sid": "DelegateToAccessPoints", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "*",
           "Resource": [format!("arn:aws:s3:::{bucket}"), format!("arn:aws:s3:::{bucket}/*")],
           "Condition": {"StringEquals": {"s3:DataAccessPointAccount": account}}})
}

#[tokio::test]
async fn the_access_point_delegation_statement_survives_and_only_the_public_one_goes() {
    let stack = Stack::connect();
    let b = unique("it-policy");
    let account = stack.info.account_id.clone();
    stack.s3.create_bucket().bucket(&b).send().await.unwrap();
    let before = json!({"Version": "2012-10-17", "Statement": [delegation(&b, &account), public_read(&b)]});
    put_policy(&stack, &b, &before).await;

    let run = stack.publish_and_wait(&stack.message("S3-014", &b)).await;
    run.assert_healed();

    // Re-read: exactly the delegation statement is left, as it was.
    assert_eq!(
        policy(&stack, &b).await,
        Some(json!({"Version": "2012-10-17", "Statement": [delegation(&b, &account)]}))
    );
    let plan = &run.output["remediation"]["plan"];
    assert_eq!(
        plan["removes"],
        json!(["policy statement PublicRead: Allow * s3:GetObject"]),
        "{plan}"
    );
    assert!(
        plan["untouched"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u
                == "policy statement DelegateToAccessPoints (restricted by StringEquals s3:DataAccessPointAccount)"),
        "{plan}"
    );
    assert_eq!(run.output["remediation"]["before"]["policy"], before);

    // Now compliant: a second finding changes nothing.
    let again = stack.publish_and_wait(&stack.message("S3-014", &b)).await;
    assert_eq!(again.states().last().map(String::as_str), Some("AlreadyCompliant"));
    assert_eq!(
        policy(&stack, &b).await,
        Some(json!({"Version": "2012-10-17", "Statement": [delegation(&b, &account)]}))
    );
}

fn cloudtrail_write(bucket: &str, trail_arn: &str) -> Value {
    json!({"Sid": "AWSCloudTrailWrite", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
           "Action": "s3:PutObject", "Resource": format!("arn:aws:s3:::{bucket}/AWSLogs/*"),
           "Condition": {"StringEquals": {"aws:SourceArn": trail_arn}}})
}

/// A trail in [`CT003_REGION`] whose log bucket grants AllUsers READ (besides the owner, a partner
/// and LogDelivery) and whose policy has CloudTrail's restricted statement and a public one.
struct PublicTrail {
    ct: aws_sdk_cloudtrail::Client,
    bucket: String,
    trail: String,
    trail_arn: String,
    owner_id: String,
    policy: Value,
}

const PARTNER_ID: &str = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be";

async fn public_trail(stack: &Stack) -> PublicTrail {
    let sdk = stack
        .sdk
        .to_builder()
        .region(aws_config::Region::new(CT003_REGION))
        .build();
    let ct = aws_sdk_cloudtrail::Client::new(&sdk);
    let b = unique("it-trail-logs");
    stack.s3.create_bucket().bucket(&b).send().await.unwrap();
    let owner = stack.s3.get_bucket_acl().bucket(&b).send().await.unwrap();
    let owner_id = owner.owner().unwrap().id().unwrap().to_string();
    let grant = |t: Type, who: &str, p: Permission| {
        let g = match t {
            Type::Group => Grantee::builder().r#type(t).uri(who),
            _ => Grantee::builder().r#type(t).id(who),
        };
        Grant::builder().grantee(g.build().unwrap()).permission(p).build()
    };
    stack
        .s3
        .put_bucket_acl()
        .bucket(&b)
        .access_control_policy(
            AccessControlPolicy::builder()
                .owner(Owner::builder().id(&owner_id).build())
                .grants(grant(Type::CanonicalUser, &owner_id, Permission::FullControl))
                .grants(grant(Type::CanonicalUser, PARTNER_ID, Permission::Read))
                .grants(grant(Type::Group, LOG_DELIVERY, Permission::Write))
                .grants(grant(Type::Group, ALL_USERS, Permission::Read))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let trail = unique("it-trail");
    let created = ct.create_trail().name(&trail).s3_bucket_name(&b).send().await.unwrap();
    let trail_arn = created.trail_arn().unwrap().to_string();
    let policy = json!({"Version": "2012-10-17", "Statement": [cloudtrail_write(&b, &trail_arn), public_read(&b)]});
    put_policy(stack, &b, &policy).await;
    PublicTrail {
        ct,
        bucket: b,
        trail,
        trail_arn,
        owner_id,
        policy,
    }
}

/// Only AllUsers READ and the public statement are gone; the trail is as it was.
async fn assert_only_public_access_went(stack: &Stack, t: &PublicTrail) {
    let mut expected = vec![
        format!("{LOG_DELIVERY} WRITE"),
        format!("{} FULL_CONTROL", t.owner_id),
        format!("{PARTNER_ID} READ"),
    ];
    expected.sort();
    assert_eq!(grants(stack, &t.bucket).await, expected, "only AllUsers READ went");
    assert_eq!(
        policy(stack, &t.bucket).await,
        Some(json!({"Version": "2012-10-17", "Statement": [cloudtrail_write(&t.bucket, &t.trail_arn)]})),
        "CloudTrail's own (restricted) statement stays"
    );
    let out = t.ct.get_trail().name(&t.trail).send().await.unwrap();
    let trail = out.trail().unwrap();
    assert_eq!(
        trail.s3_bucket_name(),
        Some(t.bucket.as_str()),
        "the trail is untouched"
    );
    assert_eq!(trail.is_multi_region_trail(), Some(false));
}

#[tokio::test]
async fn a_public_trail_bucket_loses_only_its_public_grants_and_statements() {
    let stack = Stack::connect();
    let t = public_trail(&stack).await;
    // Reported in the trail's own region (not the stack's).
    let msg = failure_message(
        Catalog::builtin(),
        &stack.info.account_id,
        "CT-003",
        CT003_REGION,
        &t.trail,
        now_ms(),
    );
    assert_eq!(
        (&msg["service"], &msg["region"]),
        (&json!("CloudTrail"), &json!(CT003_REGION))
    );
    let run = stack.publish_and_wait(&msg).await;
    run.assert_healed();
    assert_only_public_access_went(&stack, &t).await;
    assert_eq!(run.output["remediation"]["before"]["policy"], t.policy);
}

/// Named by its ARN in a `global` finding, the trail is read in the ARN's region.
#[tokio::test]
async fn a_trail_named_by_its_arn_is_found_in_its_own_region() {
    let stack = Stack::connect();
    let t = public_trail(&stack).await;
    let mut msg = stack.message("CT-003", &t.trail_arn);
    assert_eq!(msg["service"], "CloudTrail");
    msg["region"] = json!("global");
    // The region part (the fifth) of the `ccrn` and the `id` `global` too; the rest as built
    // (the Conformity account id, the service, the ARN with its colons).
    for field in ["ccrn", "id"] {
        let mut parts: Vec<String> = msg[field]
            .as_str()
            .unwrap()
            .splitn(6, ':')
            .map(str::to_string)
            .collect();
        parts[4] = "global".into();
        msg[field] = json!(parts.join(":"));
    }
    let run = stack.publish_and_wait(&msg).await;
    run.assert_healed();
    assert_only_public_access_went(&stack, &t).await;
}

/// S3-014 healed for `bucket`; the run's name.
async fn healed_policy(stack: &Stack, bucket: &str) -> String {
    let name = stack.publish_healed(&stack.message("S3-014", bucket)).await;
    name
}

#[tokio::test]
async fn undo_of_s3_014_puts_back_exactly_the_removed_statement_in_its_place() {
    let stack = Stack::connect();
    let b = unique("it-policy");
    stack.s3.create_bucket().bucket(&b).send().await.unwrap();
    // Everyone and a partner in one statement (narrowed by the fix), then the public one.
    let shared = json!({"Sid": "Shared", "Effect": "Allow",
        "Principal": {"AWS": ["*", "arn:aws:iam::111122223333:root"]},
        "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{b}/*")});
    for statements in [
        vec![from_vpce(&b), public_read(&b), partner(&b)],
        vec![shared.clone(), partner(&b)],
    ] {
        let doc = json!({"Version": "2012-10-17", "Statement": statements});
        put_policy(&stack, &b, &doc).await;
        let before = policy(&stack, &b).await;
        let run = healed_policy(&stack, &b).await;
        assert_ne!(policy(&stack, &b).await, before);
        let out = crate::cli::undo_restored(&stack, &run).await;
        assert!(out.contains("put back policy statement(s)"), "{out}");
        assert_eq!(policy(&stack, &b).await, before, "statement for statement, in order");
    }
}

#[tokio::test]
async fn undo_of_s3_014_puts_back_a_policy_the_fix_deleted_whole() {
    let stack = Stack::connect();
    let b = unique("it-policy");
    stack.s3.create_bucket().bucket(&b).send().await.unwrap();
    let doc = json!({"Version": "2012-10-17", "Id": "recorded", "Statement": [public_read(&b)]});
    put_policy(&stack, &b, &doc).await;
    let before = policy(&stack, &b).await;
    let run = healed_policy(&stack, &b).await;
    assert_eq!(policy(&stack, &b).await, None, "the fix deleted it");
    let out = crate::cli::undo_restored(&stack, &run).await;
    assert!(out.contains("put back the bucket policy the fix deleted"), "{out}");
    assert_eq!(policy(&stack, &b).await, before);
}

#[tokio::test]
async fn undo_of_ct_003_puts_back_exactly_the_public_grant_and_statement() {
    let stack = Stack::connect();
    let t = public_trail(&stack).await;
    let (grants_before, policy_before) = (grants(&stack, &t.bucket).await, policy(&stack, &t.bucket).await);
    let msg = failure_message(
        Catalog::builtin(),
        &stack.info.account_id,
        "CT-003",
        CT003_REGION,
        &t.trail,
        now_ms(),
    );
    let healed = stack.publish_healed(&msg).await;
    assert_only_public_access_went(&stack, &t).await;

    let out = crate::cli::undo_restored(&stack, &healed).await;
    assert!(out.contains("add grant READ to group AllUsers"), "{out}");
    assert!(out.contains("put back policy statement(s) PublicRead"), "{out}");
    // Re-read: the ACL and the policy as recorded, statement for statement; the trail as it was.
    assert_eq!(grants(&stack, &t.bucket).await, grants_before);
    assert_eq!(policy(&stack, &t.bucket).await, policy_before);
    assert_eq!(policy_before, Some(t.policy.clone()));
    let out = t.ct.get_trail().name(&t.trail).send().await.unwrap();
    assert_eq!(out.trail().and_then(|x| x.s3_bucket_name()), Some(t.bucket.as_str()));
}
