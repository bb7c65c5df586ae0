//! Unit tests of [`super`], kept beside it in their own file.

use super::*;
use aws_sdk_s3::operation::delete_bucket_policy::DeleteBucketPolicyOutput;
use aws_sdk_s3::operation::get_bucket_location::GetBucketLocationOutput;
use aws_sdk_s3::operation::get_bucket_policy::{GetBucketPolicyError, GetBucketPolicyOutput};
use aws_sdk_s3::operation::put_bucket_policy::PutBucketPolicyOutput;
use aws_smithy_mocks::{mock, mock_client, MockResponseInterceptor, RuleMode};
use serde_json::json;

fn target() -> Target<'static> {
    Target {
        rule_id: "S3-014",
        resource: "b",
        region: "us-east-1",
    }
}

fn public_read() -> Value {
    json!({"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"})
}

fn from_vpce() -> Value {
    json!({"Sid": "FromVpce", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": ["s3:GetObject", "s3:PutObject"],
           "Resource": "arn:aws:s3:::b/*", "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-0123abcd"}}})
}

fn partner() -> Value {
    json!({"Sid": "Partner", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"})
}

fn policy(stmts: Vec<Value>) -> BucketPolicy {
    BucketPolicy {
        policy: Some(json!({"Version": "2012-10-17", "Statement": stmts})),
    }
}

#[test]
fn only_unrestricted_public_statements_go_and_restricted_ones_stay() {
    let s = policy(vec![public_read(), from_vpce(), partner()]);
    let a = S3BucketPolicy::assess(&s, &Params {}, target());
    assert_eq!(
        a.plan.changes,
        vec![PolicyChange::RemoveStatements {
            labels: vec!["PublicRead".into()],
            statements: vec![public_read()],
            narrowed: vec![],
        }]
    );
    assert_eq!(a.offending, vec!["policy statement PublicRead: Allow * s3:GetObject"]);
    assert_eq!(a.plan.removes, a.offending);
    assert_eq!(
        a.plan.untouched[..2],
        [
            "policy statement FromVpce (restricted by StringEquals aws:SourceVpce)".to_string(),
            "policy statement Partner".to_string()
        ]
    );
    let after = S3BucketPolicy::simulate(&s, &a.plan.changes);
    assert_eq!(after, policy(vec![from_vpce(), partner()]));
    assert_eq!(
        S3BucketPolicy::diff(&s, &after),
        vec!["removed policy statement PublicRead"]
    );
    assert!(S3BucketPolicy::assess(&after, &Params {}, target()).plan.is_empty());
}

#[test]
fn a_like_condition_whose_account_or_org_is_a_wildcard_restricts_no_one() {
    for cond in [
        json!({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:*"}}),
        json!({"StringLike": {"aws:PrincipalOrgID": "o-*"}}),
        json!({"ArnLike": {"aws:SourceArn": "arn:aws:sns:us-east-1:*:topic"}}),
    ] {
        let stmt =
            json!({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*", "Condition": cond});
        assert!(is_public(&stmt), "{cond}");
    }
    // A wildcard after a fixed account or organization still names that one only.
    for cond in [
        json!({"ArnLike": {"aws:SourceArn": "arn:aws:sns:us-east-1:123456789012:*"}}),
        json!({"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": "o-a1b2c3d4e5/r-ab12/*"}}),
    ] {
        let stmt =
            json!({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*", "Condition": cond});
        assert!(!is_public(&stmt), "{cond}");
    }
}

#[test]
fn every_wildcard_principal_form_is_public() {
    for principal in [json!("*"), json!({"AWS": "*"}), json!({"AWS": ["*"]})] {
        let stmt = json!({"Effect": "Allow", "Principal": principal, "Action": "s3:*", "Resource": "*"});
        assert!(is_public(&stmt), "{stmt}");
    }
    let deny = json!({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"});
    assert!(!is_public(&deny));
    assert!(!is_public(&partner()));
}

#[test]
fn a_condition_that_does_not_restrict_the_principal_does_not_count() {
    for cond in [
        json!({"Bool": {"aws:SecureTransport": "true"}}),
        json!({"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1"}}),
        json!({"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}),
        json!({"ForAllValues:StringEquals": {"aws:PrincipalOrgID": "o-abc"}}),
        json!({"StringLike": {"aws:PrincipalOrgID": "*"}}),
        json!({"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}),
        json!({"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "::/0"]}}),
        json!({"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}),
    ] {
        let stmt =
            json!({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*", "Condition": cond});
        assert!(is_public(&stmt), "{stmt}");
    }
    for cond in [
        json!({"IpAddress": {"aws:SourceIp": ["203.0.113.0/24"]}}),
        json!({"StringEquals": {"aws:PrincipalOrgID": "o-abc"}}),
        json!({"ArnLike": {"aws:SourceArn": "arn:aws:cloudtrail:*:111122223333:trail/*"}}),
        json!({"StringEquals": {"AWS:SourceAccount": "111122223333"}}),
        json!({"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": ["o-a/r-b/ou-c/*"]}}),
    ] {
        let stmt =
            json!({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*", "Condition": cond});
        assert!(!is_public(&stmt), "{stmt}");
    }
}

fn public_with(cond: Value) -> Value {
    json!({"Sid": "S", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*", "Condition": cond})
}

/// The access-point delegation statement S3's documentation gives (`Principal *`, restricted
/// to the access points of one account).
fn delegation() -> Value {
    json!({"Sid": "DelegateToAccessPoints", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "*",
           "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
           "Condition": {"StringEquals": {"s3:DataAccessPointAccount": "111122223333"}}})
}

#[test]
fn every_restricting_key_restricts_with_a_fixed_value() {
    for (op, key, value) in [
        ("StringEquals", "s3:DataAccessPointAccount", json!("111122223333")),
        (
            "ArnEquals",
            "s3:DataAccessPointArn",
            json!("arn:aws:s3:us-east-1:111122223333:accesspoint/ap"),
        ),
        (
            "ArnLike",
            "s3:DataAccessPointArn",
            json!("arn:aws:s3:us-east-1:111122223333:accesspoint/*"),
        ),
        ("StringEquals", "aws:SourceOwner", json!("111122223333")),
        ("StringEquals", "AWS:SourceOwner", json!("111122223333")),
        ("StringEquals", "aws:SourceAccount", json!("111122223333")),
        (
            "ArnEquals",
            "aws:SourceArn",
            json!("arn:aws:sns:us-east-1:111122223333:t"),
        ),
        ("StringEquals", "aws:SourceVpc", json!("vpc-0abc")),
        (
            "ArnEquals",
            "aws:SourceVpcArn",
            json!("arn:aws:ec2:us-east-1:111122223333:vpc/vpc-0abc"),
        ),
        ("StringEquals", "aws:SourceVpce", json!(["vpce-1", "vpce-2"])),
        ("IpAddress", "aws:SourceIp", json!("203.0.113.0/24")),
        ("IpAddress", "aws:VpcSourceIp", json!("10.0.0.0/16")),
        ("StringEquals", "aws:VpceAccount", json!("111122223333")),
        ("StringEquals", "aws:VpceOrgID", json!("o-a1b2c3d4e5")),
        (
            "ForAnyValue:StringLike",
            "aws:VpceOrgPaths",
            json!("o-a1b2c3d4e5/r-ab12/*"),
        ),
        ("StringEquals", "aws:PrincipalOrgID", json!("o-a1b2c3d4e5")),
        (
            "ForAnyValue:StringLike",
            "aws:PrincipalOrgPaths",
            json!("o-a1b2c3d4e5/*"),
        ),
        ("StringEquals", "aws:PrincipalAccount", json!("111122223333")),
        (
            "ArnEquals",
            "aws:PrincipalArn",
            json!("arn:aws:iam::111122223333:role/r"),
        ),
        (
            "StringEquals",
            "aws:PrincipalServiceName",
            json!("cloudtrail.amazonaws.com"),
        ),
        ("StringLike", "aws:userid", json!("AROAEXAMPLEID:*")),
        ("StringEquals", "aws:SourceOrgID", json!("o-a1b2c3d4e5")),
        ("ForAnyValue:StringLike", "aws:SourceOrgPaths", json!("o-a1b2c3d4e5/*")),
    ] {
        let stmt = public_with(json!({op: {key: value}}));
        assert_eq!(restriction(&stmt), Some(format!("{op} {key}")), "{stmt}");
        assert!(!is_public(&stmt), "{stmt}");
    }
}

#[test]
fn the_new_keys_do_not_restrict_when_negated_optional_or_open() {
    // As for the keys judged before: a request without the key passes these, or every value does.
    for cond in [
        json!({"StringNotEquals": {"s3:DataAccessPointAccount": "111122223333"}}),
        json!({"StringEqualsIfExists": {"s3:DataAccessPointAccount": "111122223333"}}),
        json!({"Null": {"s3:DataAccessPointArn": "false"}}),
        json!({"ForAllValues:StringEquals": {"aws:SourceOwner": "111122223333"}}),
        json!({"StringLike": {"s3:DataAccessPointAccount": "*"}}),
        json!({"ArnLike": {"s3:DataAccessPointArn": "arn:aws:s3:us-east-1:*:accesspoint/*"}}),
        json!({"StringLike": {"aws:SourceOwner": "1111*"}}),
        json!({"ArnNotEquals": {"aws:SourceVpcArn": "arn:aws:ec2:us-east-1:111122223333:vpc/vpc-1"}}),
        json!({"StringLike": {"aws:VpceAccount": "*"}}),
        json!({"StringLike": {"aws:userid": "*:alice"}}),
        json!({"StringEquals": {"aws:VpceOrgID": ["o-abc", 7]}}),
    ] {
        let stmt = public_with(cond.clone());
        assert_eq!(judge_condition(&stmt), ConditionJudgement::Open, "{cond}");
        assert!(is_public(&stmt), "{cond}");
    }
}

#[test]
fn a_condition_key_not_known_to_leave_a_statement_open_keeps_it_and_names_the_key() {
    for (op, key) in [
        ("StringEquals", "s3:AccessPointNetworkOrigin"),
        ("StringEquals", "aws:username"),
        ("ForAnyValue:StringEquals", "aws:CalledVia"),
        ("StringEquals", "aws:SomeKeyAddedNextYear"),
        ("StringNotEquals", "ec2:Vpc"),
        ("StringEqualsIfExists", "aws:SomeKeyAddedNextYear"),
        ("Null", "aws:SomeKeyAddedNextYear"),
        ("Bool", "aws:SomeKeyAddedNextYear"),
    ] {
        let stmt = public_with(json!({op: {key: "x"}}));
        assert_eq!(
            judge_condition(&stmt),
            ConditionJudgement::Unjudged(vec![format!("{op} {key}")]),
            "{stmt}"
        );
        assert!(!is_public(&stmt), "{stmt}");
        assert_eq!(restriction(&stmt), None, "kept, but not called restricted");
    }
    // Beside an open condition the unknown key still keeps it; beside a restricting one the
    // restriction is what the plan says.
    let mixed = public_with(
        json!({"Bool": {"aws:SecureTransport": "true"}, "StringEquals": {"aws:SomeKeyAddedNextYear": "x"}}),
    );
    assert_eq!(
        judge_condition(&mixed),
        ConditionJudgement::Unjudged(vec!["StringEquals aws:SomeKeyAddedNextYear".into()])
    );
    let both =
        public_with(json!({"StringEquals": {"aws:SomeKeyAddedNextYear": "x", "aws:SourceOwner": "111122223333"}}));
    assert_eq!(restriction(&both), Some("StringEquals aws:SourceOwner".into()));
    // A Condition that cannot be read is not judged open either.
    for cond in [json!("StringEquals"), json!({"StringEquals": ["aws:SourceIp"]})] {
        assert!(
            matches!(
                judge_condition(&public_with(cond.clone())),
                ConditionJudgement::Unjudged(_)
            ),
            "{cond}"
        );
    }
    // The plan keeps it and says why, naming the condition; the public statement beside it goes.
    let s = policy(vec![public_read(), {
        let mut u = public_with(json!({"StringEquals": {"s3:AccessPointNetworkOrigin": "VPC"}}));
        u["Sid"] = json!("ViaVpcAccessPoints");
        u
    }]);
    let a = S3BucketPolicy::assess(&s, &Params {}, target());
    assert_eq!(
        a.plan.removes,
        vec!["policy statement PublicRead: Allow * s3:GetObject"]
    );
    assert_eq!(
        a.plan.untouched[0],
        "policy statement ViaVpcAccessPoints (kept, fail closed: its condition StringEquals s3:AccessPointNetworkOrigin is not known to leave it open to everyone)"
    );
}

#[test]
fn conditions_known_to_leave_a_statement_open_do_not_save_it() {
    for cond in [
        json!({"Bool": {"aws:SecureTransport": "true"}}),
        json!({"StringLike": {"aws:Referer": "https://example.com/*"}}),
        json!({"StringEquals": {"aws:UserAgent": "curl"}}),
        json!({"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}),
        json!({"Bool": {"aws:MultiFactorAuthPresent": "true"}}),
        json!({"StringEquals": {"aws:RequestedRegion": "us-east-1"}}),
        json!({"StringEquals": {"aws:PrincipalTag/team": "data"}}),
        json!({"StringEquals": {"aws:ResourceAccount": "111122223333"}}),
        json!({"StringEquals": {"s3:ResourceAccount": "111122223333"}}),
        json!({"StringEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}),
        json!({"StringEquals": {"s3:prefix": "public/"}}),
        json!({"StringEquals": {"s3:ExistingObjectTag/public": "yes"}}),
        json!({"NumericGreaterThanEquals": {"s3:TlsVersion": "1.2"}}),
        json!({"StringEquals": {"s3:authType": "REST-HEADER"}}),
    ] {
        let stmt = public_with(cond.clone());
        assert_eq!(judge_condition(&stmt), ConditionJudgement::Open, "{cond}");
        assert!(is_public(&stmt), "{cond}");
    }
}

#[test]
fn the_access_point_delegation_statement_survives_and_only_the_public_one_goes() {
    let s = policy(vec![delegation(), public_read()]);
    let a = S3BucketPolicy::assess(&s, &Params {}, target());
    assert_eq!(
        a.plan.changes,
        vec![PolicyChange::RemoveStatements {
            labels: vec!["PublicRead".into()],
            statements: vec![public_read()],
            narrowed: vec![],
        }]
    );
    assert_eq!(
        a.plan.untouched[0],
        "policy statement DelegateToAccessPoints (restricted by StringEquals s3:DataAccessPointAccount)"
    );
    assert_eq!(
        S3BucketPolicy::simulate(&s, &a.plan.changes),
        policy(vec![delegation()])
    );
    assert!(
        S3BucketPolicy::assess(&policy(vec![delegation()]), &Params {}, target())
            .plan
            .is_empty()
    );
}

#[test]
fn a_statement_naming_others_too_is_narrowed_and_a_policy_of_public_statements_only_is_deleted() {
    let mixed = json!({"Effect": "Allow", "Principal": {"AWS": ["*", "arn:aws:iam::111122223333:root"]}, "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b"});
    let s = BucketPolicy {
        policy: Some(json!({"Version": "2012-10-17", "Statement": [public_read(), mixed.clone()]})),
    };
    let a = S3BucketPolicy::assess(&s, &Params {}, target());
    let partner_only = json!({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b"});
    assert_eq!(
        a.plan.changes,
        vec![PolicyChange::RemoveStatements {
            labels: vec!["PublicRead".into(), "#1".into()],
            statements: vec![public_read(), mixed],
            narrowed: vec![partner_only.clone()],
        }]
    );
    assert_eq!(
        a.plan.removes,
        vec![
            "policy statement PublicRead: Allow * s3:GetObject",
            "policy statement #1: Allow * s3:ListBucket"
        ]
    );
    assert!(a
        .plan
        .untouched
        .iter()
        .any(|u| u.contains("AWS arn:aws:iam::111122223333:root")));
    let after = S3BucketPolicy::simulate(&s, &a.plan.changes);
    assert_eq!(
        after.policy,
        Some(json!({"Version": "2012-10-17", "Statement": [partner_only]}))
    );
    assert!(S3BucketPolicy::assess(&after, &Params {}, target())
        .offending
        .is_empty());
    // Everyone and nothing else: the statement goes; all of them: the policy goes.
    let s = BucketPolicy {
        policy: Some(json!({"Version": "2012-10-17", "Statement": [public_read()]})),
    };
    let a = S3BucketPolicy::assess(&s, &Params {}, target());
    assert!(matches!(a.plan.changes[..], [PolicyChange::DeletePolicy { .. }]));
    assert_eq!(S3BucketPolicy::simulate(&s, &a.plan.changes).policy, None);
    // A single statement object (not a list) works the same.
    let single = BucketPolicy {
        policy: Some(json!({"Version": "2012-10-17", "Statement": public_read()})),
    };
    let a = S3BucketPolicy::assess(&single, &Params {}, target());
    assert!(matches!(a.plan.changes[..], [PolicyChange::DeletePolicy { .. }]));
}

#[test]
fn no_policy_or_a_restricted_policy_is_compliant() {
    for s in [BucketPolicy { policy: None }, policy(vec![from_vpce(), partner()])] {
        let a = S3BucketPolicy::assess(&s, &Params {}, target());
        assert!(a.plan.is_empty() && a.offending.is_empty() && a.plan.removes.is_empty());
    }
}

#[test]
fn fix_then_revert_is_the_recorded_policy_statement_for_statement_in_order() {
    let narrowable = json!({
        "Sid": "PublicAndPartner",
        "Effect": "Allow",
        "Principal": {"AWS": ["*", "arn:aws:iam::111122223333:root"]},
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::b/*"
    });
    for stmts in [
        vec![from_vpce(), public_read(), partner()],
        vec![public_read()],
        vec![narrowable.clone(), partner()],
        vec![public_read(), narrowable.clone()],
    ] {
        let before = policy(stmts);
        let fixed = S3BucketPolicy::simulate(
            &before,
            &S3BucketPolicy::assess(&before, &Params {}, target()).plan.changes,
        );
        assert_ne!(fixed, before);
        let undo = S3BucketPolicy::revert(&fixed, &before).unwrap();
        assert_eq!(undo.len(), 1, "{undo:?}");
        assert_eq!(S3BucketPolicy::simulate(&fixed, &undo), before, "{undo:?}");
        assert!(S3BucketPolicy::revert(&before, &before).unwrap().is_empty());
        assert!(S3BucketPolicy::revert(&fixed, &fixed).unwrap().is_empty());
    }
    // One statement object, narrowed by the fix: back as one object.
    let single = BucketPolicy {
        policy: Some(json!({"Version": "2012-10-17", "Statement": narrowable})),
    };
    let fixed = S3BucketPolicy::simulate(
        &single,
        &S3BucketPolicy::assess(&single, &Params {}, target()).plan.changes,
    );
    let undo = S3BucketPolicy::revert(&fixed, &single).unwrap();
    assert_eq!(S3BucketPolicy::simulate(&fixed, &undo), single);
    assert!(
        undo[0].describe().contains("in place of the 1 narrowed statement(s)"),
        "{}",
        undo[0].describe()
    );
    // A deleted policy comes back whole.
    let all_public = policy(vec![public_read()]);
    let undo = S3BucketPolicy::revert(&BucketPolicy { policy: None }, &all_public).unwrap();
    assert!(matches!(&undo[..], [PolicyChange::RestorePolicy { .. }]));
}

#[test]
fn the_undo_keeps_a_statement_added_since_and_only_puts_back_the_removed_one() {
    let before = policy(vec![public_read(), partner()]);
    let fixed = S3BucketPolicy::simulate(
        &before,
        &S3BucketPolicy::assess(&before, &Params {}, target()).plan.changes,
    );
    let undo = S3BucketPolicy::revert(&fixed, &before).unwrap();
    let PolicyChange::RestoreStatements { statements, drop, .. } = &undo[0] else {
        panic!("{undo:?}")
    };
    assert_eq!(
        statements,
        &vec![PlacedStatement {
            index: 0,
            statement: public_read()
        }]
    );
    assert!(drop.is_empty());
    // Applied to a policy with one more statement, that statement stays.
    let mut more = fixed.policy.clone().unwrap();
    more["Statement"].as_array_mut().unwrap().push(from_vpce());
    let out = policy_after(Some(&more), &undo).unwrap();
    assert_eq!(out["Statement"], json!([public_read(), partner(), from_vpce()]));
}

#[tokio::test]
async fn the_put_carries_every_kept_statement_and_nothing_else_is_sent() {
    let before = policy(vec![public_read(), from_vpce(), partner()]).policy.unwrap();
    let after = policy_after(Some(&before), &assess_policy(Some(&before)).changes);
    let put = mock!(aws_sdk_s3::Client::put_bucket_policy)
        .match_requests(|r| {
            let sent: Value = serde_json::from_str(r.policy().unwrap()).unwrap();
            r.bucket() == Some("b") && sent == json!({"Version": "2012-10-17", "Statement": [from_vpce(), partner()]})
        })
        .then_output(|| PutBucketPolicyOutput::builder().build());
    let s3 = mock_client!(aws_sdk_s3, RuleMode::Sequential, [&put]);
    write_policy(&s3, "b", Some(&before), after.as_ref()).await.unwrap();
    assert_eq!(put.num_calls(), 1);
    // Already done: nothing sent.
    write_policy(&s3, "b", after.as_ref(), after.as_ref()).await.unwrap();
    assert_eq!(put.num_calls(), 1);
}

/// Through the family with its guard: location, then exactly one DeleteBucketPolicy.
#[tokio::test]
async fn apply_deletes_a_policy_of_public_statements_only() {
    let loc = mock!(aws_sdk_s3::Client::get_bucket_location).then_output(|| GetBucketLocationOutput::builder().build());
    let del = mock!(aws_sdk_s3::Client::delete_bucket_policy)
        .match_requests(|r| r.bucket() == Some("all-public-policy"))
        .then_output(|| DeleteBucketPolicyOutput::builder().build());
    let mocks = MockResponseInterceptor::new()
        .rule_mode(RuleMode::Sequential)
        .with_rule(&loc)
        .with_rule(&del);
    let ctx = Ctx::new(
        crate::families::helpers::mock_ctx::sdk_config(),
        "111122223333",
        S3BucketPolicy::READS,
        S3BucketPolicy::WRITES,
    )
    .with_interceptor(mocks);
    let s = policy(vec![public_read()]);
    let t = Target {
        resource: "all-public-policy",
        ..target()
    };
    let a = S3BucketPolicy::assess(&s, &Params {}, t);
    S3BucketPolicy::apply(&ctx, "all-public-policy", &s, &a.plan.changes)
        .await
        .unwrap();
    assert_eq!((loc.num_calls(), del.num_calls()), (1, 1));
}

#[tokio::test]
async fn no_policy_reads_as_none_and_a_missing_bucket_as_gone() {
    let no_policy = mock!(aws_sdk_s3::Client::get_bucket_policy).then_error(|| {
        GetBucketPolicyError::generic(
            aws_sdk_s3::error::ErrorMetadata::builder()
                .code("NoSuchBucketPolicy")
                .build(),
        )
    });
    let s3 = mock_client!(aws_sdk_s3, [&no_policy]);
    assert_eq!(read_policy(&s3, "b").await.unwrap(), Some(None));
    let gone = mock!(aws_sdk_s3::Client::get_bucket_policy).then_error(|| {
        GetBucketPolicyError::generic(aws_sdk_s3::error::ErrorMetadata::builder().code("NoSuchBucket").build())
    });
    let s3 = mock_client!(aws_sdk_s3, [&gone]);
    assert_eq!(read_policy(&s3, "b").await.unwrap(), None);
    let text = mock!(aws_sdk_s3::Client::get_bucket_policy)
        .then_output(|| GetBucketPolicyOutput::builder().policy("not json").build());
    let s3 = mock_client!(aws_sdk_s3, [&text]);
    assert_eq!(
        read_policy(&s3, "b").await.unwrap_err().aws_code(),
        Some("UnreadablePolicy")
    );
}
