//! KMS-004: a key is scheduled for deletion.
//!
//! Resource: the key id or key ARN.
//! What a fix changes, never touches and how it is undone: [`KmsPendingDeletion::DOC`] (RULES.md
//! is generated from it). KMS leaves a cancelled key `Disabled`, and whether it was enabled before
//! its deletion was scheduled is not knowable, so `EnableKey` is only ever sent right after the
//! cancel, when the rule asks for it. The undo's pending window is [`window_days`]; it destroys a
//! key, so it always waits for an approver ([`RuleFamily::UNDO_GATED`]), whatever `undo.mode` says.

use serde::{Deserialize, Serialize};

use crate::aws::Ctx;
use crate::error::Error;
use crate::families::helpers::family::{Assessment, FamilyDoc, Read, RuleFamily, Tags, Target};
use crate::families::helpers::kit;
use crate::families::helpers::kms_key::{self, KeyInfo};
use crate::plan::Describe;

/// The family: `kms-pending-deletion` in the catalog.
pub struct KmsPendingDeletion;

const CANCEL_KEY_DELETION: &str = "kms:CancelKeyDeletion";
const ENABLE_KEY: &str = "kms:EnableKey";
/// An undo only: the deletion scheduled again, as recorded before the fix.
const SCHEDULE_KEY_DELETION: &str = "kms:ScheduleKeyDeletion";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Enable the key right after cancelling its deletion (default: leave it disabled).
    #[serde(default)]
    pub enable_after_cancel: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action")]
pub enum Change {
    #[serde(rename = "kms:CancelKeyDeletion")]
    CancelDeletion,
    #[serde(rename = "kms:EnableKey")]
    Enable,
    /// An undo's: the deletion scheduled again, due no earlier than `deletion_date` (epoch
    /// seconds, the recorded one).
    #[serde(rename = "kms:ScheduleKeyDeletion")]
    ScheduleDeletion { deletion_date: i64 },
}

/// The pending window that schedules a deletion due no earlier than `due` when asked at `now`
/// (epoch seconds): whole days, rounded up, 7-30 (KMS's bounds).
pub fn window_days(due: i64, now: i64) -> i32 {
    let days = ((due - now).max(0) + 86_399) / 86_400;
    days.clamp(7, 30) as i32
}

impl Describe for Change {
    fn describe(&self) -> String {
        match self {
            Change::CancelDeletion => "cancel the scheduled deletion (the key is then disabled)".into(),
            Change::Enable => "enable the key (params.enable_after_cancel)".into(),
            Change::ScheduleDeletion { deletion_date } => format!(
                "schedule the key's deletion again, due {} as recorded before the fix (at least 7 days from now)",
                kms_key::date(*deletion_date)
            ),
        }
    }
}

pub fn pending(k: &KeyInfo) -> bool {
    k.state == "PendingDeletion" || k.state == "PendingReplicaDeletion"
}

impl RuleFamily for KmsPendingDeletion {
    const NAME: &'static str = "kms-pending-deletion";
    const DOC: FamilyDoc = FamilyDoc {
        changes: "CancelKeyDeletion; the key is then Disabled and stays so (its state before scheduling is not knowable) unless params.enable_after_cancel, then EnableKey",
        never: "the key's policy, rotation, aliases, grants and key material; a key merely disabled is never enabled",
        undo: "ScheduleKeyDeletion again, due no earlier than the recorded deletion date (the whole days to it, at least 7); it destroys a key (pending deletion, then gone)",
        tested: "local stack",
    };
    const RESOURCE: &'static str = kms_key::RESOURCE;
    const READS: &'static [&'static str] = &[kms_key::DESCRIBE_KEY, kms_key::LIST_RESOURCE_TAGS];
    const WRITES: &'static [&'static str] = &[CANCEL_KEY_DELETION, ENABLE_KEY, SCHEDULE_KEY_DELETION];
    const UNDO_GATED: bool = true;
    type Params = Params;
    type State = KeyInfo;
    type Change = Change;

    fn valid_id(id: &str) -> bool {
        kms_key::is_key_id(id)
    }

    async fn read(ctx: &Ctx, resource: &str, tags: Tags) -> Result<Option<Read<KeyInfo>>, Error> {
        let id = kms_key::bare_id(ctx, resource)?;
        let kms = kms_key::kms(ctx);
        let Some(key) = kms_key::describe(&kms, id).await? else {
            return Ok(None);
        };
        Ok(Some(Read {
            tags: kit::tags_if(tags, || kms_key::tags(&kms, id)).await?,
            state: key,
        }))
    }

    fn assess(k: &KeyInfo, p: &Params, t: Target<'_>) -> Assessment<Change> {
        let due = k
            .deletion_date
            .map(|d| format!(" (due {})", kms_key::date(d)))
            .unwrap_or_default();
        if !pending(k) {
            let mut plan = t.plan(
                format!(
                    "key {} is not scheduled for deletion ({}): nothing to change",
                    t.resource, k.state
                ),
                Vec::new(),
            );
            plan.untouched = vec![format!("the key's state ({})", k.state)];
            return Assessment {
                offending: Vec::new(),
                plan,
            };
        }
        let (changes, summary) = if p.enable_after_cancel {
            (
                vec![Change::CancelDeletion, Change::Enable],
                format!(
                    "cancel the scheduled deletion of key {}{due} and enable it again (params.enable_after_cancel)",
                    t.resource
                ),
            )
        } else {
            (
                vec![Change::CancelDeletion],
                format!(
                    "cancel the scheduled deletion of key {}{due}; the key stays Disabled afterwards: KMS cannot tell whether \
                     it was enabled before its deletion was scheduled, so enable it by hand if it was \
                     (or set params.enable_after_cancel)",
                    t.resource
                ),
            )
        };
        let mut plan = t.plan(summary, changes);
        plan.untouched = vec!["the key's policy, rotation, aliases, grants and key material".into()];
        Assessment {
            offending: vec![format!("key is {}{due}", k.state)],
            plan,
        }
    }

    async fn apply(ctx: &Ctx, resource: &str, _: &KeyInfo, changes: &[Change]) -> Result<(), Error> {
        let id = kms_key::bare_id(ctx, resource)?;
        let kms = kms_key::kms(ctx);
        for change in changes {
            match change {
                Change::CancelDeletion => cancel(&kms, id).await?,
                Change::Enable => enable(&kms, id).await.map_err(|e| {
                    if e.is_retryable() {
                        e
                    } else {
                        Error::PartiallyApplied(format!(
                            "done: [cancel the scheduled deletion]; failed: enable the key ({e}); the key is disabled"
                        ))
                    }
                })?,
                Change::ScheduleDeletion { deletion_date } => schedule(&kms, id, *deletion_date).await?,
            }
        }
        Ok(())
    }

    fn simulate(k: &KeyInfo, changes: &[Change]) -> KeyInfo {
        let mut out = k.clone();
        for c in changes {
            match c {
                Change::CancelDeletion if pending(&out) => {
                    out.state = "Disabled".into();
                    out.deletion_date = None;
                }
                Change::CancelDeletion => {}
                Change::Enable => out.state = "Enabled".into(),
                Change::ScheduleDeletion { deletion_date } => {
                    out.state = "PendingDeletion".into();
                    out.deletion_date = Some(*deletion_date);
                }
            }
        }
        out
    }

    fn diff(before: &KeyInfo, after: &KeyInfo) -> Vec<String> {
        let mut out = Vec::new();
        if before.state != after.state {
            out.push(format!("key state {} → {}", before.state, after.state));
        }
        match (before.deletion_date, after.deletion_date) {
            (Some(d), None) => out.push(format!("deletion scheduled for {} cancelled", kms_key::date(d))),
            (None, Some(d)) => out.push(format!("deletion scheduled for {}", kms_key::date(d))),
            _ => {}
        }
        out
    }

    /// A deletion the fix cancelled is scheduled again; the key's enabled/disabled state is not
    /// restored on its own: scheduling leaves it `PendingDeletion`, as recorded.
    fn revert(live: &KeyInfo, before: &KeyInfo) -> Option<Vec<Change>> {
        Some(match (pending(live), pending(before), before.deletion_date) {
            (false, true, Some(deletion_date)) => vec![Change::ScheduleDeletion { deletion_date }],
            _ => Vec::new(),
        })
    }

    fn cannot_undo(live: &KeyInfo, before: &KeyInfo) -> Option<String> {
        (!pending(live) && pending(before) && before.deletion_date.is_none()).then(|| {
            "the record holds no deletion date for the key, so the deletion cannot be scheduled again as it was".into()
        })
    }
}

/// `ScheduleKeyDeletion` due no earlier than `due` ([`window_days`] from now); a key already
/// pending deletion (a retry) counts as done.
pub async fn schedule(kms: &aws_sdk_kms::Client, key: &str, due: i64) -> Result<(), Error> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    match kms
        .schedule_key_deletion()
        .key_id(key)
        .pending_window_in_days(window_days(due, now))
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) => {
            let err = Error::from_sdk(SCHEDULE_KEY_DELETION, e);
            if err.aws_code() == Some("KMSInvalidStateException") {
                if let Some(k) = kms_key::describe(kms, key).await? {
                    if pending(&k) {
                        return Ok(());
                    }
                }
            }
            Err(err)
        }
    }
}

/// `CancelKeyDeletion`; a key no longer pending deletion (already cancelled) counts as done.
pub async fn cancel(kms: &aws_sdk_kms::Client, key: &str) -> Result<(), Error> {
    match kms.cancel_key_deletion().key_id(key).send().await {
        Ok(_) => Ok(()),
        Err(e) => {
            let err = Error::from_sdk(CANCEL_KEY_DELETION, e);
            if err.aws_code() == Some("KMSInvalidStateException") {
                if let Some(k) = kms_key::describe(kms, key).await? {
                    if !pending(&k) {
                        return Ok(());
                    }
                }
            }
            Err(err)
        }
    }
}

/// `EnableKey` (enabling an enabled key is a no-op).
pub async fn enable(kms: &aws_sdk_kms::Client, key: &str) -> Result<(), Error> {
    kms.enable_key()
        .key_id(key)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| Error::from_sdk(ENABLE_KEY, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::families::helpers::iam_keys::tests::mocked;
    use crate::families::helpers::kms_key::tests::{key, KEY};
    use aws_sdk_kms::operation::cancel_key_deletion::CancelKeyDeletionOutput;
    use aws_sdk_kms::operation::describe_key::DescribeKeyOutput;
    use aws_sdk_kms::operation::enable_key::EnableKeyOutput;
    use aws_sdk_kms::types::{KeyMetadata, KeyState};
    use aws_smithy_mocks::{mock, MockResponseInterceptor, RuleMode};

    fn t() -> Target<'static> {
        Target {
            rule_id: "KMS-004",
            resource: KEY,
            region: "us-east-1",
        }
    }

    #[test]
    fn the_undo_schedules_the_deletion_again_no_earlier_than_recorded() {
        for enable_after_cancel in [false, true] {
            let before = key("PendingDeletion");
            let fix = KmsPendingDeletion::assess(&before, &Params { enable_after_cancel }, t())
                .plan
                .changes;
            let after = KmsPendingDeletion::simulate(&before, &fix);
            let undo = KmsPendingDeletion::revert(&after, &before).unwrap();
            assert_eq!(
                undo,
                vec![Change::ScheduleDeletion {
                    deletion_date: 1_800_000_000
                }]
            );
            assert_eq!(KmsPendingDeletion::simulate(&after, &undo), before);
            assert!(KmsPendingDeletion::diff(&before, &KmsPendingDeletion::simulate(&after, &undo)).is_empty());
            assert!(KmsPendingDeletion::revert(&before, &before).unwrap().is_empty());
            assert!(KmsPendingDeletion::cannot_undo(&after, &before).is_none());
        }
        const { assert!(KmsPendingDeletion::UNDO_GATED) };
        // Never earlier than recorded; KMS's 7-30 day bounds.
        assert_eq!(window_days(1_000 + 7 * 86_400, 1_000), 7);
        assert_eq!(window_days(1_000 + 7 * 86_400 - 5, 1_000), 7);
        assert_eq!(window_days(1_000 + 10 * 86_400 + 1, 1_000), 11);
        assert_eq!(window_days(1_000, 2_000), 7);
        assert_eq!(window_days(1_000 + 40 * 86_400, 1_000), 30);
        let mut undated = key("PendingDeletion");
        undated.deletion_date = None;
        let why = KmsPendingDeletion::cannot_undo(&key("Disabled"), &undated).unwrap();
        assert!(why.contains("no deletion date"), "{why}");
    }

    #[tokio::test]
    async fn the_undo_sends_one_schedule_with_a_window_of_at_least_seven_days() {
        let schedule = mock!(aws_sdk_kms::Client::schedule_key_deletion)
            .match_requests(|r| r.key_id() == Some(KEY) && r.pending_window_in_days() == Some(7))
            .then_output(|| {
                aws_sdk_kms::operation::schedule_key_deletion::ScheduleKeyDeletionOutput::builder().build()
            });
        let ctx = mocked(
            KmsPendingDeletion::READS,
            KmsPendingDeletion::WRITES,
            MockResponseInterceptor::new()
                .rule_mode(RuleMode::Sequential)
                .with_rule(&schedule),
        );
        // Recorded as due in the past (an undo long after the fix): KMS's minimum, 7 days.
        KmsPendingDeletion::apply(
            &ctx,
            KEY,
            &key("Disabled"),
            &[Change::ScheduleDeletion {
                deletion_date: 1_000_000_000,
            }],
        )
        .await
        .unwrap();
        assert_eq!(schedule.num_calls(), 1);
    }

    #[test]
    fn a_pending_key_is_cancelled_and_left_disabled_by_default() {
        let k = key("PendingDeletion");
        let a = KmsPendingDeletion::assess(
            &k,
            &Params {
                enable_after_cancel: false,
            },
            t(),
        );
        assert_eq!(a.plan.changes, vec![Change::CancelDeletion]);
        assert!(a.plan.summary.contains("stays Disabled"), "{}", a.plan.summary);
        assert!(a.plan.removes.is_empty());
        assert_eq!(a.offending, vec!["key is PendingDeletion (due 2027-01-15T08:00:00Z)"]);
        let after = KmsPendingDeletion::simulate(&k, &a.plan.changes);
        assert_eq!(after.state, "Disabled");
        assert_eq!(
            KmsPendingDeletion::diff(&k, &after),
            vec![
                "key state PendingDeletion → Disabled",
                "deletion scheduled for 2027-01-15T08:00:00Z cancelled"
            ]
        );
        assert!(KmsPendingDeletion::assess(
            &after,
            &Params {
                enable_after_cancel: false
            },
            t()
        )
        .plan
        .is_empty());
    }

    #[test]
    fn enable_after_cancel_enables_in_the_same_plan_only() {
        let p = Params {
            enable_after_cancel: true,
        };
        let a = KmsPendingDeletion::assess(&key("PendingDeletion"), &p, t());
        assert_eq!(a.plan.changes, vec![Change::CancelDeletion, Change::Enable]);
        assert_eq!(
            KmsPendingDeletion::simulate(&key("PendingDeletion"), &a.plan.changes).state,
            "Enabled"
        );
        for state in ["Disabled", "Enabled"] {
            let a = KmsPendingDeletion::assess(&key(state), &p, t());
            assert!(a.plan.is_empty() && a.offending.is_empty(), "{state}");
        }
    }

    #[tokio::test]
    async fn apply_sends_one_cancel_and_no_enable_by_default() {
        let cancel = mock!(aws_sdk_kms::Client::cancel_key_deletion)
            .match_requests(|r| r.key_id() == Some(KEY))
            .then_output(|| CancelKeyDeletionOutput::builder().key_id(KEY).build());
        let ctx = mocked(
            KmsPendingDeletion::READS,
            KmsPendingDeletion::WRITES,
            MockResponseInterceptor::new()
                .rule_mode(RuleMode::Sequential)
                .with_rule(&cancel),
        );
        KmsPendingDeletion::apply(&ctx, KEY, &key("PendingDeletion"), &[Change::CancelDeletion])
            .await
            .unwrap();
        assert_eq!(cancel.num_calls(), 1);
    }

    #[tokio::test]
    async fn an_already_cancelled_deletion_counts_as_done_then_the_key_is_enabled() {
        let cancel = mock!(aws_sdk_kms::Client::cancel_key_deletion).then_error(|| {
            aws_sdk_kms::operation::cancel_key_deletion::CancelKeyDeletionError::generic(
                aws_sdk_kms::error::ErrorMetadata::builder()
                    .code("KMSInvalidStateException")
                    .build(),
            )
        });
        let describe = mock!(aws_sdk_kms::Client::describe_key).then_output(|| {
            DescribeKeyOutput::builder()
                .key_metadata(
                    KeyMetadata::builder()
                        .key_id(KEY)
                        .key_state(KeyState::Disabled)
                        .build()
                        .unwrap(),
                )
                .build()
        });
        let enable = mock!(aws_sdk_kms::Client::enable_key)
            .match_requests(|r| r.key_id() == Some(KEY))
            .then_output(|| EnableKeyOutput::builder().build());
        let ctx = mocked(
            KmsPendingDeletion::READS,
            KmsPendingDeletion::WRITES,
            MockResponseInterceptor::new()
                .rule_mode(RuleMode::Sequential)
                .with_rule(&cancel)
                .with_rule(&describe)
                .with_rule(&enable),
        );
        KmsPendingDeletion::apply(
            &ctx,
            KEY,
            &key("PendingDeletion"),
            &[Change::CancelDeletion, Change::Enable],
        )
        .await
        .unwrap();
        assert_eq!(
            (cancel.num_calls(), describe.num_calls(), enable.num_calls()),
            (1, 1, 1)
        );
    }
}
