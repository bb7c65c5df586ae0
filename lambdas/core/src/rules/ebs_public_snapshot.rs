//! EBS-009: an EBS snapshot is shared with everyone (createVolumePermission group `all`).
//!
//! Changes: `ModifySnapshotAttribute` removing the `all` group, nothing else.
//! Never touches: accounts it is shared with, the snapshot itself, its volume.
//! Undo: `ModifySnapshotAttribute` adding the `all` group back (exactly what the fix removed;
//! the accounts it is shared with were never changed and are not touched).

use aws_sdk_ec2::types::{OperationType, SnapshotAttributeName};
use serde::Deserialize;

use crate::aws::Ctx;
use crate::error::Error;
use crate::rules::family::{Assessment, FamilyDoc, Read, RuleFamily, Tags, Target};
use crate::rules::ids;
use crate::rules::shares::{self, Change, Shares};

/// The family: `ebs-public-snapshot` in the catalog.
pub struct EbsPublicSnapshot;

const DESCRIBE_SNAPSHOTS: &str = "ec2:DescribeSnapshots";
const DESCRIBE_SNAPSHOT_ATTRIBUTE: &str = "ec2:DescribeSnapshotAttribute";
const MODIFY_SNAPSHOT_ATTRIBUTE: &str = "ec2:ModifySnapshotAttribute";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {}

impl RuleFamily for EbsPublicSnapshot {
    const NAME: &'static str = "ebs-public-snapshot";
    const DOC: FamilyDoc = FamilyDoc {
        changes: "remove the createVolumePermission of the group all",
        never: "accounts it is shared with, the snapshot and its volume",
        undo: "ModifySnapshotAttribute adding the createVolumePermission of the group all back (what the fix removed); the shared accounts are left as they are",
        tested: "local stack",
    };
    const RESOURCE: &'static str = "EBS snapshot id";
    const READS: &'static [&'static str] = &[DESCRIBE_SNAPSHOTS, DESCRIBE_SNAPSHOT_ATTRIBUTE];
    const WRITES: &'static [&'static str] = &[MODIFY_SNAPSHOT_ATTRIBUTE];
    type Params = Params;
    type State = Shares;
    type Change = Change;

    fn valid_id(id: &str) -> bool {
        ids::is_ec2_id(id, "snap")
    }

    async fn read(ctx: &Ctx, snapshot: &str, tags: Tags) -> Result<Option<Read<Shares>>, Error> {
        let ec2 = ctx.ec2();
        let snapshots = match ec2.describe_snapshots().snapshot_ids(snapshot).send().await {
            Ok(out) => out,
            Err(e) => {
                let err = Error::from_sdk(DESCRIBE_SNAPSHOTS, e);
                return if err.aws_code() == Some("InvalidSnapshot.NotFound") {
                    Ok(None)
                } else {
                    Err(err)
                };
            }
        };
        let Some(found) = snapshots.snapshots().iter().find(|s| s.snapshot_id() == Some(snapshot)) else {
            return Ok(None);
        };
        let live_tags = shares::ec2_tags(found.tags());
        let out = ec2
            .describe_snapshot_attribute()
            .snapshot_id(snapshot)
            .attribute(SnapshotAttributeName::CreateVolumePermission)
            .send()
            .await
            .map_err(|e| Error::from_sdk(DESCRIBE_SNAPSHOT_ATTRIBUTE, e))?;
        let perms = out.create_volume_permissions();
        Ok(Some(Read {
            state: Shares {
                groups: perms
                    .iter()
                    .filter_map(|p| p.group())
                    .map(|g| g.as_str().to_string())
                    .collect(),
                accounts: perms.iter().filter_map(|p| p.user_id()).map(str::to_string).collect(),
            },
            tags: if tags == Tags::Read {
                live_tags
            } else {
                Default::default()
            },
        }))
    }

    fn assess(s: &Shares, _: &Params, t: Target<'_>) -> Assessment<Change> {
        shares::assess(s, "snapshot", "createVolumePermission", t)
    }

    async fn apply(ctx: &Ctx, snapshot: &str, _: &Shares, changes: &[Change]) -> Result<(), Error> {
        for c in changes {
            match c {
                Change::RemovePublic => unshare(&ctx.ec2(), snapshot).await?,
                Change::AddPublic => share(&ctx.ec2(), snapshot).await?,
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

/// Removes the `all` group (the `OperationType` + `GroupNames` form, which AWS and moto both honour).
pub async fn unshare(ec2: &aws_sdk_ec2::Client, snapshot: &str) -> Result<(), Error> {
    ec2.modify_snapshot_attribute()
        .snapshot_id(snapshot)
        .attribute(SnapshotAttributeName::CreateVolumePermission)
        .operation_type(OperationType::Remove)
        .group_names("all")
        .send()
        .await
        .map(|_| ())
        .map_err(|e| Error::from_sdk(MODIFY_SNAPSHOT_ATTRIBUTE, e))
}

/// Adds the `all` group back (an undo; idempotent: adding a present group succeeds).
pub async fn share(ec2: &aws_sdk_ec2::Client, snapshot: &str) -> Result<(), Error> {
    ec2.modify_snapshot_attribute()
        .snapshot_id(snapshot)
        .attribute(SnapshotAttributeName::CreateVolumePermission)
        .operation_type(OperationType::Add)
        .group_names("all")
        .send()
        .await
        .map(|_| ())
        .map_err(|e| Error::from_sdk(MODIFY_SNAPSHOT_ATTRIBUTE, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ec2::operation::modify_snapshot_attribute::ModifySnapshotAttributeOutput;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    #[test]
    fn fix_then_revert_is_the_before_state_and_an_unchanged_one_needs_nothing() {
        let before = Shares {
            groups: vec!["all".into()],
            accounts: vec!["111122223333".into()],
        };
        let t = Target {
            rule_id: "EBS-009",
            resource: "snap-0123abcd",
            region: "us-east-1",
        };
        let fixed =
            EbsPublicSnapshot::simulate(&before, &EbsPublicSnapshot::assess(&before, &Params {}, t).plan.changes);
        assert_ne!(fixed, before);
        let undo = EbsPublicSnapshot::revert(&fixed, &before).unwrap();
        assert_eq!(undo, vec![Change::AddPublic]);
        assert_eq!(EbsPublicSnapshot::simulate(&fixed, &undo), before);
        assert!(EbsPublicSnapshot::revert(&before, &before).unwrap().is_empty());
    }

    #[tokio::test]
    async fn unshare_removes_only_the_group_all() {
        let modify = mock!(aws_sdk_ec2::Client::modify_snapshot_attribute)
            .match_requests(|r| {
                r.snapshot_id() == Some("snap-0123abcd")
                    && r.operation_type() == Some(&OperationType::Remove)
                    && r.group_names() == ["all".to_string()]
                    && r.user_ids().is_empty()
            })
            .then_output(|| ModifySnapshotAttributeOutput::builder().build());
        let ec2 = mock_client!(aws_sdk_ec2, RuleMode::Sequential, [&modify]);
        unshare(&ec2, "snap-0123abcd").await.unwrap();
        assert_eq!(modify.num_calls(), 1);
    }

    #[tokio::test]
    async fn share_adds_back_only_the_group_all() {
        let modify = mock!(aws_sdk_ec2::Client::modify_snapshot_attribute)
            .match_requests(|r| {
                r.snapshot_id() == Some("snap-0123abcd")
                    && r.operation_type() == Some(&OperationType::Add)
                    && r.group_names() == ["all".to_string()]
                    && r.user_ids().is_empty()
            })
            .then_output(|| ModifySnapshotAttributeOutput::builder().build());
        let ec2 = mock_client!(aws_sdk_ec2, RuleMode::Sequential, [&modify]);
        share(&ec2, "snap-0123abcd").await.unwrap();
        assert_eq!(modify.num_calls(), 1);
    }
}
