//! TrustedAdvisor-003: an access key was found exposed (published in a public repository or
//! used in an anomalous way, as Trusted Advisor's "Exposed Access Keys" check reports).
//!
//! Resource: the access key id (`AKIA...`). Its user is found with `GetAccessKeyLastUsed`.
//! What a fix changes, never touches and how it is undone: [`ExposedKey::DOC`] (RULES.md is
//! generated from it); the read, the deactivation and the undo are every access-key rule's
//! ([`KeyFamily`]).
//! Notifying people is the outcome notifications' job: the plan says the key was exposed.

use crate::families::helpers::family::{Assessment, FamilyDoc, NoParams, Target};
use crate::families::helpers::iam_keys::{self, Change, KeyFamily, KeyRule, UserKeys, ACTIVE};

/// The family: `iam-exposed-key` in the catalog.
pub type IamExposedKey = KeyFamily<ExposedKey>;

/// The rule of an exposed key.
pub struct ExposedKey;

/// Its rules take no parameters.
pub type Params = NoParams;

impl KeyRule for ExposedKey {
    const NAME: &'static str = "iam-exposed-key";
    const DOC: FamilyDoc = FamilyDoc {
        changes: "UpdateAccessKey Status=Inactive for the exposed key (its user found with GetAccessKeyLastUsed)",
        never: "the user's other keys, the user and its policies; the key is never deleted",
        undo: "refused (CannotUndo): reactivating an exposed key needs an explicit force, which no flag gives yet; rotate the key instead",
        tested: "local stack",
    };
    const RESOURCE: &'static str = "IAM access key id";
    const READS: &'static [&'static str] = &[
        iam_keys::GET_ACCESS_KEY_LAST_USED,
        iam_keys::LIST_ACCESS_KEYS,
        iam_keys::LIST_USER_TAGS,
    ];
    type Params = Params;

    fn valid_id(id: &str) -> bool {
        iam_keys::is_access_key_id(id) || iam_keys::user_key(id).is_some()
    }

    fn assess(s: &UserKeys, _: &Params, t: Target<'_>) -> Assessment<Change> {
        let active: Vec<_> = s.considered().filter(|k| k.status == ACTIVE).collect();
        let changes: Vec<Change> = active
            .iter()
            .map(|k| Change::Deactivate {
                user: s.user.clone(),
                access_key_id: k.id.clone(),
            })
            .collect();
        let summary = if active.is_empty() {
            format!(
                "exposed access key {} of user {} is already inactive: nothing to change",
                t.resource, s.user
            )
        } else {
            format!(
                "access key {} of user {} was reported exposed (Trusted Advisor): deactivate it now (not delete); \
                 then rotate it and review its use in CloudTrail",
                t.resource, s.user
            )
        };
        let mut plan = t.plan(summary, changes);
        plan.removes = active.iter().map(|k| iam_keys::removes(&s.user, &k.id)).collect();
        plan.untouched = s
            .keys
            .iter()
            .filter(|k| !active.iter().any(|a| a.id == k.id))
            .map(|k| format!("access key {} ({})", k.id, k.status))
            .chain([format!("user {} and its policies; the key is not deleted", s.user)])
            .collect();
        Assessment {
            offending: active
                .iter()
                .map(|k| format!("exposed access key {} of user {} is active", k.id, s.user))
                .collect(),
            plan,
        }
    }

    /// What an undo would do ([`iam_keys::revert`]) is refused while it would reactivate a key.
    fn cannot_undo(live: &UserKeys, before: &UserKeys) -> Option<String> {
        let keys: Vec<String> = iam_keys::revert(live, before)
            .iter()
            .filter_map(|c| match c {
                Change::Reactivate { access_key_id, .. } => Some(access_key_id.clone()),
                Change::Deactivate { .. } => None,
            })
            .collect();
        (!keys.is_empty()).then(|| {
            format!(
                "reactivating an exposed key needs an explicit force, and no flag gives one yet: access key {} was exposed, \
                 so create a new key for its user instead",
                keys.join(", ")
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::families::helpers::family::{RuleFamily, Tags};
    use crate::families::helpers::iam_keys::tests::{mocked, KEY_NEW, KEY_OLD};
    use crate::families::helpers::iam_keys::{AccessKey, INACTIVE};
    use aws_sdk_iam::operation::get_access_key_last_used::GetAccessKeyLastUsedOutput;
    use aws_sdk_iam::operation::list_access_keys::ListAccessKeysOutput;
    use aws_sdk_iam::operation::update_access_key::UpdateAccessKeyOutput;
    use aws_sdk_iam::types::{AccessKeyMetadata, StatusType};
    use aws_smithy_mocks::{mock, MockResponseInterceptor, RuleMode};

    fn t() -> Target<'static> {
        Target {
            rule_id: "TrustedAdvisor-003",
            resource: KEY_OLD,
            region: "us-east-1",
        }
    }

    fn state(status: &str) -> UserKeys {
        UserKeys {
            user: "bob".into(),
            read_at: 1_800_000_000,
            keys: vec![
                AccessKey {
                    id: KEY_OLD.into(),
                    status: status.into(),
                    created: 1_700_000_000,
                },
                AccessKey {
                    id: KEY_NEW.into(),
                    status: ACTIVE.into(),
                    created: 1_700_000_000,
                },
            ],
            only: Some(KEY_OLD.into()),
        }
    }

    #[test]
    fn the_exposed_key_and_only_it_is_deactivated() {
        let a = IamExposedKey::assess(&state(ACTIVE), &Params {}, t());
        assert_eq!(
            a.plan.changes,
            vec![Change::Deactivate {
                user: "bob".into(),
                access_key_id: KEY_OLD.into()
            }]
        );
        assert!(a.plan.summary.contains("exposed") && a.plan.summary.contains("deactivate"));
        assert_eq!(a.plan.removes, vec![format!("access key {KEY_OLD} of user bob")]);
        assert_eq!(a.plan.untouched[0], format!("access key {KEY_NEW} (Active)"));
        assert_eq!(a.offending.len(), 1);
    }

    #[test]
    fn an_inactive_exposed_key_is_compliant() {
        let a = IamExposedKey::assess(&state(INACTIVE), &Params {}, t());
        assert!(a.plan.is_empty() && a.offending.is_empty());
    }

    #[test]
    fn the_undo_is_refused_by_name_saying_why_and_plans_nothing() {
        use crate::families::helpers::family::{DynFamily, Erased, ResourceState};
        let (before, after) = (state(ACTIVE), state(INACTIVE));
        let fix = IamExposedKey::assess(&before, &Params {}, t()).plan.changes;
        assert_eq!(IamExposedKey::simulate(&before, &fix), after);
        let why = IamExposedKey::cannot_undo(&after, &before).unwrap();
        assert!(
            why.starts_with("reactivating an exposed key needs an explicit force"),
            "{why}"
        );
        assert!(why.contains(KEY_OLD), "{why}");
        assert!(IamExposedKey::cannot_undo(&before, &before).is_none());
        let tag = |s: &UserKeys| {
            let mut v = serde_json::to_value(s).unwrap();
            v["kind"] = "iam-exposed-key".into();
            ResourceState(v)
        };
        let recorded = crate::finding::Recorded {
            execution: "arn:aws:states:us-east-1:111122223333:execution:auto-remediate:fix-1".into(),
            before: tag(&before),
            after: tag(&after),
            partial: None,
        };
        let err = Erased::<IamExposedKey>::NEW
            .restore(&tag(&after), &recorded, t())
            .err()
            .unwrap();
        assert_eq!(err.name(), "CannotUndo");
        assert!(err.to_string().contains("reactivating an exposed key needs"), "{err}");
    }

    #[test]
    fn only_key_ids_are_accepted() {
        assert!(IamExposedKey::valid_id(KEY_OLD));
        assert!(!IamExposedKey::valid_id("bob") && !IamExposedKey::valid_id("ASIAIOSFODNN7EXAMPLE"));
    }

    /// The whole request sequence: find the owner, list its keys, deactivate that key only.
    #[tokio::test]
    async fn read_then_apply_sends_exactly_these_requests() {
        let owner = mock!(aws_sdk_iam::Client::get_access_key_last_used)
            .match_requests(|r| r.access_key_id() == Some(KEY_OLD))
            .then_output(|| GetAccessKeyLastUsedOutput::builder().user_name("bob").build());
        let list = mock!(aws_sdk_iam::Client::list_access_keys)
            .match_requests(|r| r.user_name() == Some("bob"))
            .then_output(|| {
                ListAccessKeysOutput::builder()
                    .access_key_metadata(
                        AccessKeyMetadata::builder()
                            .access_key_id(KEY_OLD)
                            .status(StatusType::Active)
                            .build(),
                    )
                    .access_key_metadata(
                        AccessKeyMetadata::builder()
                            .access_key_id(KEY_NEW)
                            .status(StatusType::Active)
                            .build(),
                    )
                    .build()
                    .unwrap()
            });
        let update = mock!(aws_sdk_iam::Client::update_access_key)
            .match_requests(|r| {
                r.user_name() == Some("bob")
                    && r.access_key_id() == Some(KEY_OLD)
                    && r.status() == Some(&StatusType::Inactive)
            })
            .then_output(|| UpdateAccessKeyOutput::builder().build());
        let ctx = mocked(
            IamExposedKey::READS,
            IamExposedKey::WRITES,
            MockResponseInterceptor::new()
                .rule_mode(RuleMode::Sequential)
                .with_rule(&owner)
                .with_rule(&list)
                .with_rule(&update),
        );
        let read = IamExposedKey::read(&ctx, KEY_OLD, Tags::Skip).await.unwrap().unwrap();
        let a = IamExposedKey::assess(&read.state, &Params {}, t());
        IamExposedKey::apply(&ctx, KEY_OLD, &read.state, &a.plan.changes)
            .await
            .unwrap();
        assert_eq!((owner.num_calls(), list.num_calls(), update.num_calls()), (1, 1, 1));
    }
}
