//! Unit tests of [`super`]: the shared plan, simulate, diff and revert once, and each kind's two
//! calls at request level (exactly the group `all`, nothing else).

use aws_sdk_ec2::operation::modify_image_attribute::ModifyImageAttributeOutput;
use aws_sdk_ec2::operation::modify_snapshot_attribute::ModifySnapshotAttributeOutput;
use aws_sdk_ec2::types::{OperationType, PermissionGroup};
use aws_sdk_rds::operation::describe_db_snapshot_attributes::DescribeDbSnapshotAttributesOutput;
use aws_sdk_rds::operation::describe_db_snapshots::DescribeDbSnapshotsOutput;
use aws_sdk_rds::operation::modify_db_snapshot_attribute::{
    ModifyDbSnapshotAttributeInput, ModifyDbSnapshotAttributeOutput,
};
use aws_sdk_rds::types::{DbSnapshotAttribute, DbSnapshotAttributesResult};
use aws_smithy_mocks::{mock, MockResponseInterceptor, RuleMode};

use super::ebs_public_snapshot::EbsSnapshot;
use super::ec2_public_ami::Ami;
use super::rds_public_snapshot::{restore_shares, DbSnapshot, RESTORE};
use super::*;
use crate::families::helpers::mock_ctx;
use crate::families::rds_instance::mock_ctx as rds_ctx;

fn t(rule_id: &'static str, resource: &'static str) -> Target<'static> {
    Target {
        rule_id,
        resource,
        region: "us-east-1",
    }
}

fn public() -> Shares {
    Shares {
        groups: vec!["all".into()],
        accounts: vec!["111122223333".into()],
    }
}

#[test]
fn only_the_group_all_goes_and_shared_accounts_stay() {
    let s = public();
    let a = assess(&s, "snapshot", "createVolumePermission", t("EBS-009", "snap-0123abcd"));
    assert_eq!(a.plan.changes, vec![Change::RemovePublic]);
    assert_eq!(a.plan.untouched, vec!["createVolumePermission for 111122223333"]);
    let after = simulate(&s, &a.plan.changes);
    assert!(!after.is_public());
    assert_eq!(after.accounts, s.accounts);
    assert_eq!(diff(&s, &after), vec!["removed share with group all"]);
}

#[test]
fn a_private_resource_has_an_empty_plan() {
    let s = Shares {
        groups: vec![],
        accounts: vec!["111122223333".into()],
    };
    let a = assess(&s, "snapshot", "createVolumePermission", t("EBS-009", "snap-0123abcd"));
    assert!(a.plan.is_empty() && a.offending.is_empty());
}

/// Every kind: fix then revert is the before-state; an unchanged resource needs nothing.
#[test]
fn fix_then_revert_is_the_before_state_for_every_kind_and_an_unchanged_one_needs_nothing() {
    fn check<K: ShareKind>(target: Target<'_>) {
        let before = public();
        let fixed = PublicShare::<K>::simulate(
            &before,
            &PublicShare::<K>::assess(&before, &Params {}, target).plan.changes,
        );
        assert_ne!(fixed, before, "{}", K::NAME);
        let undo = PublicShare::<K>::revert(&fixed, &before).unwrap();
        assert_eq!(undo, vec![Change::AddPublic], "{}", K::NAME);
        assert_eq!(PublicShare::<K>::simulate(&fixed, &undo), before, "{}", K::NAME);
        assert!(PublicShare::<K>::revert(&before, &before).unwrap().is_empty());
        assert!(PublicShare::<K>::revert(&fixed, &fixed).unwrap().is_empty());
    }
    check::<Ami>(t("EC2-019", "ami-0123abcd"));
    check::<EbsSnapshot>(t("EBS-009", "snap-0123abcd"));
    check::<DbSnapshot>(t("RDS-023", "nightly-export"));
    assert_eq!(
        Change::AddPublic.describe(),
        "share with everyone again (add the group all back)"
    );
}

#[tokio::test]
async fn the_ami_kind_removes_and_adds_back_only_the_group_all() {
    for public in [false, true] {
        let modify = mock!(aws_sdk_ec2::Client::modify_image_attribute)
            .match_requests(move |r| {
                let m = r.launch_permission().unwrap();
                let (changed, other) = if public {
                    (m.add(), m.remove())
                } else {
                    (m.remove(), m.add())
                };
                r.image_id() == Some("ami-0123abcd")
                    && other.is_empty()
                    && changed.len() == 1
                    && changed[0].group() == Some(&PermissionGroup::All)
                    && changed[0].user_id().is_none()
            })
            .then_output(|| ModifyImageAttributeOutput::builder().build());
        let ctx = mock_ctx::ctx(Ami::READS, Ami::WRITES, &[&modify]);
        Ami::set_public(&ctx, "ami-0123abcd", public).await.unwrap();
        assert_eq!(modify.num_calls(), 1);
    }
}

#[tokio::test]
async fn the_snapshot_kind_removes_and_adds_back_only_the_group_all() {
    for public in [false, true] {
        let op = if public {
            OperationType::Add
        } else {
            OperationType::Remove
        };
        let modify = mock!(aws_sdk_ec2::Client::modify_snapshot_attribute)
            .match_requests(move |r| {
                r.snapshot_id() == Some("snap-0123abcd")
                    && r.operation_type() == Some(&op)
                    && r.group_names() == ["all".to_string()]
                    && r.user_ids().is_empty()
            })
            .then_output(|| ModifySnapshotAttributeOutput::builder().build());
        let ctx = mock_ctx::ctx(EbsSnapshot::READS, EbsSnapshot::WRITES, &[&modify]);
        EbsSnapshot::set_public(&ctx, "snap-0123abcd", public).await.unwrap();
        assert_eq!(modify.num_calls(), 1);
    }
}

fn attr(values: &[&str]) -> DbSnapshotAttribute {
    DbSnapshotAttribute::builder()
        .attribute_name(RESTORE)
        .set_attribute_values(Some(values.iter().map(|v| v.to_string()).collect()))
        .build()
}

#[test]
fn rds_only_all_is_removed_and_the_shared_accounts_stay() {
    type F = PublicShare<DbSnapshot>;
    let s = restore_shares(&[attr(&["all", "111122223333"])]);
    let a = F::assess(&s, &Params {}, t("RDS-023", "nightly-export"));
    assert_eq!(a.plan.changes, vec![Change::RemovePublic]);
    assert_eq!(a.plan.removes, vec!["restore for everyone"]);
    assert_eq!(a.plan.untouched, vec!["restore for 111122223333"]);
    let after = F::simulate(&s, &a.plan.changes);
    assert_eq!(after.accounts, vec!["111122223333"]);
    assert!(F::assess(&after, &Params {}, t("RDS-023", "nightly-export"))
        .plan
        .is_empty());
    let private = restore_shares(&[attr(&["111122223333"])]);
    let a = F::assess(&private, &Params {}, t("RDS-023", "nightly-export"));
    assert!(a.plan.is_empty() && a.offending.is_empty());
}

#[tokio::test]
async fn rds_read_then_apply_sends_exactly_one_modify_removing_all() {
    type F = PublicShare<DbSnapshot>;
    let expected = ModifyDbSnapshotAttributeInput::builder()
        .db_snapshot_identifier("nightly-export")
        .attribute_name("restore")
        .values_to_remove("all")
        .build()
        .unwrap();
    let describe = mock!(aws_sdk_rds::Client::describe_db_snapshots)
        .match_requests(|r| r.db_snapshot_identifier() == Some("nightly-export"))
        .then_output(|| {
            DescribeDbSnapshotsOutput::builder()
                .db_snapshots(
                    aws_sdk_rds::types::DbSnapshot::builder()
                        .db_snapshot_identifier("nightly-export")
                        .build(),
                )
                .build()
        });
    let attrs = mock!(aws_sdk_rds::Client::describe_db_snapshot_attributes)
        .match_requests(|r| r.db_snapshot_identifier() == Some("nightly-export"))
        .then_output(|| {
            DescribeDbSnapshotAttributesOutput::builder()
                .db_snapshot_attributes_result(
                    DbSnapshotAttributesResult::builder()
                        .db_snapshot_attributes(attr(&["all", "111122223333"]))
                        .build(),
                )
                .build()
        });
    let modify = mock!(aws_sdk_rds::Client::modify_db_snapshot_attribute)
        .match_requests(move |r| *r == expected)
        .then_output(|| ModifyDbSnapshotAttributeOutput::builder().build());
    let mocks = MockResponseInterceptor::new()
        .rule_mode(RuleMode::Sequential)
        .with_rule(&describe)
        .with_rule(&attrs)
        .with_rule(&modify);
    let ctx = rds_ctx(mocks, F::READS, F::WRITES);
    let r = F::read(&ctx, "nightly-export", Tags::Skip).await.unwrap().unwrap();
    assert_eq!(r.state.groups, vec!["all"]);
    let plan = F::assess(&r.state, &Params {}, t("RDS-023", "nightly-export")).plan;
    F::apply(&ctx, "nightly-export", &r.state, &plan.changes).await.unwrap();
    assert_eq!((describe.num_calls(), attrs.num_calls(), modify.num_calls()), (1, 1, 1));
}

#[tokio::test]
async fn rds_apply_of_the_undo_sends_one_modify_adding_all_and_nothing_else() {
    type F = PublicShare<DbSnapshot>;
    let expected = ModifyDbSnapshotAttributeInput::builder()
        .db_snapshot_identifier("nightly-export")
        .attribute_name("restore")
        .values_to_add("all")
        .build()
        .unwrap();
    let modify = mock!(aws_sdk_rds::Client::modify_db_snapshot_attribute)
        .match_requests(move |r| *r == expected)
        .then_output(|| ModifyDbSnapshotAttributeOutput::builder().build());
    let mocks = MockResponseInterceptor::new()
        .rule_mode(RuleMode::Sequential)
        .with_rule(&modify);
    let ctx = rds_ctx(mocks, F::READS, F::WRITES);
    let fixed = restore_shares(&[attr(&["111122223333"])]);
    F::apply(&ctx, "nightly-export", &fixed, &[Change::AddPublic])
        .await
        .unwrap();
    assert_eq!(modify.num_calls(), 1);
}

#[tokio::test]
async fn a_missing_rds_snapshot_reads_as_none() {
    type F = PublicShare<DbSnapshot>;
    let gone = mock!(aws_sdk_rds::Client::describe_db_snapshots).then_error(|| {
        aws_sdk_rds::operation::describe_db_snapshots::DescribeDBSnapshotsError::DbSnapshotNotFoundFault(
            aws_sdk_rds::types::error::DbSnapshotNotFoundFault::builder()
                .meta(
                    aws_smithy_types::error::ErrorMetadata::builder()
                        .code("DBSnapshotNotFound")
                        .build(),
                )
                .build(),
        )
    });
    let mocks = MockResponseInterceptor::new()
        .rule_mode(RuleMode::Sequential)
        .with_rule(&gone);
    let ctx = rds_ctx(mocks, F::READS, &[]);
    assert!(F::read(&ctx, "nightly-export", Tags::Read).await.unwrap().is_none());
}
