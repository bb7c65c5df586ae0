//! What the KMS key families have in common (KMS-002 rotation, KMS-004 scheduled deletion): the
//! shape of a key id, and a key's metadata and tags as read.
//!
//! A finding may name a key by its id (`1234abcd-12ab-34cd-56ef-1234567890ab`, `mrk-...`) or its
//! ARN; an ARN must be of the finding's account and region (else nothing is read or changed).
//! Every call is made with the bare key id.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::aws::Ctx;
use crate::error::Error;
use crate::families::helpers::kit;

pub const DESCRIBE_KEY: &str = "kms:DescribeKey";
pub const LIST_RESOURCE_TAGS: &str = "kms:ListResourceTags";

fn hex(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

/// A bare key id: a lowercase UUID, or `mrk-` and 32 hex digits (multi-Region keys).
pub fn is_bare_key_id(id: &str) -> bool {
    if let Some(rest) = id.strip_prefix("mrk-") {
        return hex(rest, 32);
    }
    let parts: Vec<&str> = id.split('-').collect();
    parts.len() == 5 && parts.iter().zip([8, 4, 4, 4, 12]).all(|(p, n)| hex(p, n))
}

/// A key ARN's (region, account, key id).
pub fn parse_arn(arn: &str) -> Option<(&str, &str, &str)> {
    let arn = crate::ids::Arn::regional(arn, "kms")?;
    let key = arn.resource.strip_prefix("key/")?;
    is_bare_key_id(key).then_some((arn.region, arn.account, key))
}

/// A key id or key ARN (aliases are not accepted: they can be re-pointed).
pub fn is_key_id(id: &str) -> bool {
    is_bare_key_id(id) || parse_arn(id).is_some()
}

/// The bare key id of `resource`; an ARN of another account or region is refused.
pub fn bare_id<'a>(ctx: &Ctx, resource: &'a str) -> Result<&'a str, Error> {
    match parse_arn(resource) {
        Some((region, account, key)) => {
            if region != ctx.region() || account != ctx.account() {
                return Err(Error::InvalidInput(format!(
                    "key {resource} is not in the finding's account {} and region {}: nothing read or changed",
                    ctx.account(),
                    ctx.region()
                )));
            }
            Ok(key)
        }
        None => Ok(resource),
    }
}

/// A key's metadata as read (what the KMS families decide on).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyInfo {
    pub key_id: String,
    #[serde(default)]
    pub arn: String,
    /// `CUSTOMER` or `AWS`.
    pub manager: String,
    /// `SYMMETRIC_DEFAULT`, `RSA_2048`, `HMAC_256`, ...
    pub spec: String,
    /// `ENCRYPT_DECRYPT`, `SIGN_VERIFY`, `GENERATE_VERIFY_MAC`, ...
    pub usage: String,
    /// `AWS_KMS`, `EXTERNAL`, `AWS_CLOUDHSM`, `EXTERNAL_KEY_STORE`.
    pub origin: String,
    /// `Enabled`, `Disabled`, `PendingDeletion`, ...
    pub state: String,
    /// A multi-Region replica (its rotation is set on its primary key).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replica: bool,
    /// When a scheduled deletion happens (epoch seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_date: Option<i64>,
}

pub fn kms(ctx: &Ctx) -> aws_sdk_kms::Client {
    crate::sdk_client!(ctx, aws_sdk_kms)
}

/// What a KMS family's resource is.
pub const RESOURCE: &str = "KMS key id or key ARN";

/// The key's metadata; `None` when no such key exists.
pub async fn describe(kms: &aws_sdk_kms::Client, key: &str) -> Result<Option<KeyInfo>, Error> {
    let got = kms
        .describe_key()
        .key_id(key)
        .send()
        .await
        .map_err(|e| Error::from_sdk(DESCRIBE_KEY, e));
    let Some(m) = kit::gone_if(got, &["NotFoundException"])?.and_then(|out| out.key_metadata) else {
        return Ok(None);
    };
    Ok(Some(KeyInfo {
        key_id: m.key_id().to_string(),
        arn: m.arn().unwrap_or_default().to_string(),
        manager: m.key_manager().map(|v| v.as_str().to_string()).unwrap_or_default(),
        spec: m.key_spec().map(|v| v.as_str().to_string()).unwrap_or_default(),
        usage: m.key_usage().map(|v| v.as_str().to_string()).unwrap_or_default(),
        origin: m.origin().map(|v| v.as_str().to_string()).unwrap_or_default(),
        state: m.key_state().map(|v| v.as_str().to_string()).unwrap_or_default(),
        replica: m
            .multi_region_configuration()
            .and_then(|c| c.multi_region_key_type())
            .is_some_and(|t| t.as_str() == "REPLICA"),
        deletion_date: m.deletion_date().map(|d| d.secs()),
    }))
}

/// The key's tags (for exclusion tags).
pub async fn tags(kms: &aws_sdk_kms::Client, key: &str) -> Result<BTreeMap<String, String>, Error> {
    let mut tags = BTreeMap::new();
    let mut pages = kms.list_resource_tags().key_id(key).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| Error::from_sdk(LIST_RESOURCE_TAGS, e))?;
        tags.extend(
            page.tags()
                .iter()
                .map(|t| (t.tag_key().to_string(), t.tag_value().to_string())),
        );
    }
    Ok(tags)
}

/// An RFC 3339 date (UTC) of epoch seconds, for plans.
pub fn date(secs: i64) -> String {
    aws_smithy_types::DateTime::from_secs(secs)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_else(|_| secs.to_string())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const KEY: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";

    /// An enabled-or-not customer-managed symmetric key with KMS material in `state`, due for
    /// deletion (1_800_000_000) when `PendingDeletion`: what the KMS families' tests read.
    pub(crate) fn key(state: &str) -> KeyInfo {
        KeyInfo {
            key_id: KEY.into(),
            arn: format!("arn:aws:kms:us-east-1:111122223333:key/{KEY}"),
            manager: "CUSTOMER".into(),
            spec: "SYMMETRIC_DEFAULT".into(),
            usage: "ENCRYPT_DECRYPT".into(),
            origin: "AWS_KMS".into(),
            state: state.into(),
            replica: false,
            deletion_date: (state == "PendingDeletion").then_some(1_800_000_000),
        }
    }

    #[test]
    fn key_ids_and_arns_of_the_right_shape_only() {
        assert!(is_key_id(KEY) && is_key_id("mrk-1234abcd12ab34cd56ef1234567890ab"));
        assert!(is_key_id(&format!("arn:aws:kms:us-east-1:111122223333:key/{KEY}")));
        for bad in [
            "alias/my-key",
            "arn:aws:kms:us-east-1:111122223333:alias/my-key",
            "1234ABCD-12ab-34cd-56ef-1234567890ab",
            "../1234abcd-12ab-34cd-56ef-1234567890ab",
            &format!("arn:aws:kms:us-east-1:111122223333:key/{KEY}/x"),
            "",
        ] {
            assert!(!is_key_id(bad), "{bad}");
        }
        assert_eq!(date(0), "1970-01-01T00:00:00Z");
    }

    /// Both KMS families read a key through [`describe`] and [`bare_id`]: a missing key is `None`,
    /// and another account's key ARN is refused by name, for each.
    #[tokio::test]
    async fn a_missing_key_reads_as_none_and_a_foreign_arn_is_refused_in_both_kms_families() {
        use crate::families::helpers::family::{RuleFamily, Tags};
        use crate::families::helpers::iam_keys::tests::mocked;
        use crate::families::kms_key_rotation::KmsKeyRotation;
        use crate::families::kms_pending_deletion::KmsPendingDeletion;
        use aws_smithy_mocks::{mock, MockResponseInterceptor, RuleMode};

        async fn check<F: RuleFamily>() {
            let gone = mock!(aws_sdk_kms::Client::describe_key).then_error(|| {
                aws_sdk_kms::operation::describe_key::DescribeKeyError::generic(
                    aws_sdk_kms::error::ErrorMetadata::builder()
                        .code("NotFoundException")
                        .build(),
                )
            });
            let ctx = mocked(
                F::READS,
                F::WRITES,
                MockResponseInterceptor::new()
                    .rule_mode(RuleMode::Sequential)
                    .with_rule(&gone),
            );
            assert!(F::read(&ctx, KEY, Tags::Skip).await.unwrap().is_none(), "{}", F::NAME);
            let foreign = format!("arn:aws:kms:eu-west-1:999999999999:key/{KEY}");
            let err = F::read(&ctx, &foreign, Tags::Skip).await.err().unwrap();
            assert_eq!(err.name(), "InvalidInput", "{}", F::NAME);
        }
        check::<KmsPendingDeletion>().await;
        check::<KmsKeyRotation>().await;
    }
}
