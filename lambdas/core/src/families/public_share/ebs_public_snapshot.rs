//! EBS-009: a snapshot's createVolumePermission for the group `all`, one kind of
//! [`super::PublicShare`].
//!
//! What a fix changes, never touches and how it is undone: [`EbsSnapshot::DOC`] (RULES.md is
//! generated from it): `ModifySnapshotAttribute` removing, or adding back, the group `all`.

use aws_sdk_ec2::types::{OperationType, SnapshotAttributeName};

use super::{ShareKind, Shared, Shares};
use crate::aws::Ctx;
use crate::error::Error;
use crate::families::helpers::family::FamilyDoc;
use crate::families::helpers::kit::{ec2_tags, gone_if};
use crate::ids;

const DESCRIBE_SNAPSHOTS: &str = "ec2:DescribeSnapshots";
const DESCRIBE_SNAPSHOT_ATTRIBUTE: &str = "ec2:DescribeSnapshotAttribute";
const MODIFY_SNAPSHOT_ATTRIBUTE: &str = "ec2:ModifySnapshotAttribute";

/// `ebs-public-snapshot` in the catalog.
pub struct EbsSnapshot;

impl ShareKind for EbsSnapshot {
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
    const WHAT: &'static str = "snapshot";
    const PERMISSION: &'static str = "createVolumePermission";

    fn valid_id(id: &str) -> bool {
        ids::is_ec2_id(id, "snap")
    }

    async fn shares(ctx: &Ctx, snapshot: &str) -> Result<Option<Shared>, Error> {
        let ec2 = ctx.ec2();
        let snapshots = ec2.describe_snapshots().snapshot_ids(snapshot).send().await;
        let snapshots = snapshots.map_err(|e| Error::from_sdk(DESCRIBE_SNAPSHOTS, e));
        let Some(snapshots) = gone_if(snapshots, &["InvalidSnapshot.NotFound"])? else {
            return Ok(None);
        };
        let Some(found) = snapshots.snapshots().iter().find(|s| s.snapshot_id() == Some(snapshot)) else {
            return Ok(None);
        };
        let out = ec2
            .describe_snapshot_attribute()
            .snapshot_id(snapshot)
            .attribute(SnapshotAttributeName::CreateVolumePermission)
            .send()
            .await
            .map_err(|e| Error::from_sdk(DESCRIBE_SNAPSHOT_ATTRIBUTE, e))?;
        let perms = out.create_volume_permissions();
        let shares = Shares {
            groups: perms
                .iter()
                .filter_map(|p| p.group())
                .map(|g| g.as_str().to_string())
                .collect(),
            accounts: perms.iter().filter_map(|p| p.user_id()).map(str::to_string).collect(),
        };
        Ok(Some((shares, ec2_tags(found.tags()))))
    }

    /// Adds or removes the `all` group (the `OperationType` + `GroupNames` form, which AWS and moto
    /// both honour; idempotent either way).
    async fn set_public(ctx: &Ctx, snapshot: &str, public: bool) -> Result<(), Error> {
        ctx.ec2()
            .modify_snapshot_attribute()
            .snapshot_id(snapshot)
            .attribute(SnapshotAttributeName::CreateVolumePermission)
            .operation_type(if public {
                OperationType::Add
            } else {
                OperationType::Remove
            })
            .group_names("all")
            .send()
            .await
            .map(|_| ())
            .map_err(|e| Error::from_sdk(MODIFY_SNAPSHOT_ATTRIBUTE, e))
    }
}
