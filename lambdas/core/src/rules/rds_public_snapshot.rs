//! RDS-023: a manual RDS DB snapshot is public (its `restore` attribute holds `all`).
//!
//! Changes: `ModifyDBSnapshotAttribute` with `AttributeName=restore` and `ValuesToRemove=["all"]`,
//! nothing else.
//! Never touches: the accounts it is shared with, the snapshot itself, its instance.
//! Undo: `ModifyDBSnapshotAttribute` with `ValuesToAdd=["all"]` (exactly the value the fix
//! removed; the account values were never changed and are not touched).
//!
//! Aurora cluster snapshots are not covered (they have their own calls): a cluster snapshot's
//! identifier reads as not found here, and nothing is changed.

use aws_sdk_rds::types::DbSnapshotAttribute;
use serde::Deserialize;

use crate::aws::Ctx;
use crate::error::Error;
use crate::rules::family::{Assessment, FamilyDoc, Read, RuleFamily, Tags, Target};
use crate::rules::ids;
use crate::rules::rds_instance::rds_tags;
use crate::rules::shares::{self, Change, Shares};

/// The family: `rds-public-snapshot` in the catalog.
pub struct RdsPublicSnapshot;

const DESCRIBE_DB_SNAPSHOTS: &str = "rds:DescribeDBSnapshots";
const DESCRIBE_DB_SNAPSHOT_ATTRIBUTES: &str = "rds:DescribeDBSnapshotAttributes";
const MODIFY_DB_SNAPSHOT_ATTRIBUTE: &str = "rds:ModifyDBSnapshotAttribute";

/// The snapshot attribute that lists who may restore it (`all` = everyone).
const RESTORE: &str = "restore";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {}

/// Who may restore the snapshot, from its attributes: `all` is the public group, the rest accounts.
pub fn restore_shares(attributes: &[DbSnapshotAttribute]) -> Shares {
    let values: Vec<&String> = attributes
        .iter()
        .filter(|a| a.attribute_name() == Some(RESTORE))
        .flat_map(|a| a.attribute_values())
        .collect();
    Shares {
        groups: values.iter().filter(|v| **v == "all").map(|v| v.to_string()).collect(),
        accounts: values.iter().filter(|v| **v != "all").map(|v| v.to_string()).collect(),
    }
}

impl RuleFamily for RdsPublicSnapshot {
    const NAME: &'static str = "rds-public-snapshot";
    const DOC: FamilyDoc = FamilyDoc {
        changes: "ModifyDBSnapshotAttribute restore: remove the value all",
        never: "accounts it is shared with, the snapshot and its instance",
        undo: "ModifyDBSnapshotAttribute restore: add the value all back (what the fix removed); the account values are left as they are",
        tested: "local stack",
    };
    const RESOURCE: &'static str = "RDS DB snapshot identifier";
    const READS: &'static [&'static str] = &[DESCRIBE_DB_SNAPSHOTS, DESCRIBE_DB_SNAPSHOT_ATTRIBUTES];
    const WRITES: &'static [&'static str] = &[MODIFY_DB_SNAPSHOT_ATTRIBUTE];
    type Params = Params;
    type State = Shares;
    type Change = Change;

    fn valid_id(id: &str) -> bool {
        ids::is_db_identifier(id, 255)
    }

    async fn read(ctx: &Ctx, snapshot: &str, tags: Tags) -> Result<Option<Read<Shares>>, Error> {
        let rds = crate::sdk_client!(ctx, aws_sdk_rds);
        let out = match rds
            .describe_db_snapshots()
            .db_snapshot_identifier(snapshot)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => {
                let err = Error::from_sdk(DESCRIBE_DB_SNAPSHOTS, e);
                return if err.aws_code() == Some("DBSnapshotNotFound") {
                    Ok(None)
                } else {
                    Err(err)
                };
            }
        };
        let Some(found) = out
            .db_snapshots()
            .iter()
            .find(|s| s.db_snapshot_identifier() == Some(snapshot))
        else {
            return Ok(None);
        };
        let live_tags = rds_tags(found.tag_list());
        let attrs = rds
            .describe_db_snapshot_attributes()
            .db_snapshot_identifier(snapshot)
            .send()
            .await
            .map_err(|e| Error::from_sdk(DESCRIBE_DB_SNAPSHOT_ATTRIBUTES, e))?;
        Ok(Some(Read {
            state: restore_shares(
                attrs
                    .db_snapshot_attributes_result()
                    .map(|r| r.db_snapshot_attributes())
                    .unwrap_or_default(),
            ),
            tags: if tags == Tags::Read {
                live_tags
            } else {
                Default::default()
            },
        }))
    }

    fn assess(s: &Shares, _: &Params, t: Target<'_>) -> Assessment<Change> {
        shares::assess(s, "DB snapshot", RESTORE, t)
    }

    async fn apply(ctx: &Ctx, snapshot: &str, _: &Shares, changes: &[Change]) -> Result<(), Error> {
        for c in changes {
            match c {
                Change::RemovePublic => unshare(&crate::sdk_client!(ctx, aws_sdk_rds), snapshot).await?,
                Change::AddPublic => share(&crate::sdk_client!(ctx, aws_sdk_rds), snapshot).await?,
            }
        }
        Ok(())
    }

    fn simulate(s: &Shares, changes: &[Change]) -> Shares {
        shares::simulate(s, changes)
    }

    fn diff(before: &Shares, after: &Shares) -> Vec<String> {
        shares::diff(before, after)
    }

    fn revert(live: &Shares, before: &Shares) -> Option<Vec<Change>> {
        Some(shares::revert(live, before))
    }
}

/// Removes the value `all` from the `restore` attribute, and nothing else.
pub async fn unshare(rds: &aws_sdk_rds::Client, snapshot: &str) -> Result<(), Error> {
    rds.modify_db_snapshot_attribute()
        .db_snapshot_identifier(snapshot)
        .attribute_name(RESTORE)
        .values_to_remove("all")
        .send()
        .await
        .map(|_| ())
        .map_err(|e| Error::from_sdk(MODIFY_DB_SNAPSHOT_ATTRIBUTE, e))
}

/// Adds the value `all` back to the `restore` attribute (an undo), and nothing else.
pub async fn share(rds: &aws_sdk_rds::Client, snapshot: &str) -> Result<(), Error> {
    rds.modify_db_snapshot_attribute()
        .db_snapshot_identifier(snapshot)
        .attribute_name(RESTORE)
        .values_to_add("all")
        .send()
        .await
        .map(|_| ())
        .map_err(|e| Error::from_sdk(MODIFY_DB_SNAPSHOT_ATTRIBUTE, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::rds_instance::mock_ctx;
    use aws_sdk_rds::operation::describe_db_snapshot_attributes::DescribeDbSnapshotAttributesOutput;
    use aws_sdk_rds::operation::describe_db_snapshots::DescribeDbSnapshotsOutput;
    use aws_sdk_rds::operation::modify_db_snapshot_attribute::{
        ModifyDbSnapshotAttributeInput, ModifyDbSnapshotAttributeOutput,
    };
    use aws_sdk_rds::types::{DbSnapshot, DbSnapshotAttributesResult};
    use aws_smithy_mocks::{mock, MockResponseInterceptor, RuleMode};

    fn t() -> Target<'static> {
        Target {
            rule_id: "RDS-023",
            resource: "nightly-export",
            region: "us-east-1",
        }
    }

    fn attr(values: &[&str]) -> DbSnapshotAttribute {
        DbSnapshotAttribute::builder()
            .attribute_name(RESTORE)
            .set_attribute_values(Some(values.iter().map(|v| v.to_string()).collect()))
            .build()
    }

    #[test]
    fn only_all_is_removed_and_the_shared_accounts_stay() {
        let s = restore_shares(&[attr(&["all", "111122223333"])]);
        let a = RdsPublicSnapshot::assess(&s, &Params {}, t());
        assert_eq!(a.plan.changes, vec![Change::RemovePublic]);
        assert_eq!(a.plan.removes, vec!["restore for everyone"]);
        assert_eq!(a.plan.untouched, vec!["restore for 111122223333"]);
        let after = RdsPublicSnapshot::simulate(&s, &a.plan.changes);
        assert_eq!(after.accounts, vec!["111122223333"]);
        assert!(RdsPublicSnapshot::assess(&after, &Params {}, t()).plan.is_empty());
        let private = restore_shares(&[attr(&["111122223333"])]);
        let a = RdsPublicSnapshot::assess(&private, &Params {}, t());
        assert!(a.plan.is_empty() && a.offending.is_empty());
    }

    #[tokio::test]
    async fn read_then_apply_sends_exactly_one_modify_removing_all() {
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
                    .db_snapshots(DbSnapshot::builder().db_snapshot_identifier("nightly-export").build())
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
        let ctx = mock_ctx(mocks, RdsPublicSnapshot::READS, RdsPublicSnapshot::WRITES);
        let r = RdsPublicSnapshot::read(&ctx, "nightly-export", Tags::Skip)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.state.groups, vec!["all"]);
        let plan = RdsPublicSnapshot::assess(&r.state, &Params {}, t()).plan;
        RdsPublicSnapshot::apply(&ctx, "nightly-export", &r.state, &plan.changes)
            .await
            .unwrap();
        assert_eq!((describe.num_calls(), attrs.num_calls(), modify.num_calls()), (1, 1, 1));
    }

    #[test]
    fn revert_adds_back_only_all_and_an_unchanged_snapshot_needs_nothing() {
        let before = restore_shares(&[attr(&["all", "111122223333"])]);
        let fixed = RdsPublicSnapshot::simulate(
            &before,
            &RdsPublicSnapshot::assess(&before, &Params {}, t()).plan.changes,
        );
        let undo = RdsPublicSnapshot::revert(&fixed, &before).unwrap();
        assert_eq!(undo, vec![Change::AddPublic]);
        assert_eq!(RdsPublicSnapshot::simulate(&fixed, &undo), before);
        assert!(RdsPublicSnapshot::revert(&before, &before).unwrap().is_empty());
    }

    #[tokio::test]
    async fn apply_of_the_undo_sends_one_modify_adding_all_and_nothing_else() {
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
        let ctx = mock_ctx(mocks, RdsPublicSnapshot::READS, RdsPublicSnapshot::WRITES);
        let fixed = restore_shares(&[attr(&["111122223333"])]);
        RdsPublicSnapshot::apply(&ctx, "nightly-export", &fixed, &[Change::AddPublic])
            .await
            .unwrap();
        assert_eq!(modify.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_missing_snapshot_reads_as_none() {
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
        let ctx = mock_ctx(mocks, RdsPublicSnapshot::READS, &[]);
        assert!(RdsPublicSnapshot::read(&ctx, "nightly-export", Tags::Read)
            .await
            .unwrap()
            .is_none());
    }
}
