//! What the access-key families have in common (IAM-001/IAM-038 old keys, TrustedAdvisor-003
//! exposed keys): a user's access keys as read, and their deactivation.
//!
//! A key is only ever deactivated (`UpdateAccessKey Status=Inactive`, always with its user's name:
//! without it IAM would act on the caller's own user). Keys are never deleted; the user, its
//! policies, groups, login profile and other keys are never touched.

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::aws::Ctx;
use crate::error::Error;
use crate::families::helpers::family::{Assessment, FamilyDoc, Placement, Read, RuleFamily, Tags, Target};
use crate::families::helpers::kit;
use crate::plan::Describe;

pub const LIST_ACCESS_KEYS: &str = "iam:ListAccessKeys";
pub const GET_ACCESS_KEY_LAST_USED: &str = "iam:GetAccessKeyLastUsed";
pub const LIST_USER_TAGS: &str = "iam:ListUserTags";
pub const UPDATE_ACCESS_KEY: &str = "iam:UpdateAccessKey";

/// IAM is eventually consistent: a status change may take seconds to show in reads.
pub const SETTLE: std::time::Duration = std::time::Duration::from_secs(15);

pub const ACTIVE: &str = "Active";
pub const INACTIVE: &str = "Inactive";

/// An IAM user's long-term access key id (`AKIA` and 16 uppercase letters or digits).
pub fn is_access_key_id(id: &str) -> bool {
    id.len() == 20 && id.starts_with("AKIA") && id.bytes().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// An IAM user name (1-64 of letters, digits and `+=,.@_-`). A temporary (`ASIA...`) key id is
/// not one: it belongs to no user and cannot be deactivated.
pub fn is_user_name(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id.bytes().all(|c| c.is_ascii_alphanumeric() || b"+=,.@_-".contains(&c))
        && !(id.len() == 20
            && id.starts_with("ASIA")
            && id.bytes().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()))
}

/// `user/AKIA...`: one key of one user, as intake names it when the finding's `extradata` gives
/// the key's user (IAM-001/IAM-038 as Conformity sends them).
pub fn user_key(id: &str) -> Option<(&str, &str)> {
    id.split_once('/')
        .filter(|(user, key)| is_user_name(user) && is_access_key_id(key))
}

/// The resource of an access-key finding: `user/key` when the message's `extradata` names the
/// key's user (`UserName`), else the key id (its user found with GetAccessKeyLastUsed) or the
/// user as sent.
pub fn resource_from(sent: &str, extradata: &BTreeMap<String, String>) -> String {
    match extradata.get("UserName") {
        Some(user) if is_access_key_id(sent) && is_user_name(user) => format!("{user}/{sent}"),
        _ => sent.to_string(),
    }
}

/// One access key as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessKey {
    pub id: String,
    /// `Active` or `Inactive`.
    pub status: String,
    /// When it was created (epoch seconds).
    pub created: i64,
}

/// A user's access keys as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserKeys {
    pub user: String,
    /// When they were read (epoch seconds): key ages are measured against it.
    pub read_at: i64,
    pub keys: Vec<AccessKey>,
    /// The one key the finding names, when its resource is an access key id (only that key is
    /// considered); absent when the resource is the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only: Option<String>,
}

impl UserKeys {
    /// The keys the finding is about: the named one, or all the user's.
    pub fn considered(&self) -> impl Iterator<Item = &AccessKey> {
        self.keys
            .iter()
            .filter(move |k| self.only.as_deref().is_none_or(|o| o == k.id))
    }

    /// Whole days since `key` was created, at read time.
    pub fn age_days(&self, key: &AccessKey) -> i64 {
        (self.read_at - key.created).max(0) / 86_400
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action")]
pub enum Change {
    /// `UpdateAccessKey Status=Inactive` for that key of that user.
    #[serde(rename = "iam:DeactivateAccessKey")]
    Deactivate { user: String, access_key_id: String },
    /// An undo's: `UpdateAccessKey Status=Active` for a key recorded active before the fix.
    #[serde(rename = "iam:ReactivateAccessKey")]
    Reactivate { user: String, access_key_id: String },
}

impl Describe for Change {
    fn describe(&self) -> String {
        match self {
            Change::Deactivate { user, access_key_id } => {
                format!("deactivate access key {access_key_id} of user {user}")
            }
            Change::Reactivate { user, access_key_id } => {
                format!("reactivate access key {access_key_id} of user {user} (active before the fix)")
            }
        }
    }
}

/// The canonical line of what a deactivation takes away (a plan's `removes`).
pub fn removes(user: &str, key: &str) -> String {
    format!("access key {key} of user {user}")
}

pub fn iam(ctx: &Ctx) -> aws_sdk_iam::Client {
    crate::sdk_client!(ctx, aws_sdk_iam)
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// IAM's codes for a user or key that does not exist.
const NOT_FOUND: &[&str] = &["NoSuchEntity", "NoSuchEntityException"];

fn not_found(err: &Error) -> bool {
    err.aws_code().is_some_and(|c| NOT_FOUND.contains(&c))
}

/// The user's access keys; `None` when the user does not exist.
pub async fn list_keys(iam: &aws_sdk_iam::Client, user: &str) -> Result<Option<Vec<AccessKey>>, Error> {
    let mut keys = Vec::new();
    let mut pages = iam.list_access_keys().user_name(user).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| Error::from_sdk(LIST_ACCESS_KEYS, e));
        let Some(out) = kit::gone_if(page, NOT_FOUND)? else {
            return Ok(None);
        };
        for k in out.access_key_metadata() {
            let Some(id) = k.access_key_id() else { continue };
            keys.push(AccessKey {
                id: id.to_string(),
                status: k.status().map(|s| s.as_str().to_string()).unwrap_or_default(),
                // A key whose creation date is not reported has no known age: never "old" (fail
                // closed), rather than dated 1970 and deactivated.
                created: k.create_date().map(|d| d.secs()).unwrap_or(i64::MAX),
            });
        }
    }
    Ok(Some(keys))
}

/// The user an access key belongs to; `None` when no user of this account has it.
pub async fn owner(iam: &aws_sdk_iam::Client, key: &str) -> Result<Option<String>, Error> {
    match iam.get_access_key_last_used().access_key_id(key).send().await {
        Ok(out) => Ok(out.user_name().map(str::to_string)),
        Err(e) => {
            let err = Error::from_sdk(GET_ACCESS_KEY_LAST_USED, e);
            if not_found(&err) {
                Ok(None)
            } else {
                Err(err)
            }
        }
    }
}

async fn user_tags(iam: &aws_sdk_iam::Client, user: &str) -> Result<BTreeMap<String, String>, Error> {
    let mut tags = BTreeMap::new();
    let mut pages = iam.list_user_tags().user_name(user).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| Error::from_sdk(LIST_USER_TAGS, e))?;
        tags.extend(page.tags().iter().map(|t| (t.key().to_string(), t.value().to_string())));
    }
    Ok(tags)
}

/// Reads a user's keys (`resource` a user name), or the keys of the user an access key id
/// belongs to with only that key considered (`user/key`, or the key alone: its user is then
/// found with GetAccessKeyLastUsed). `None` when the user or the key does not exist.
pub async fn read(ctx: &Ctx, resource: &str, tags: Tags) -> Result<Option<Read<UserKeys>>, Error> {
    let iam = iam(ctx);
    let (user, only) = if let Some((user, key)) = user_key(resource) {
        (user.to_string(), Some(key.to_string()))
    } else if is_access_key_id(resource) {
        match owner(&iam, resource).await? {
            Some(user) => (user, Some(resource.to_string())),
            None => return Ok(None),
        }
    } else {
        (resource.to_string(), None)
    };
    let read_at = now();
    let Some(keys) = list_keys(&iam, &user).await? else {
        return Ok(None);
    };
    if let Some(key) = &only {
        if !keys.iter().any(|k| &k.id == key) {
            return Err(Error::InvalidInput(format!(
                "access key {key} is not among the keys of user {user:?} (a root or another account's key?): nothing changed"
            )));
        }
    }
    let tags = kit::tags_if(tags, || user_tags(&iam, &user)).await?;
    Ok(Some(Read {
        state: UserKeys {
            user,
            read_at,
            keys,
            only,
        },
        tags,
    }))
}

/// `UpdateAccessKey` with the user's name, the key and `Status=Inactive`, nothing else.
pub async fn deactivate(iam: &aws_sdk_iam::Client, user: &str, key: &str) -> Result<(), Error> {
    iam.update_access_key()
        .user_name(user)
        .access_key_id(key)
        .status(aws_sdk_iam::types::StatusType::Inactive)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| Error::from_sdk(UPDATE_ACCESS_KEY, e))
}

/// `UpdateAccessKey` with the user's name, the key and `Status=Active` (an undo), nothing else.
pub async fn reactivate(iam: &aws_sdk_iam::Client, user: &str, key: &str) -> Result<(), Error> {
    iam.update_access_key()
        .user_name(user)
        .access_key_id(key)
        .status(aws_sdk_iam::types::StatusType::Active)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| Error::from_sdk(UPDATE_ACCESS_KEY, e))
}

/// Deactivates each key of `changes` (deactivating an inactive key is a no-op: idempotent).
/// A failure after some keys were deactivated names what was done.
pub async fn apply(ctx: &Ctx, changes: &[Change]) -> Result<(), Error> {
    let iam = iam(ctx);
    let mut done = Vec::new();
    for change in changes {
        let result = match change {
            Change::Deactivate { user, access_key_id } => deactivate(&iam, user, access_key_id).await,
            Change::Reactivate { user, access_key_id } => reactivate(&iam, user, access_key_id).await,
        };
        match result {
            Ok(()) => done.push(change.describe()),
            Err(e) if done.is_empty() || e.is_retryable() => return Err(e),
            Err(e) => {
                return Err(Error::PartiallyApplied(format!(
                    "done: [{}]; failed: {} ({e}); no key was deleted, re-run to finish",
                    done.join("; "),
                    change.describe()
                )))
            }
        }
    }
    Ok(())
}

pub fn simulate(s: &UserKeys, changes: &[Change]) -> UserKeys {
    let mut out = s.clone();
    for change in changes {
        let (access_key_id, status) = match change {
            Change::Deactivate { access_key_id, .. } => (access_key_id, INACTIVE),
            Change::Reactivate { access_key_id, .. } => (access_key_id, ACTIVE),
        };
        for k in out.keys.iter_mut().filter(|k| &k.id == access_key_id) {
            k.status = status.into();
        }
    }
    out
}

/// An undo's changes: each key recorded `Active` in `before` and inactive now is reactivated;
/// nothing else (a key deactivated before the fix stays so, no key is created or deleted).
pub fn revert(live: &UserKeys, before: &UserKeys) -> Vec<Change> {
    live.keys
        .iter()
        .filter(|k| k.status == INACTIVE)
        .filter(|k| before.keys.iter().any(|b| b.id == k.id && b.status == ACTIVE))
        .map(|k| Change::Reactivate {
            user: live.user.clone(),
            access_key_id: k.id.clone(),
        })
        .collect()
}

pub fn diff(before: &UserKeys, after: &UserKeys) -> Vec<String> {
    let mut out = Vec::new();
    for b in &before.keys {
        match after.keys.iter().find(|a| a.id == b.id) {
            Some(a) if a.status != b.status => out.push(format!(
                "access key {} of user {}: {} → {}",
                b.id, before.user, b.status, a.status
            )),
            Some(_) => {}
            None => out.push(format!("access key {} of user {} is gone", b.id, before.user)),
        }
    }
    for a in after.keys.iter().filter(|a| !before.keys.iter().any(|b| b.id == a.id)) {
        out.push(format!(
            "access key {} of user {} appeared ({})",
            a.id, after.user, a.status
        ));
    }
    out
}

/// One access-key rule: its name and words, the ids it takes, and what fails it. Everything else
/// (the read, the deactivation, simulate, diff and the undo) is the same for every such rule and
/// is [`KeyFamily`]'s.
pub trait KeyRule: Send + Sync + 'static {
    /// [`RuleFamily::NAME`].
    const NAME: &'static str;
    /// [`RuleFamily::DOC`].
    const DOC: FamilyDoc;
    /// [`RuleFamily::RESOURCE`].
    const RESOURCE: &'static str;
    /// [`RuleFamily::READS`] (this module's reads, in the order the rule declares them).
    const READS: &'static [&'static str];
    type Params: DeserializeOwned + Send + Sync;

    /// [`RuleFamily::valid_id`].
    fn valid_id(id: &str) -> bool;

    /// [`RuleFamily::assess`].
    fn assess(s: &UserKeys, p: &Self::Params, t: Target<'_>) -> Assessment<Change>;

    /// [`RuleFamily::cannot_undo`].
    fn cannot_undo(_live: &UserKeys, _before: &UserKeys) -> Option<String> {
        None
    }
}

/// The family of an access-key rule `R`: global, reading a user's keys with [`read`], changing
/// them with [`apply`] (deactivations, and an undo's reactivations) and nothing else.
pub struct KeyFamily<R>(PhantomData<R>);

impl<R: KeyRule> RuleFamily for KeyFamily<R> {
    const NAME: &'static str = R::NAME;
    const DOC: FamilyDoc = R::DOC;
    const RESOURCE: &'static str = R::RESOURCE;
    const PLACEMENT: Placement = Placement::Global;
    const READS: &'static [&'static str] = R::READS;
    const WRITES: &'static [&'static str] = &[UPDATE_ACCESS_KEY];
    const SETTLE: std::time::Duration = SETTLE;
    type Params = R::Params;
    type State = UserKeys;
    type Change = Change;

    fn valid_id(id: &str) -> bool {
        R::valid_id(id)
    }

    fn resource_from(sent: &str, extradata: &BTreeMap<String, String>) -> String {
        resource_from(sent, extradata)
    }

    async fn read(ctx: &Ctx, resource: &str, tags: Tags) -> Result<Option<Read<UserKeys>>, Error> {
        read(ctx, resource, tags).await
    }

    fn assess(s: &UserKeys, p: &R::Params, t: Target<'_>) -> Assessment<Change> {
        R::assess(s, p, t)
    }

    async fn apply(ctx: &Ctx, _: &str, _: &UserKeys, changes: &[Change]) -> Result<(), Error> {
        apply(ctx, changes).await
    }

    fn simulate(s: &UserKeys, changes: &[Change]) -> UserKeys {
        simulate(s, changes)
    }

    fn diff(before: &UserKeys, after: &UserKeys) -> Vec<String> {
        diff(before, after)
    }

    /// What an undo would do; [`KeyRule::cannot_undo`] may refuse it first.
    fn revert(live: &UserKeys, before: &UserKeys) -> Option<Vec<Change>> {
        Some(revert(live, before))
    }

    fn cannot_undo(live: &UserKeys, before: &UserKeys) -> Option<String> {
        R::cannot_undo(live, before)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use aws_sdk_iam::operation::get_access_key_last_used::GetAccessKeyLastUsedOutput;
    use aws_sdk_iam::operation::list_access_keys::ListAccessKeysOutput;
    use aws_sdk_iam::operation::update_access_key::UpdateAccessKeyOutput;
    use aws_sdk_iam::types::{AccessKeyMetadata, StatusType};
    use aws_smithy_mocks::{mock, MockResponseInterceptor, RuleMode};

    /// A context whose clients answer from `mocks` only, guarded by the given declarations.
    pub(crate) fn mocked(
        reads: &'static [&'static str],
        writes: &'static [&'static str],
        mocks: MockResponseInterceptor,
    ) -> Ctx {
        crate::families::helpers::mock_ctx::with_mocks(reads, writes, mocks)
    }

    pub(crate) const KEY_OLD: &str = "AKIAOLD0000000000001";
    pub(crate) const KEY_NEW: &str = "AKIANEW0000000000002";

    #[test]
    fn ids_are_user_names_or_long_term_key_ids() {
        assert!(is_access_key_id("AKIAIOSFODNN7EXAMPLE"));
        assert!(!is_access_key_id("ASIAIOSFODNN7EXAMPLE") && !is_access_key_id("AKIAshort"));
        assert!(is_user_name("alice") && is_user_name("svc.deploy+ci@example.com"));
        for bad in [
            "",
            "../alice",
            "a/b",
            "alice bob",
            "ASIAIOSFODNN7EXAMPLE",
            &"x".repeat(65),
        ] {
            assert!(!is_user_name(bad), "{bad}");
        }
    }

    #[tokio::test]
    async fn a_key_is_read_with_its_user_and_only_that_key_is_considered() {
        let owner = mock!(aws_sdk_iam::Client::get_access_key_last_used)
            .match_requests(|r| r.access_key_id() == Some(KEY_OLD))
            .then_output(|| GetAccessKeyLastUsedOutput::builder().user_name("alice").build());
        let list = mock!(aws_sdk_iam::Client::list_access_keys)
            .match_requests(|r| r.user_name() == Some("alice"))
            .then_output(|| {
                let key = |id: &str, s: StatusType| {
                    AccessKeyMetadata::builder()
                        .user_name("alice")
                        .access_key_id(id)
                        .status(s)
                        .create_date(aws_smithy_types::DateTime::from_secs(1_000))
                        .build()
                };
                ListAccessKeysOutput::builder()
                    .access_key_metadata(key(KEY_OLD, StatusType::Active))
                    .access_key_metadata(key(KEY_NEW, StatusType::Active))
                    .build()
                    .unwrap()
            });
        let ctx = mocked(
            &[GET_ACCESS_KEY_LAST_USED, LIST_ACCESS_KEYS],
            &[],
            MockResponseInterceptor::new()
                .rule_mode(RuleMode::Sequential)
                .with_rule(&owner)
                .with_rule(&list),
        );
        let read = read(&ctx, KEY_OLD, Tags::Skip).await.unwrap().unwrap();
        assert_eq!(read.state.user, "alice");
        assert_eq!(read.state.only.as_deref(), Some(KEY_OLD));
        assert_eq!(read.state.keys.len(), 2);
        assert_eq!(read.state.keys[0].created, 1_000);
        assert_eq!(
            read.state.considered().map(|k| k.id.as_str()).collect::<Vec<_>>(),
            vec![KEY_OLD]
        );
    }

    #[tokio::test]
    async fn an_unknown_user_or_key_reads_as_none() {
        let no_user = mock!(aws_sdk_iam::Client::list_access_keys).then_error(|| {
            aws_sdk_iam::operation::list_access_keys::ListAccessKeysError::generic(
                aws_sdk_iam::error::ErrorMetadata::builder()
                    .code("NoSuchEntity")
                    .build(),
            )
        });
        let no_key = mock!(aws_sdk_iam::Client::get_access_key_last_used).then_error(|| {
            aws_sdk_iam::operation::get_access_key_last_used::GetAccessKeyLastUsedError::generic(
                aws_sdk_iam::error::ErrorMetadata::builder()
                    .code("NoSuchEntity")
                    .build(),
            )
        });
        let ctx = mocked(
            &[GET_ACCESS_KEY_LAST_USED, LIST_ACCESS_KEYS],
            &[],
            MockResponseInterceptor::new()
                .rule_mode(RuleMode::Sequential)
                .with_rule(&no_user)
                .with_rule(&no_key),
        );
        assert!(read(&ctx, "gone-user", Tags::Skip).await.unwrap().is_none());
        assert!(read(&ctx, KEY_OLD, Tags::Skip).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn apply_sends_one_update_per_key_with_the_user_and_status_inactive() {
        let update = |key: &'static str| {
            mock!(aws_sdk_iam::Client::update_access_key)
                .match_requests(move |r| {
                    r.user_name() == Some("alice")
                        && r.access_key_id() == Some(key)
                        && r.status() == Some(&StatusType::Inactive)
                })
                .then_output(|| UpdateAccessKeyOutput::builder().build())
        };
        let (a, b) = (update(KEY_OLD), update(KEY_NEW));
        let ctx = mocked(
            &[],
            &[UPDATE_ACCESS_KEY],
            MockResponseInterceptor::new()
                .rule_mode(RuleMode::Sequential)
                .with_rule(&a)
                .with_rule(&b),
        );
        let changes = [KEY_OLD, KEY_NEW].map(|k| Change::Deactivate {
            user: "alice".into(),
            access_key_id: k.into(),
        });
        apply(&ctx, &changes).await.unwrap();
        assert_eq!((a.num_calls(), b.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn an_undeclared_call_is_refused_before_it_is_sent() {
        let update =
            mock!(aws_sdk_iam::Client::update_access_key).then_output(|| UpdateAccessKeyOutput::builder().build());
        let ctx = mocked(
            &[LIST_ACCESS_KEYS],
            &[],
            MockResponseInterceptor::new().with_rule(&update),
        );
        let err = apply(
            &ctx,
            &[Change::Deactivate {
                user: "alice".into(),
                access_key_id: KEY_OLD.into(),
            }],
        )
        .await
        .unwrap_err();
        assert_eq!(err.name(), "UndeclaredAction");
        assert_eq!(update.num_calls(), 0, "nothing was sent");
    }
}
