//! One family for every "shared with everyone" rule: EC2-019 (an AMI's launch permission), EBS-009
//! (a snapshot's createVolumePermission) and RDS-023 (a DB snapshot's `restore` attribute). Each is
//! a permission list in which the group `all` means public. The fix removes exactly that entry;
//! the accounts and organizations it is shared with stay. The undo adds `all` back, and nothing
//! else (the accounts were never touched, so they are not either).
//!
//! [`PublicShare`] is the family, once; a resource kind ([`ShareKind`]: [`ec2_public_ami::Ami`],
//! [`ebs_public_snapshot::EbsSnapshot`], [`rds_public_snapshot::DbSnapshot`]) says only how to read who it is shared with and how
//! to add or remove `all`. Each kind is its own catalog family (`ec2-public-ami`, ...), so recorded
//! states and the catalog are unchanged.

pub mod ebs_public_snapshot;
pub mod ec2_public_ami;
pub mod rds_public_snapshot;

use std::collections::BTreeMap;
use std::future::Future;
use std::marker::PhantomData;

use serde::{Deserialize, Serialize};

use crate::aws::Ctx;
use crate::error::Error;
use crate::families::helpers::family::{Assessment, FamilyDoc, NoParams, Read, RuleFamily, Tags, Target};
use crate::families::helpers::kit;
use crate::plan::Describe;

/// Who a resource is shared with, as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shares {
    /// Groups (`all` = public).
    pub groups: Vec<String>,
    /// Account ids, organization and OU ARNs.
    pub accounts: Vec<String>,
}

impl Shares {
    pub fn is_public(&self) -> bool {
        self.groups.iter().any(|g| g == "all")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action")]
pub enum Change {
    /// Remove the `all` group: the resource is no longer public.
    #[serde(rename = "ec2:RemovePublicShare")]
    RemovePublic,
    /// Add the `all` group back (an undo, from the recorded before-state): public again.
    #[serde(rename = "ec2:AddPublicShare")]
    AddPublic,
}

impl Describe for Change {
    fn describe(&self) -> String {
        match self {
            Change::RemovePublic => "remove the share with everyone (group all)".into(),
            Change::AddPublic => "share with everyone again (add the group all back)".into(),
        }
    }
}

/// Who a resource is shared with, and its live tags, as read.
pub type Shared = (Shares, BTreeMap<String, String>);

/// A kind of resource that can be shared with everyone: its catalog family's declarations, and
/// the two calls that differ between kinds.
pub trait ShareKind: Send + Sync + 'static {
    const NAME: &'static str;
    const DOC: FamilyDoc;
    const RESOURCE: &'static str;
    const READS: &'static [&'static str];
    const WRITES: &'static [&'static str];
    /// How a plan names the resource (`AMI`) and its permission (`launch permission`).
    const WHAT: &'static str;
    const PERMISSION: &'static str;

    fn valid_id(id: &str) -> bool;

    /// Who `id` is shared with, and its live tags; `None` when it does not exist.
    fn shares(ctx: &Ctx, id: &str) -> impl Future<Output = Result<Option<Shared>, Error>> + Send;

    /// Adds (`public`) or removes the group `all`, and nothing else. Idempotent.
    fn set_public(ctx: &Ctx, id: &str, public: bool) -> impl Future<Output = Result<(), Error>> + Send;
}

/// The family of a [`ShareKind`].
pub struct PublicShare<K>(PhantomData<K>);

/// No parameters: every rule of these families removes `all`.
/// Its rules take no parameters.
pub type Params = NoParams;

impl<K: ShareKind> RuleFamily for PublicShare<K> {
    const NAME: &'static str = K::NAME;
    const DOC: FamilyDoc = K::DOC;
    const RESOURCE: &'static str = K::RESOURCE;
    const READS: &'static [&'static str] = K::READS;
    const WRITES: &'static [&'static str] = K::WRITES;
    type Params = Params;
    type State = Shares;
    type Change = Change;

    fn valid_id(id: &str) -> bool {
        K::valid_id(id)
    }

    async fn read(ctx: &Ctx, id: &str, tags: Tags) -> Result<Option<Read<Shares>>, Error> {
        Ok(K::shares(ctx, id).await?.map(|(s, live)| kit::read(s, live, tags)))
    }

    fn assess(s: &Shares, _: &Params, t: Target<'_>) -> Assessment<Change> {
        assess(s, K::WHAT, K::PERMISSION, t)
    }

    async fn apply(ctx: &Ctx, id: &str, _: &Shares, changes: &[Change]) -> Result<(), Error> {
        for c in changes {
            K::set_public(ctx, id, *c == Change::AddPublic).await?;
        }
        Ok(())
    }

    fn simulate(s: &Shares, changes: &[Change]) -> Shares {
        simulate(s, changes)
    }

    fn diff(before: &Shares, after: &Shares) -> Vec<String> {
        diff(before, after)
    }

    fn revert(live: &Shares, before: &Shares) -> Option<Vec<Change>> {
        Some(revert(live, before))
    }
}

/// The plan for `what` (`AMI`, `snapshot`): remove `all`, keep every account.
fn assess(s: &Shares, what: &str, permission: &str, t: Target<'_>) -> Assessment<Change> {
    let public = s.is_public();
    let summary = if public {
        format!("stop sharing {what} {} with everyone", t.resource)
    } else {
        format!("{what} {} is not public: nothing to change", t.resource)
    };
    let mut plan = t.plan(summary, if public { vec![Change::RemovePublic] } else { Vec::new() });
    plan.untouched = s.accounts.iter().map(|a| format!("{permission} for {a}")).collect();
    if public {
        plan.removes = vec![format!("{permission} for everyone")];
    }
    Assessment {
        offending: if public {
            vec![format!("{permission} for everyone (group all)")]
        } else {
            Vec::new()
        },
        plan,
    }
}

fn simulate(s: &Shares, changes: &[Change]) -> Shares {
    let mut out = s.clone();
    for c in changes {
        match c {
            Change::RemovePublic => out.groups.retain(|g| g != "all"),
            Change::AddPublic if !out.is_public() => out.groups.push("all".into()),
            Change::AddPublic => {}
        }
    }
    out
}

/// The undo: the group `all` back when `before` had it and `live` lacks it; nothing else.
fn revert(live: &Shares, before: &Shares) -> Vec<Change> {
    if before.is_public() && !live.is_public() {
        vec![Change::AddPublic]
    } else {
        Vec::new()
    }
}

fn diff(before: &Shares, after: &Shares) -> Vec<String> {
    let mut out = Vec::new();
    for g in before.groups.iter().filter(|g| !after.groups.contains(g)) {
        out.push(format!("removed share with group {g}"));
    }
    for g in after.groups.iter().filter(|g| !before.groups.contains(g)) {
        out.push(format!("added share with group {g}"));
    }
    for a in before.accounts.iter().filter(|a| !after.accounts.contains(a)) {
        out.push(format!("removed share with {a}"));
    }
    for a in after.accounts.iter().filter(|a| !before.accounts.contains(a)) {
        out.push(format!("added share with {a}"));
    }
    out
}

#[cfg(test)]
mod tests;
