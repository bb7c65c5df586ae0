//! RDS-023: a manual RDS DB snapshot is public (its `restore` attribute holds `all`), the RDS kind
//! of [`super::PublicShare`].
//!
//! What a fix changes, never touches and how it is undone: [`DbSnapshot::DOC`] (RULES.md is
//! generated from it).
//!
//! Aurora cluster snapshots are not covered (they have their own calls): a cluster snapshot's
//! identifier reads as not found here, and nothing is changed.

use aws_sdk_rds::types::DbSnapshotAttribute;

use super::{ShareKind, Shared, Shares};
use crate::aws::Ctx;
use crate::error::Error;
use crate::families::helpers::family::FamilyDoc;
use crate::families::helpers::kit::gone_if;
use crate::families::rds_instance::rds_tags;
use crate::ids;

const DESCRIBE_DB_SNAPSHOTS: &str = "rds:DescribeDBSnapshots";
const DESCRIBE_DB_SNAPSHOT_ATTRIBUTES: &str = "rds:DescribeDBSnapshotAttributes";
const MODIFY_DB_SNAPSHOT_ATTRIBUTE: &str = "rds:ModifyDBSnapshotAttribute";

/// The snapshot attribute that lists who may restore it (`all` = everyone).
pub const RESTORE: &str = "restore";

/// `rds-public-snapshot` in the catalog.
pub struct DbSnapshot;

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

impl ShareKind for DbSnapshot {
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
    const WHAT: &'static str = "DB snapshot";
    const PERMISSION: &'static str = RESTORE;

    fn valid_id(id: &str) -> bool {
        ids::is_db_identifier(id, 255)
    }

    async fn shares(ctx: &Ctx, snapshot: &str) -> Result<Option<Shared>, Error> {
        let rds = crate::sdk_client!(ctx, aws_sdk_rds);
        let out = rds
            .describe_db_snapshots()
            .db_snapshot_identifier(snapshot)
            .send()
            .await;
        let out = out.map_err(|e| Error::from_sdk(DESCRIBE_DB_SNAPSHOTS, e));
        let Some(out) = gone_if(out, &["DBSnapshotNotFound"])? else {
            return Ok(None);
        };
        let Some(found) = out
            .db_snapshots()
            .iter()
            .find(|s| s.db_snapshot_identifier() == Some(snapshot))
        else {
            return Ok(None);
        };
        let attrs = rds
            .describe_db_snapshot_attributes()
            .db_snapshot_identifier(snapshot)
            .send()
            .await
            .map_err(|e| Error::from_sdk(DESCRIBE_DB_SNAPSHOT_ATTRIBUTES, e))?;
        let shares = restore_shares(
            attrs
                .db_snapshot_attributes_result()
                .map(|r| r.db_snapshot_attributes())
                .unwrap_or_default(),
        );
        Ok(Some((shares, rds_tags(found.tag_list()))))
    }

    /// Adds or removes the value `all` of the `restore` attribute, and nothing else.
    async fn set_public(ctx: &Ctx, snapshot: &str, public: bool) -> Result<(), Error> {
        let modify = crate::sdk_client!(ctx, aws_sdk_rds)
            .modify_db_snapshot_attribute()
            .db_snapshot_identifier(snapshot)
            .attribute_name(RESTORE);
        let modify = if public {
            modify.values_to_add("all")
        } else {
            modify.values_to_remove("all")
        };
        modify
            .send()
            .await
            .map(|_| ())
            .map_err(|e| Error::from_sdk(MODIFY_DB_SNAPSHOT_ATTRIBUTE, e))
    }
}
