//! What the "shared with everyone" families have in common (EC2-019 AMIs, EBS-009 snapshots):
//! a permission list where the group `all` means public. The fix removes exactly that entry;
//! accounts and organizations it is shared with stay.

use serde::{Deserialize, Serialize};

use crate::plan::{Describe, Plan};
use crate::rules::family::{Assessment, Target};

/// Who a resource is shared with, as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shares {
    /// Groups (`all` = public).
    pub groups: Vec<String>,
    /// Account ids, organization and OU ARNs.
    pub accounts: Vec<String>,
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

/// EC2 tags as a map (for exclusion tags).
pub fn ec2_tags(tags: &[aws_sdk_ec2::types::Tag]) -> std::collections::BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string())))
        .collect()
}

pub fn is_public(s: &Shares) -> bool {
    s.groups.iter().any(|g| g == "all")
}

/// The plan for `what` (`AMI`, `snapshot`): remove `all`, keep every account.
pub fn assess(s: &Shares, what: &str, permission: &str, t: Target<'_>) -> Assessment<Change> {
    let public = is_public(s);
    let summary = if public {
        format!("stop sharing {what} {} with everyone", t.resource)
    } else {
        format!("{what} {} is not public: nothing to change", t.resource)
    };
    let mut plan = Plan::new(
        t.rule_id,
        t.resource,
        t.region,
        summary,
        if public { vec![Change::RemovePublic] } else { Vec::new() },
    );
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

pub fn simulate(s: &Shares, changes: &[Change]) -> Shares {
    let mut out = s.clone();
    for c in changes {
        match c {
            Change::RemovePublic => out.groups.retain(|g| g != "all"),
            Change::AddPublic if !is_public(&out) => out.groups.push("all".into()),
            Change::AddPublic => {}
        }
    }
    out
}

/// The undo: the group `all` back when `before` had it and `live` lacks it; nothing else (the
/// fix only ever removed that group: the accounts were never touched, so they are not either).
pub fn revert(live: &Shares, before: &Shares) -> Vec<Change> {
    if is_public(before) && !is_public(live) {
        vec![Change::AddPublic]
    } else {
        Vec::new()
    }
}

pub fn diff(before: &Shares, after: &Shares) -> Vec<String> {
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
mod tests {
    use super::*;

    fn t() -> Target<'static> {
        Target {
            rule_id: "EBS-009",
            resource: "snap-0123abcd",
            region: "us-east-1",
        }
    }

    #[test]
    fn only_the_group_all_goes_and_shared_accounts_stay() {
        let s = Shares {
            groups: vec!["all".into()],
            accounts: vec!["111122223333".into()],
        };
        let a = assess(&s, "snapshot", "createVolumePermission", t());
        assert_eq!(a.plan.changes, vec![Change::RemovePublic]);
        assert_eq!(a.plan.untouched, vec!["createVolumePermission for 111122223333"]);
        let after = simulate(&s, &a.plan.changes);
        assert!(!is_public(&after));
        assert_eq!(after.accounts, s.accounts);
        assert_eq!(diff(&s, &after), vec!["removed share with group all"]);
    }

    #[test]
    fn revert_adds_back_only_the_group_all_and_an_unchanged_share_needs_nothing() {
        let before = Shares {
            groups: vec!["all".into()],
            accounts: vec!["111122223333".into()],
        };
        let fixed = simulate(&before, &assess(&before, "AMI", "launch permission", t()).plan.changes);
        let undo = revert(&fixed, &before);
        assert_eq!(undo, vec![Change::AddPublic]);
        assert_eq!(simulate(&fixed, &undo), before);
        assert!(diff(&simulate(&fixed, &undo), &before).is_empty());
        assert!(revert(&before, &before).is_empty());
        assert!(revert(&fixed, &fixed).is_empty());
        assert_eq!(
            Change::AddPublic.describe(),
            "share with everyone again (add the group all back)"
        );
    }

    #[test]
    fn a_private_resource_has_an_empty_plan() {
        let s = Shares {
            groups: vec![],
            accounts: vec!["111122223333".into()],
        };
        assert!(assess(&s, "snapshot", "createVolumePermission", t()).plan.is_empty());
    }
}
