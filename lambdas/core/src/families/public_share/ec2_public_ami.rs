//! EC2-019: an AMI's launch permission for the group `all`, one kind of [`super::PublicShare`].
//!
//! What a fix changes, never touches and how it is undone: [`Ami::DOC`] (RULES.md is generated
//! from it): `ModifyImageAttribute` removing, or adding back, the group `all`.

use aws_sdk_ec2::types::{ImageAttributeName, LaunchPermission, LaunchPermissionModifications, PermissionGroup};

use super::{ShareKind, Shared, Shares};
use crate::aws::Ctx;
use crate::error::Error;
use crate::families::helpers::family::FamilyDoc;
use crate::families::helpers::kit::{ec2_tags, gone_if};
use crate::ids;

const DESCRIBE_IMAGES: &str = "ec2:DescribeImages";
const DESCRIBE_IMAGE_ATTRIBUTE: &str = "ec2:DescribeImageAttribute";
const MODIFY_IMAGE_ATTRIBUTE: &str = "ec2:ModifyImageAttribute";

/// `ec2-public-ami` in the catalog.
pub struct Ami;

impl ShareKind for Ami {
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
    const WHAT: &'static str = "AMI";
    const PERMISSION: &'static str = "launch permission";

    fn valid_id(id: &str) -> bool {
        ids::is_ec2_id(id, "ami")
    }

    async fn shares(ctx: &Ctx, image: &str) -> Result<Option<Shared>, Error> {
        let ec2 = ctx.ec2();
        let images = ec2.describe_images().image_ids(image).send().await;
        let images = images.map_err(|e| Error::from_sdk(DESCRIBE_IMAGES, e));
        let Some(images) = gone_if(images, &["InvalidAMIID.NotFound", "InvalidAMIID.Unavailable"])? else {
            return Ok(None);
        };
        let Some(found) = images.images().iter().find(|i| i.image_id() == Some(image)) else {
            return Ok(None);
        };
        let out = ec2
            .describe_image_attribute()
            .image_id(image)
            .attribute(ImageAttributeName::LaunchPermission)
            .send()
            .await
            .map_err(|e| Error::from_sdk(DESCRIBE_IMAGE_ATTRIBUTE, e))?;
        let perms = out.launch_permissions();
        let shares = Shares {
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
        };
        Ok(Some((shares, ec2_tags(found.tags()))))
    }

    /// Adds or removes the `all` launch permission (idempotent either way).
    async fn set_public(ctx: &Ctx, image: &str, public: bool) -> Result<(), Error> {
        let all = LaunchPermission::builder().group(PermissionGroup::All).build();
        let modifications = if public {
            LaunchPermissionModifications::builder().add(all)
        } else {
            LaunchPermissionModifications::builder().remove(all)
        };
        ctx.ec2()
            .modify_image_attribute()
            .image_id(image)
            .launch_permission(modifications.build())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| Error::from_sdk(MODIFY_IMAGE_ATTRIBUTE, e))
    }
}
