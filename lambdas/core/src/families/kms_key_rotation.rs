//! KMS-002: automatic rotation of a customer-managed key is off.
//!
//! Resource: the key id or key ARN.
//! What a fix changes, never touches and how it is undone: [`KmsKeyRotation::DOC`] (RULES.md is
//! generated from it).
//! Only symmetric `ENCRYPT_DECRYPT` customer-managed keys with KMS key material in state
//! `Enabled` can rotate automatically: for any other key (asymmetric, HMAC, imported material,
//! custom key store, multi-Region replica, AWS-managed, disabled, pending deletion) the read fails
//! with a named `InvalidInput` saying why ([`not_rotatable`]), and nothing is changed.

use serde::{Deserialize, Serialize};

use crate::aws::Ctx;
use crate::error::Error;
use crate::families::helpers::family::{Assessment, FamilyDoc, NoParams, Read, RuleFamily, Tags, Target};
use crate::families::helpers::kit;
use crate::families::helpers::kms_key::{self, KeyInfo};
use crate::plan::Describe;

/// The family: `kms-key-rotation` in the catalog.
pub struct KmsKeyRotation;

const GET_KEY_ROTATION_STATUS: &str = "kms:GetKeyRotationStatus";
const ENABLE_KEY_ROTATION: &str = "kms:EnableKeyRotation";
/// An undo only: rotation off again, as recorded before the fix.
const DISABLE_KEY_ROTATION: &str = "kms:DisableKeyRotation";

/// Its rules take no parameters.
pub type Params = NoParams;

/// A key and its rotation as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRotation {
    pub key: KeyInfo,
    pub rotation_enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action")]
pub enum Change {
    #[serde(rename = "kms:EnableKeyRotation")]
    EnableRotation,
    /// An undo's: rotation off again.
    #[serde(rename = "kms:DisableKeyRotation")]
    DisableRotation,
}

impl Describe for Change {
    fn describe(&self) -> String {
        match self {
            Change::EnableRotation => "enable automatic key rotation".into(),
            Change::DisableRotation => "disable automatic key rotation (as it was before the fix)".into(),
        }
    }
}

/// Why the key cannot rotate automatically, if it cannot. A field DescribeKey did not report is
/// named as missing, and the key is not rotated (what it is cannot be told).
pub fn not_rotatable(k: &KeyInfo) -> Option<String> {
    let missing: Vec<&str> = [
        ("KeyManager", &k.manager),
        ("KeySpec", &k.spec),
        ("KeyUsage", &k.usage),
        ("Origin", &k.origin),
        ("KeyState", &k.state),
    ]
    .into_iter()
    .filter(|(_, v)| v.is_empty())
    .map(|(name, _)| name)
    .collect();
    if !missing.is_empty() {
        Some(format!(
            "DescribeKey reported no {} for it (only a key known to be an enabled, customer-managed symmetric encryption key with KMS material is rotated)",
            missing.join(", ")
        ))
    } else if k.manager != "CUSTOMER" {
        Some(format!("it is managed by {} (AWS rotates its own keys)", k.manager))
    } else if k.spec != "SYMMETRIC_DEFAULT" || k.usage != "ENCRYPT_DECRYPT" {
        Some(format!(
            "it is a {} {} key (only symmetric encryption keys rotate)",
            k.spec, k.usage
        ))
    } else if k.origin != "AWS_KMS" {
        Some(format!(
            "its key material comes from {} (only KMS-generated material rotates automatically)",
            k.origin
        ))
    } else if k.replica {
        Some("it is a multi-Region replica (rotation is set on its primary key)".into())
    } else if k.state != "Enabled" {
        Some(format!(
            "it is {} (only an enabled key's rotation can be turned on)",
            k.state
        ))
    } else {
        None
    }
}

impl RuleFamily for KmsKeyRotation {
    const NAME: &'static str = "kms-key-rotation";
    const DOC: FamilyDoc = FamilyDoc {
        changes: "EnableKeyRotation (default period) on an enabled symmetric customer-managed key with KMS material (not a replica); any other key: InvalidInput, nothing changed",
        never: "the key's policy, state, aliases, grants and key material",
        undo: "DisableKeyRotation (rotation off, as recorded before the fix); nothing else",
        tested: "local stack",
    };
    const RESOURCE: &'static str = kms_key::RESOURCE;
    const READS: &'static [&'static str] = &[
        kms_key::DESCRIBE_KEY,
        GET_KEY_ROTATION_STATUS,
        kms_key::LIST_RESOURCE_TAGS,
    ];
    const WRITES: &'static [&'static str] = &[ENABLE_KEY_ROTATION, DISABLE_KEY_ROTATION];
    type Params = Params;
    type State = KeyRotation;
    type Change = Change;

    fn valid_id(id: &str) -> bool {
        kms_key::is_key_id(id)
    }

    async fn read(ctx: &Ctx, resource: &str, tags: Tags) -> Result<Option<Read<KeyRotation>>, Error> {
        let id = kms_key::bare_id(ctx, resource)?;
        let kms = kms_key::kms(ctx);
        let Some(key) = kms_key::describe(&kms, id).await? else {
            return Ok(None);
        };
        if let Some(why) = not_rotatable(&key) {
            return Err(Error::InvalidInput(format!(
                "rotation is not supported for key {id}: {why}; nothing changed"
            )));
        }
        let rotation_enabled = kms
            .get_key_rotation_status()
            .key_id(id)
            .send()
            .await
            .map_err(|e| Error::from_sdk(GET_KEY_ROTATION_STATUS, e))?
            .key_rotation_enabled();
        Ok(Some(Read {
            tags: kit::tags_if(tags, || kms_key::tags(&kms, id)).await?,
            state: KeyRotation { key, rotation_enabled },
        }))
    }

    fn assess(s: &KeyRotation, _: &Params, t: Target<'_>) -> Assessment<Change> {
        let on = s.rotation_enabled;
        let summary = if on {
            format!("key {} already rotates: nothing to change", t.resource)
        } else {
            format!("enable automatic rotation of key {}", t.resource)
        };
        let mut plan = t.plan(summary, if on { Vec::new() } else { vec![Change::EnableRotation] });
        plan.untouched = vec![format!(
            "the key's policy, state ({}), aliases, grants and existing key material",
            s.key.state
        )];
        Assessment {
            offending: if on {
                Vec::new()
            } else {
                vec!["automatic key rotation is off".into()]
            },
            plan,
        }
    }

    async fn apply(ctx: &Ctx, resource: &str, _: &KeyRotation, changes: &[Change]) -> Result<(), Error> {
        let id = kms_key::bare_id(ctx, resource)?;
        let kms = kms_key::kms(ctx);
        for change in changes {
            match change {
                Change::EnableRotation => enable(&kms, id).await?,
                Change::DisableRotation => disable(&kms, id).await?,
            }
        }
        Ok(())
    }

    fn simulate(s: &KeyRotation, changes: &[Change]) -> KeyRotation {
        let mut out = s.clone();
        for c in changes {
            out.rotation_enabled = *c == Change::EnableRotation;
        }
        out
    }

    fn diff(before: &KeyRotation, after: &KeyRotation) -> Vec<String> {
        let mut out = Vec::new();
        if before.rotation_enabled != after.rotation_enabled {
            let w = |on: bool| if on { "on" } else { "off" };
            out.push(format!(
                "key rotation {} → {}",
                w(before.rotation_enabled),
                w(after.rotation_enabled)
            ));
        }
        if before.key.state != after.key.state {
            out.push(format!("key state {} → {}", before.key.state, after.key.state));
        }
        out
    }

    fn revert(live: &KeyRotation, before: &KeyRotation) -> Option<Vec<Change>> {
        Some(match (live.rotation_enabled, before.rotation_enabled) {
            (true, false) => vec![Change::DisableRotation],
            (false, true) => vec![Change::EnableRotation],
            _ => Vec::new(),
        })
    }
}

/// `DisableKeyRotation` (an undo), idempotent on AWS.
pub async fn disable(kms: &aws_sdk_kms::Client, key: &str) -> Result<(), Error> {
    kms.disable_key_rotation()
        .key_id(key)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| Error::from_sdk(DISABLE_KEY_ROTATION, e))
}

/// `EnableKeyRotation` with the key id only (no period: the default), idempotent on AWS.
pub async fn enable(kms: &aws_sdk_kms::Client, key: &str) -> Result<(), Error> {
    kms.enable_key_rotation()
        .key_id(key)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| Error::from_sdk(ENABLE_KEY_ROTATION, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::families::helpers::iam_keys::tests::mocked;
    use crate::families::helpers::kms_key::tests::{key, KEY};
    use aws_sdk_kms::operation::describe_key::DescribeKeyOutput;
    use aws_sdk_kms::operation::enable_key_rotation::EnableKeyRotationOutput;
    use aws_sdk_kms::operation::get_key_rotation_status::GetKeyRotationStatusOutput;
    use aws_sdk_kms::types::{KeyManagerType, KeyMetadata, KeySpec, KeyState, KeyUsageType, OriginType};
    use aws_smithy_mocks::{mock, MockResponseInterceptor, RuleMode};

    fn t() -> Target<'static> {
        Target {
            rule_id: "KMS-002",
            resource: KEY,
            region: "us-east-1",
        }
    }

    #[test]
    fn rotation_off_is_enabled_and_on_is_left_alone() {
        let off = KeyRotation {
            key: key("Enabled"),
            rotation_enabled: false,
        };
        let a = KmsKeyRotation::assess(&off, &Params {}, t());
        assert_eq!(a.plan.changes, vec![Change::EnableRotation]);
        assert_eq!(a.offending, vec!["automatic key rotation is off"]);
        assert!(a.plan.removes.is_empty(), "turning rotation on removes nothing");
        let after = KmsKeyRotation::simulate(&off, &a.plan.changes);
        assert!(KmsKeyRotation::assess(&after, &Params {}, t()).plan.is_empty());
        assert_eq!(KmsKeyRotation::diff(&off, &after), vec!["key rotation off → on"]);
    }

    #[test]
    fn the_undo_turns_rotation_off_again_and_nothing_else() {
        let before = KeyRotation {
            key: key("Enabled"),
            rotation_enabled: false,
        };
        let fix = KmsKeyRotation::assess(&before, &Params {}, t()).plan.changes;
        let after = KmsKeyRotation::simulate(&before, &fix);
        let undo = KmsKeyRotation::revert(&after, &before).unwrap();
        assert_eq!(undo, vec![Change::DisableRotation]);
        assert_eq!(KmsKeyRotation::simulate(&after, &undo), before);
        assert_eq!(
            undo[0].describe(),
            "disable automatic key rotation (as it was before the fix)"
        );
        assert!(KmsKeyRotation::revert(&before, &before).unwrap().is_empty());
        assert!(KmsKeyRotation::revert(&after, &after).unwrap().is_empty());
    }

    #[tokio::test]
    async fn the_undo_sends_one_disable_key_rotation_with_the_bare_id() {
        let disable = mock!(aws_sdk_kms::Client::disable_key_rotation)
            .match_requests(|r| r.key_id() == Some(KEY))
            .then_output(|| aws_sdk_kms::operation::disable_key_rotation::DisableKeyRotationOutput::builder().build());
        let ctx = mocked(
            KmsKeyRotation::READS,
            KmsKeyRotation::WRITES,
            MockResponseInterceptor::new()
                .rule_mode(RuleMode::Sequential)
                .with_rule(&disable),
        );
        let on = KeyRotation {
            key: key("Enabled"),
            rotation_enabled: true,
        };
        let arn = format!("arn:aws:kms:us-east-1:111122223333:key/{KEY}");
        KmsKeyRotation::apply(&ctx, &arn, &on, &[Change::DisableRotation])
            .await
            .unwrap();
        assert_eq!(disable.num_calls(), 1);
    }

    #[test]
    fn keys_that_cannot_rotate_say_why() {
        assert_eq!(not_rotatable(&key("Enabled")), None);
        let mut k = key("Enabled");
        k.spec = "RSA_2048".into();
        k.usage = "SIGN_VERIFY".into();
        assert!(not_rotatable(&k).unwrap().contains("RSA_2048"));
        let mut k = key("Enabled");
        k.spec = "HMAC_256".into();
        k.usage = "GENERATE_VERIFY_MAC".into();
        assert!(not_rotatable(&k).is_some());
        let mut k = key("Enabled");
        k.manager = "AWS".into();
        assert!(not_rotatable(&k).unwrap().contains("AWS"));
        let mut k = key("Enabled");
        k.origin = "EXTERNAL".into();
        assert!(not_rotatable(&k).is_some());
        assert!(not_rotatable(&key("PendingDeletion"))
            .unwrap()
            .contains("PendingDeletion"));
        assert!(not_rotatable(&key("Disabled")).is_some());
        let mut k = key("Enabled");
        k.replica = true;
        assert!(not_rotatable(&k).unwrap().contains("replica"));
    }

    #[test]
    fn a_key_whose_usage_is_not_reported_is_not_rotated_and_the_message_says_so() {
        let mut k = key("Enabled");
        k.usage = String::new();
        let why = not_rotatable(&k).unwrap();
        assert!(why.starts_with("DescribeKey reported no KeyUsage for it"), "{why}");
        assert!(!why.contains("  "), "{why}");
        k.origin = String::new();
        let why = not_rotatable(&k).unwrap();
        assert!(why.contains("no KeyUsage, Origin for it"), "{why}");
    }

    fn describe_output(spec: KeySpec, usage: KeyUsageType) -> DescribeKeyOutput {
        DescribeKeyOutput::builder()
            .key_metadata(
                KeyMetadata::builder()
                    .key_id(KEY)
                    .key_manager(KeyManagerType::Customer)
                    .key_spec(spec)
                    .key_usage(usage)
                    .origin(OriginType::AwsKms)
                    .key_state(KeyState::Enabled)
                    .build()
                    .unwrap(),
            )
            .build()
    }

    #[tokio::test]
    async fn read_then_apply_sends_describe_status_and_one_enable() {
        let describe = mock!(aws_sdk_kms::Client::describe_key)
            .match_requests(|r| r.key_id() == Some(KEY))
            .then_output(|| describe_output(KeySpec::SymmetricDefault, KeyUsageType::EncryptDecrypt));
        let status = mock!(aws_sdk_kms::Client::get_key_rotation_status)
            .match_requests(|r| r.key_id() == Some(KEY))
            .then_output(|| {
                GetKeyRotationStatusOutput::builder()
                    .key_rotation_enabled(false)
                    .build()
            });
        let enable = mock!(aws_sdk_kms::Client::enable_key_rotation)
            .match_requests(|r| r.key_id() == Some(KEY) && r.rotation_period_in_days().is_none())
            .then_output(|| EnableKeyRotationOutput::builder().build());
        let ctx = mocked(
            KmsKeyRotation::READS,
            KmsKeyRotation::WRITES,
            MockResponseInterceptor::new()
                .rule_mode(RuleMode::Sequential)
                .with_rule(&describe)
                .with_rule(&status)
                .with_rule(&enable),
        );
        // Named by its ARN: every call uses the bare key id.
        let arn = format!("arn:aws:kms:us-east-1:111122223333:key/{KEY}");
        let read = KmsKeyRotation::read(&ctx, &arn, Tags::Skip).await.unwrap().unwrap();
        let a = KmsKeyRotation::assess(&read.state, &Params {}, t());
        KmsKeyRotation::apply(&ctx, &arn, &read.state, &a.plan.changes)
            .await
            .unwrap();
        assert_eq!(
            (describe.num_calls(), status.num_calls(), enable.num_calls()),
            (1, 1, 1)
        );
    }

    #[tokio::test]
    async fn an_asymmetric_key_is_refused_by_name_and_nothing_else_is_sent() {
        let describe = mock!(aws_sdk_kms::Client::describe_key)
            .then_output(|| describe_output(KeySpec::Rsa2048, KeyUsageType::SignVerify));
        let ctx = mocked(
            KmsKeyRotation::READS,
            KmsKeyRotation::WRITES,
            MockResponseInterceptor::new()
                .rule_mode(RuleMode::Sequential)
                .with_rule(&describe),
        );
        let err = KmsKeyRotation::read(&ctx, KEY, Tags::Read).await.err().unwrap();
        assert_eq!(err.name(), "InvalidInput");
        assert!(err.to_string().contains("rotation is not supported"), "{err}");
    }

    #[tokio::test]
    async fn a_key_described_without_usage_is_refused_and_nothing_else_is_sent() {
        let describe = mock!(aws_sdk_kms::Client::describe_key).then_output(|| {
            DescribeKeyOutput::builder()
                .key_metadata(
                    KeyMetadata::builder()
                        .key_id(KEY)
                        .key_manager(KeyManagerType::Customer)
                        .key_spec(KeySpec::SymmetricDefault)
                        .origin(OriginType::AwsKms)
                        .key_state(KeyState::Enabled)
                        .build()
                        .unwrap(),
                )
                .build()
        });
        let ctx = mocked(
            KmsKeyRotation::READS,
            KmsKeyRotation::WRITES,
            MockResponseInterceptor::new()
                .rule_mode(RuleMode::Sequential)
                .with_rule(&describe),
        );
        let err = KmsKeyRotation::read(&ctx, KEY, Tags::Read).await.err().unwrap();
        assert_eq!(err.name(), "InvalidInput");
        assert!(err.to_string().contains("reported no KeyUsage"), "{err}");
        assert_eq!(describe.num_calls(), 1);
    }
}
