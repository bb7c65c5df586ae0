//! EC2-019: an AMI is shared with everyone (launch permission group `all`).
//!
//! Changes: `ModifyImageAttribute` removing the `all` launch permission, nothing else.
//! Never touches: accounts and organizations it is shared with, the AMI itself, its snapshots.
//! Undo: `ModifyImageAttribute` adding the `all` launch permission back (exactly what the fix
//! removed; the accounts it is shared with were never changed and are not touched).

use aws_sdk_ec2::types::{ImageAttributeName, LaunchPermission, LaunchPermissionModifications, PermissionGroup};
use serde::Deserialize;

use crate::aws::Ctx;
use crate::error::Error;
use crate::rules::family::{Assessment, FamilyDoc, Read, RuleFamily, Tags, Target};
use crate::rules::ids;
use crate::rules::shares::{self, Change, Shares};

/// The family: `ec2-public-ami` in the catalog.
pub struct Ec2PublicAmi;

const DESCRIBE_IMAGES: &str = "ec2:DescribeImages";
const DESCRIBE_IMAGE_ATTRIBUTE: &str = "ec2:DescribeImageAttribute";
const MODIFY_IMAGE_ATTRIBUTE: &str = "ec2:ModifyImageAttribute";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {}

impl RuleFamily for Ec2PublicAmi {
    const NAME: &'static str = "ec2-public-ami";
    const DOC: FamilyDoc = FamilyDoc {
        changes: "remove the launch permission of the group all",
        never: "accounts and organizations it is shared with, the AMI and its snapshots",
        undo: "ModifyImageAttribute adding the launch permission of the group all back (what the fix removed); the shared accounts are left as they are",
        tested: "local stack",
    };
    const RESOURCE: &'static str = "AMI id";
    const READS: &'static [&'static str] = &[DESCRIBE_IMAGES, DESCRIBE_IMAGE_ATTRIBUTE];
    const WRITES: &'static [&'static str] = &[MODIFY_IMAGE_ATTRIBUTE];
    type Params = Params;
    type State = Shares;
    type Change = Change;

    fn valid_id(id: &str) -> bool {
        ids::is_ec2_id(id, "ami")
    }

    async fn read(ctx: &Ctx, image: &str, tags: Tags) -> Result<Option<Read<Shares>>, Error> {
        let ec2 = ctx.ec2();
        let images = match ec2.describe_images().image_ids(image).send().await {
            Ok(out) => out,
            Err(e) => {
                let err = Error::from_sdk(DESCRIBE_IMAGES, e);
                return match err.aws_code() {
                    Some("InvalidAMIID.NotFound") | Some("InvalidAMIID.Unavailable") => Ok(None),
                    _ => Err(err),
                };
            }
        };
        let Some(found) = images.images().iter().find(|i| i.image_id() == Some(image)) else {
            return Ok(None);
        };
        let live_tags = shares::ec2_tags(found.tags());
        let out = ec2
            .describe_image_attribute()
            .image_id(image)
            .attribute(ImageAttributeName::LaunchPermission)
            .send()
            .await
            .map_err(|e| Error::from_sdk(DESCRIBE_IMAGE_ATTRIBUTE, e))?;
        let perms = out.launch_permissions();
        Ok(Some(Read {
            state: Shares {
                groups: perms
                    .iter()
                    .filter_map(|p| p.group())
                    .map(|g| g.as_str().to_string())
                    .collect(),
                accounts: perms
                    .iter()
                    .filter_map(|p| p.user_id().or(p.organization_arn()).or(p.organizational_unit_arn()))
                    .map(str::to_string)
                    .collect(),
            },
            tags: if tags == Tags::Read {
                live_tags
            } else {
                Default::default()
            },
        }))
    }

    fn assess(s: &Shares, _: &Params, t: Target<'_>) -> Assessment<Change> {
        shares::assess(s, "AMI", "launch permission", t)
    }

    async fn apply(ctx: &Ctx, image: &str, _: &Shares, changes: &[Change]) -> Result<(), Error> {
        for c in changes {
            match c {
                Change::RemovePublic => unshare(&ctx.ec2(), image).await?,
                Change::AddPublic => share(&ctx.ec2(), image).await?,
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

/// Removes the `all` launch permission (idempotent: removing an absent permission succeeds).
pub async fn unshare(ec2: &aws_sdk_ec2::Client, image: &str) -> Result<(), Error> {
    ec2.modify_image_attribute()
        .image_id(image)
        .launch_permission(
            LaunchPermissionModifications::builder()
                .remove(LaunchPermission::builder().group(PermissionGroup::All).build())
                .build(),
        )
        .send()
        .await
        .map(|_| ())
        .map_err(|e| Error::from_sdk(MODIFY_IMAGE_ATTRIBUTE, e))
}

/// Adds the `all` launch permission back (an undo; idempotent: adding a present permission succeeds).
pub async fn share(ec2: &aws_sdk_ec2::Client, image: &str) -> Result<(), Error> {
    ec2.modify_image_attribute()
        .image_id(image)
        .launch_permission(
            LaunchPermissionModifications::builder()
                .add(LaunchPermission::builder().group(PermissionGroup::All).build())
                .build(),
        )
        .send()
        .await
        .map(|_| ())
        .map_err(|e| Error::from_sdk(MODIFY_IMAGE_ATTRIBUTE, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ec2::operation::modify_image_attribute::ModifyImageAttributeOutput;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    #[test]
    fn fix_then_revert_is_the_before_state_and_an_unchanged_one_needs_nothing() {
        let before = Shares {
            groups: vec!["all".into()],
            accounts: vec!["111122223333".into()],
        };
        let t = Target {
            rule_id: "EC2-019",
            resource: "ami-0123abcd",
            region: "us-east-1",
        };
        let fixed = Ec2PublicAmi::simulate(&before, &Ec2PublicAmi::assess(&before, &Params {}, t).plan.changes);
        assert_ne!(fixed, before);
        let undo = Ec2PublicAmi::revert(&fixed, &before).unwrap();
        assert_eq!(undo, vec![Change::AddPublic]);
        assert_eq!(Ec2PublicAmi::simulate(&fixed, &undo), before);
        assert!(Ec2PublicAmi::revert(&before, &before).unwrap().is_empty());
    }

    #[tokio::test]
    async fn unshare_removes_only_the_group_all() {
        let modify = mock!(aws_sdk_ec2::Client::modify_image_attribute)
            .match_requests(|r| {
                let m = r.launch_permission().unwrap();
                r.image_id() == Some("ami-0123abcd")
                    && m.add().is_empty()
                    && m.remove().len() == 1
                    && m.remove()[0].group() == Some(&PermissionGroup::All)
                    && m.remove()[0].user_id().is_none()
            })
            .then_output(|| ModifyImageAttributeOutput::builder().build());
        let ec2 = mock_client!(aws_sdk_ec2, RuleMode::Sequential, [&modify]);
        unshare(&ec2, "ami-0123abcd").await.unwrap();
        assert_eq!(modify.num_calls(), 1);
    }

    #[tokio::test]
    async fn share_adds_back_only_the_group_all() {
        let modify = mock!(aws_sdk_ec2::Client::modify_image_attribute)
            .match_requests(|r| {
                let m = r.launch_permission().unwrap();
                r.image_id() == Some("ami-0123abcd")
                    && m.remove().is_empty()
                    && m.add().len() == 1
                    && m.add()[0].group() == Some(&PermissionGroup::All)
                    && m.add()[0].user_id().is_none()
            })
            .then_output(|| ModifyImageAttributeOutput::builder().build());
        let ec2 = mock_client!(aws_sdk_ec2, RuleMode::Sequential, [&modify]);
        share(&ec2, "ami-0123abcd").await.unwrap();
        assert_eq!(modify.num_calls(), 1);
    }
}
