//! IAM-001 / IAM-038: a user has active access keys older than 30 / 90 days.
//!
//! Resource: the IAM user name; an access key id (`AKIA...`, what Conformity's access-key checks
//! may send) is accepted too, and then only that key is considered.
//! What a fix changes, never touches and how it is undone: [`KeyAge::DOC`] (RULES.md is generated
//! from it); the read, the deactivation and the undo are every access-key rule's ([`KeyFamily`]).

use serde::Deserialize;

use crate::families::helpers::family::{Assessment, FamilyDoc, Target};
use crate::families::helpers::iam_keys::{self, Change, KeyFamily, KeyRule, UserKeys, ACTIVE};

/// The family: `iam-key-age` in the catalog.
pub type IamKeyAge = KeyFamily<KeyAge>;

/// The rule of old keys.
pub struct KeyAge;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// A key this many days old or older is deactivated (30 for IAM-001, 90 for IAM-038).
    pub max_age_days: u32,
}

impl KeyRule for KeyAge {
    const NAME: &'static str = "iam-key-age";
    const DOC: FamilyDoc = FamilyDoc {
        changes: "UpdateAccessKey Status=Inactive (with the user name) for each active key at least max_age_days old (resource: the user; an AKIA key id: only that key)",
        never: "younger keys, inactive keys, the user, its policies, groups and login profile; no key is ever deleted",
        undo: "UpdateAccessKey Status=Active for each key the fix deactivated (recorded Active in before), nothing else; it gives an old credential back, so by default (undo.mode approve) it waits for an approver",
        tested: "local stack",
    };
    const RESOURCE: &'static str = "IAM user name or access key id";
    const READS: &'static [&'static str] = &[
        iam_keys::LIST_ACCESS_KEYS,
        iam_keys::GET_ACCESS_KEY_LAST_USED,
        iam_keys::LIST_USER_TAGS,
    ];
    type Params = Params;

    fn valid_id(id: &str) -> bool {
        iam_keys::is_access_key_id(id) || iam_keys::is_user_name(id) || iam_keys::user_key(id).is_some()
    }

    fn assess(s: &UserKeys, p: &Params, t: Target<'_>) -> Assessment<Change> {
        let limit = i64::from(p.max_age_days) * 86_400;
        let old: Vec<_> = s
            .considered()
            .filter(|k| k.status == ACTIVE && s.read_at - k.created >= limit)
            .collect();
        let offending: Vec<String> = old
            .iter()
            .map(|k| {
                format!(
                    "active access key {} of user {} is {} days old (limit {} days)",
                    k.id,
                    s.user,
                    s.age_days(k),
                    p.max_age_days
                )
            })
            .collect();
        let changes: Vec<Change> = old
            .iter()
            .map(|k| Change::Deactivate {
                user: s.user.clone(),
                access_key_id: k.id.clone(),
            })
            .collect();
        let summary = if old.is_empty() {
            format!(
                "user {} has no active access key {} days old or older: nothing to change",
                s.user, p.max_age_days
            )
        } else {
            format!(
                "deactivate (not delete) {} active access key(s) of user {} at least {} days old: {}",
                old.len(),
                s.user,
                p.max_age_days,
                old.iter().map(|k| k.id.as_str()).collect::<Vec<_>>().join(", ")
            )
        };
        let mut plan = t.plan(summary, changes);
        plan.removes = old.iter().map(|k| iam_keys::removes(&s.user, &k.id)).collect();
        plan.untouched = s
            .keys
            .iter()
            .filter(|k| !old.iter().any(|o| o.id == k.id))
            .map(|k| format!("access key {} ({}, {} days old)", k.id, k.status, s.age_days(k)))
            .chain([format!(
                "user {}, its policies, groups and login profile; no key is deleted",
                s.user
            )])
            .collect();
        Assessment { offending, plan }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::families::helpers::family::RuleFamily;
    use crate::families::helpers::iam_keys::tests::{mocked, KEY_NEW, KEY_OLD};
    use crate::families::helpers::iam_keys::{AccessKey, INACTIVE};
    use aws_sdk_iam::operation::update_access_key::UpdateAccessKeyOutput;
    use aws_smithy_mocks::{mock, MockResponseInterceptor, RuleMode};

    const DAY: i64 = 86_400;
    const NOW: i64 = 1_800_000_000;
    const KEY_OFF: &str = "AKIAOFF0000000000003";

    fn t() -> Target<'static> {
        Target {
            rule_id: "IAM-001",
            resource: "alice",
            region: "us-east-1",
        }
    }

    fn key(id: &str, status: &str, age_days: i64) -> AccessKey {
        AccessKey {
            id: id.into(),
            status: status.into(),
            created: NOW - age_days * DAY,
        }
    }

    fn alice() -> UserKeys {
        UserKeys {
            user: "alice".into(),
            read_at: NOW,
            keys: vec![
                key(KEY_OLD, ACTIVE, 45),
                key(KEY_NEW, ACTIVE, 3),
                key(KEY_OFF, INACTIVE, 400),
            ],
            only: None,
        }
    }

    #[test]
    fn only_active_keys_past_the_limit_are_deactivated() {
        let s = alice();
        let a = IamKeyAge::assess(&s, &Params { max_age_days: 30 }, t());
        assert_eq!(
            a.plan.changes,
            vec![Change::Deactivate {
                user: "alice".into(),
                access_key_id: KEY_OLD.into()
            }]
        );
        assert_eq!(
            a.offending,
            vec![format!(
                "active access key {KEY_OLD} of user alice is 45 days old (limit 30 days)"
            )]
        );
        assert_eq!(a.plan.removes, vec![format!("access key {KEY_OLD} of user alice")]);
        assert_eq!(
            a.plan.steps,
            vec![format!("deactivate access key {KEY_OLD} of user alice")]
        );
        assert!(a.plan.untouched[0].starts_with(&format!("access key {KEY_NEW} (Active, 3 days")));
        assert!(a.plan.untouched[1].starts_with(&format!("access key {KEY_OFF} (Inactive")));
        let after = IamKeyAge::simulate(&s, &a.plan.changes);
        assert!(IamKeyAge::assess(&after, &Params { max_age_days: 30 }, t())
            .plan
            .is_empty());
        assert_eq!(
            IamKeyAge::diff(&s, &after),
            vec![format!("access key {KEY_OLD} of user alice: Active → Inactive")]
        );
        assert_eq!(after.keys[1], s.keys[1], "the young key stays");
    }

    #[test]
    fn the_90_day_rule_leaves_a_45_day_key_and_young_keys_are_compliant() {
        let a = IamKeyAge::assess(&alice(), &Params { max_age_days: 90 }, t());
        assert!(a.plan.is_empty() && a.offending.is_empty() && a.plan.removes.is_empty());
    }

    #[test]
    fn a_key_id_resource_considers_that_key_only() {
        let mut s = alice();
        s.keys[1] = key(KEY_NEW, ACTIVE, 100);
        s.only = Some(KEY_NEW.into());
        let a = IamKeyAge::assess(&s, &Params { max_age_days: 30 }, t());
        assert_eq!(
            a.plan.changes,
            vec![Change::Deactivate {
                user: "alice".into(),
                access_key_id: KEY_NEW.into()
            }],
            "the other old key is not this finding's"
        );
    }

    #[test]
    fn a_zero_day_limit_takes_every_active_key() {
        let a = IamKeyAge::assess(&alice(), &Params { max_age_days: 0 }, t());
        assert_eq!(a.plan.changes.len(), 2);
    }

    #[tokio::test]
    async fn apply_deactivates_exactly_the_planned_key() {
        let a = IamKeyAge::assess(&alice(), &Params { max_age_days: 30 }, t());
        let update = mock!(aws_sdk_iam::Client::update_access_key)
            .match_requests(|r| {
                r.user_name() == Some("alice")
                    && r.access_key_id() == Some(KEY_OLD)
                    && r.status() == Some(&aws_sdk_iam::types::StatusType::Inactive)
            })
            .then_output(|| UpdateAccessKeyOutput::builder().build());
        let ctx = mocked(
            IamKeyAge::READS,
            IamKeyAge::WRITES,
            MockResponseInterceptor::new()
                .rule_mode(RuleMode::Sequential)
                .with_rule(&update),
        );
        IamKeyAge::apply(&ctx, "alice", &alice(), &a.plan.changes)
            .await
            .unwrap();
        assert_eq!(update.num_calls(), 1);
    }

    #[test]
    fn the_undo_reactivates_exactly_the_keys_the_fix_deactivated() {
        let before = alice();
        let fix = IamKeyAge::assess(&before, &Params { max_age_days: 30 }, t())
            .plan
            .changes;
        let after = IamKeyAge::simulate(&before, &fix);
        let undo = IamKeyAge::revert(&after, &before).unwrap();
        assert_eq!(
            undo,
            vec![Change::Reactivate {
                user: "alice".into(),
                access_key_id: KEY_OLD.into()
            }],
            "the key inactive before the fix stays inactive"
        );
        assert_eq!(IamKeyAge::simulate(&after, &undo), before);
        assert!(IamKeyAge::revert(&before, &before).unwrap().is_empty());
        assert!(IamKeyAge::cannot_undo(&after, &before).is_none());
        const { assert!(!IamKeyAge::UNDO_GATED) };
    }

    #[tokio::test]
    async fn the_undo_sends_one_update_access_key_active_with_the_user() {
        let update = mock!(aws_sdk_iam::Client::update_access_key)
            .match_requests(|r| {
                r.user_name() == Some("alice")
                    && r.access_key_id() == Some(KEY_OLD)
                    && r.status() == Some(&aws_sdk_iam::types::StatusType::Active)
            })
            .then_output(|| UpdateAccessKeyOutput::builder().build());
        let ctx = mocked(
            IamKeyAge::READS,
            IamKeyAge::WRITES,
            MockResponseInterceptor::new()
                .rule_mode(RuleMode::Sequential)
                .with_rule(&update),
        );
        let undo = vec![Change::Reactivate {
            user: "alice".into(),
            access_key_id: KEY_OLD.into(),
        }];
        IamKeyAge::apply(&ctx, "alice", &alice(), &undo).await.unwrap();
        assert_eq!(update.num_calls(), 1);
    }

    #[test]
    fn resource_ids() {
        assert!(IamKeyAge::valid_id("alice") && IamKeyAge::valid_id("AKIAIOSFODNN7EXAMPLE"));
        assert!(!IamKeyAge::valid_id("arn:aws:iam::111122223333:user/alice") && !IamKeyAge::valid_id("a/../b"));
    }
}
