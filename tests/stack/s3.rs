use ar_tests::{unique, Stack};
use aws_sdk_s3::types::{AccessControlPolicy, Grant, Grantee, Owner, Permission, Type};

pub const ALL: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
pub const AUTH: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";
pub const LOG: &str = "http://acs.amazonaws.com/groups/s3/LogDelivery";
pub const PARTNER: &str = "1111111111111111111111111111111111111111111111111111111111111111";

pub fn group(uri: &str, p: &str) -> Grant {
    Grant::builder()
        .grantee(Grantee::builder().r#type(Type::Group).uri(uri).build().unwrap())
        .permission(Permission::from(p))
        .build()
}

pub fn user(id: &str, p: &str) -> Grant {
    Grant::builder()
        .grantee(Grantee::builder().r#type(Type::CanonicalUser).id(id).build().unwrap())
        .permission(Permission::from(p))
        .build()
}

/// Creates a bucket whose ACL is the owner's FULL_CONTROL plus `grants`; returns its name.
pub async fn bucket_with(stack: &Stack, grants: Vec<Grant>) -> (String, String) {
    let name = unique("it-bucket");
    stack.s3.create_bucket().bucket(&name).send().await.unwrap();
    let owner = stack
        .s3
        .get_bucket_acl()
        .bucket(&name)
        .send()
        .await
        .unwrap()
        .owner()
        .unwrap()
        .clone();
    let owner_id = owner.id().unwrap().to_string();
    let mut all = vec![user(&owner_id, "FULL_CONTROL")];
    all.extend(grants);
    stack
        .s3
        .put_bucket_acl()
        .bucket(&name)
        .access_control_policy(
            AccessControlPolicy::builder()
                .owner(Owner::builder().id(&owner_id).build())
                .set_grants(Some(all))
                .build(),
        )
        .send()
        .await
        .unwrap();
    (name, owner_id)
}

/// The live ACL as sorted (grantee, permission) pairs.
pub async fn live_grants(stack: &Stack, bucket: &str) -> Vec<(String, String)> {
    let acl = stack.s3.get_bucket_acl().bucket(bucket).send().await.unwrap();
    let mut v: Vec<(String, String)> = acl
        .grants()
        .iter()
        .map(|g| {
            let who = g.grantee().and_then(|x| x.uri().or(x.id())).unwrap_or("?").to_string();
            (who, g.permission().unwrap().as_str().to_string())
        })
        .collect();
    v.sort();
    v
}

pub fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    out.sort();
    out
}

#[tokio::test]
async fn public_read_is_removed_and_the_owner_the_partner_and_public_write_are_kept() {
    let stack = Stack::connect();
    let (bucket, owner) = bucket_with(
        &stack,
        vec![user(PARTNER, "READ_ACP"), group(ALL, "READ"), group(ALL, "WRITE")],
    )
    .await;

    let run = stack.publish_and_wait(&stack.message("S3-001", &bucket)).await;

    assert_eq!(run.status, "SUCCEEDED", "{:?}", run.states());
    assert_eq!(
        run.states(),
        [
            "Classify",
            "Route",
            "Remediate",
            "AfterRemediate",
            "Verify",
            "AfterVerify",
            "NotifyHealed",
            "Healed"
        ]
    );
    assert_eq!(
        live_grants(&stack, &bucket).await,
        pairs(&[(&owner, "FULL_CONTROL"), (PARTNER, "READ_ACP"), (ALL, "WRITE")])
    );
    let remediation = &run.output["remediation"];
    assert_eq!(remediation["outcome"], "remediated");
    assert_eq!(remediation["before"]["grants"].as_array().unwrap().len(), 4);
    assert_eq!(remediation["after"]["grants"].as_array().unwrap().len(), 3);
    assert_eq!(run.output["verification"]["compliant"], true);
}

#[tokio::test]
async fn group_grants_sharing_a_permission_are_not_merged() {
    // The seed kept only AuthenticatedUsers READ out of AllUsers + AuthenticatedUsers + LogDelivery READ.
    let stack = Stack::connect();
    let (bucket, owner) = bucket_with(
        &stack,
        vec![
            group(ALL, "READ"),
            group(AUTH, "READ"),
            group(LOG, "READ"),
            group(LOG, "WRITE"),
        ],
    )
    .await;

    let run = stack.publish_and_wait(&stack.message("S3-001", &bucket)).await;

    assert_eq!(run.status, "SUCCEEDED");
    assert_eq!(
        live_grants(&stack, &bucket).await,
        pairs(&[(&owner, "FULL_CONTROL"), (AUTH, "READ"), (LOG, "READ"), (LOG, "WRITE")])
    );
}

#[tokio::test]
async fn authenticated_users_full_control_goes_and_nothing_else() {
    let stack = Stack::connect();
    let (bucket, owner) = bucket_with(
        &stack,
        vec![group(AUTH, "FULL_CONTROL"), group(AUTH, "READ"), group(ALL, "READ")],
    )
    .await;

    let run = stack.publish_and_wait(&stack.message("S3-010", &bucket)).await;

    assert_eq!(run.status, "SUCCEEDED", "{:?}", run.task_errors());
    assert_eq!(
        live_grants(&stack, &bucket).await,
        pairs(&[(&owner, "FULL_CONTROL"), (AUTH, "READ"), (ALL, "READ")])
    );
}

#[tokio::test]
async fn two_buckets_in_a_row_do_not_leak_grants_into_each_other() {
    let stack = Stack::connect();
    let (first, owner1) = bucket_with(&stack, vec![user(PARTNER, "READ"), group(ALL, "READ")]).await;
    let (second, owner2) = bucket_with(&stack, vec![group(ALL, "READ")]).await;

    assert_eq!(
        stack.publish_and_wait(&stack.message("S3-001", &first)).await.status,
        "SUCCEEDED"
    );
    assert_eq!(
        stack.publish_and_wait(&stack.message("S3-001", &second)).await.status,
        "SUCCEEDED"
    );

    assert_eq!(
        live_grants(&stack, &first).await,
        pairs(&[(&owner1, "FULL_CONTROL"), (PARTNER, "READ")])
    );
    assert_eq!(live_grants(&stack, &second).await, pairs(&[(&owner2, "FULL_CONTROL")]));
}

#[tokio::test]
async fn a_bucket_tagged_for_exclusion_is_left_alone() {
    let stack = Stack::connect();
    let (bucket, owner) = bucket_with(&stack, vec![group(ALL, "READ")]).await;
    stack
        .s3
        .put_bucket_tagging()
        .bucket(&bucket)
        .tagging(
            aws_sdk_s3::types::Tagging::builder()
                .tag_set(
                    aws_sdk_s3::types::Tag::builder()
                        .key("auto-remediate")
                        .value("skip")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    let run = stack.publish_and_wait(&stack.message("S3-001", &bucket)).await;

    assert_eq!(run.status, "SUCCEEDED");
    assert_eq!(run.states().last().unwrap(), "Excluded");
    assert_eq!(
        live_grants(&stack, &bucket).await,
        pairs(&[(&owner, "FULL_CONTROL"), (ALL, "READ")])
    );
}

#[tokio::test]
async fn a_missing_bucket_is_a_named_outcome_not_a_crash() {
    let stack = Stack::connect();
    let run = stack
        .publish_and_wait(&stack.message("S3-001", &unique("it-never-created")))
        .await;
    assert_eq!(run.status, "SUCCEEDED");
    assert_eq!(run.states().last().unwrap(), "ResourceGone");
}

#[tokio::test]
async fn an_already_private_bucket_is_already_compliant_and_untouched() {
    let stack = Stack::connect();
    let (bucket, owner) = bucket_with(&stack, vec![user(PARTNER, "READ")]).await;
    let run = stack.publish_and_wait(&stack.message("S3-001", &bucket)).await;
    assert_eq!(run.states().last().unwrap(), "AlreadyCompliant");
    assert_eq!(
        live_grants(&stack, &bucket).await,
        pairs(&[(&owner, "FULL_CONTROL"), (PARTNER, "READ")])
    );
}

/// S3-002..S3-010, each end to end: one bucket carrying every public grant of those rules, one
/// finding each; each run takes away exactly its rule's grant (grantee and permission from the
/// catalog), so in the end the owner, the partner and AllUsers READ (S3-001 was not published) stay.
#[tokio::test]
async fn every_acl_rule_removes_exactly_its_own_grant() {
    let stack = Stack::connect();
    let catalog = ar_core::catalog::Catalog::builtin();
    let rules: Vec<&ar_core::catalog::RuleSpec> = (2..=10)
        .map(|n| catalog.require(&format!("S3-{n:03}")).unwrap())
        .collect();
    let uri = |grantee: &str| if grantee == "AllUsers" { ALL } else { AUTH };
    let mut grants = vec![user(PARTNER, "READ"), group(ALL, "READ")];
    grants.extend(rules.iter().map(|r| {
        group(
            uri(r.params["grantee"].as_str().unwrap()),
            r.params["permission"].as_str().unwrap(),
        )
    }));
    let (bucket, owner) = bucket_with(&stack, grants).await;

    for rule in &rules {
        let run = stack.publish_and_wait(&stack.message(&rule.id, &bucket)).await;
        assert_eq!(
            run.states().last().unwrap(),
            "Healed",
            "{}: {:?}",
            rule.id,
            run.task_errors()
        );
        let gone = (
            uri(rule.params["grantee"].as_str().unwrap()).to_string(),
            rule.params["permission"].as_str().unwrap().to_string(),
        );
        assert!(!live_grants(&stack, &bucket).await.contains(&gone), "{}", rule.id);
    }
    assert_eq!(
        live_grants(&stack, &bucket).await,
        pairs(&[(&owner, "FULL_CONTROL"), (PARTNER, "READ"), (ALL, "READ")])
    );
}
