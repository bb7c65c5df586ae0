//! The blast-radius circuit breaker: at most N `auto` changes per AWS account and rule family
//! in a rolling hour; past it, Classify sends further `auto` findings of that account and family
//! to the approval gate (or to a dry run when no approver is configured), saying why.
//!
//! **Counted**: a finding Classify decides `auto` (not an undo run: an undo is started by an
//! operator, one run per command, under `undo.mode`). Counting where the decision is made is
//! what lets the decision change: Remediate cannot route back to the gate. A counted run that
//! later changes nothing (the resource busy, already compliant by the time of the fresh read)
//! still used its slot: the breaker errs towards asking a person, never towards more changes.
//!
//! **Rolling hour**: one item per account, family and UTC minute
//! (`breaker#<account>#<family>#<minute>`, `minute` = epoch seconds / 60) counts the changes
//! decided in that minute. The window is the current minute and the 59 before it: a change
//! leaves the window between 59 and 60 minutes after it was counted. A decision
//! 1. seals the minute just ended (`SET sealed = true`, returning its count): from then on that
//!    item refuses increments, so a write computed in that minute but still waiting (a burst
//!    queues on the item) cannot land after the count was read; it is retried in the new minute;
//! 2. reads the 58 older minutes (one consistent BatchGetItem; they were sealed long ago, and no
//!    Classify outlives a minute);
//! 3. adds 1 to the current minute's item with `ADD n :one` under
//!    `attribute_not_exists(sealed) AND (attribute_not_exists(n) OR n < :room)`, `room` being the
//!    limit less the closed minutes' sum.
//!
//! The closed minutes no longer change, so the one conditional write decides atomically
//! (DynamoDB serializes the writes to an item; the local gateway does the same for moto):
//! concurrent Classify invocations never take more than the limit in any window.
//! Each item expires by TTL an hour after its minute closes.
//!
//! **Reset**: `auto-remediate breaker reset [--account A] [--family F]` deletes the matching
//! minute items, which reopens the breaker at once; `breaker status` sums them.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};

use crate::error::Error;
use crate::ledger::{conditional, get_n, get_s, n, s, Ledger};

/// One bucket's length.
pub const BUCKET_SECONDS: u64 = 60;
/// The window: this many buckets, the current one included.
pub const WINDOW_BUCKETS: u64 = 60;
/// The item prefix in the state table.
pub const PREFIX: &str = "breaker#";

/// The bucket (minute) a time falls in.
pub fn bucket_of(now: u64) -> u64 {
    now / BUCKET_SECONDS
}

/// The closed buckets still in the window at `now`: the 59 minutes before the current one.
pub fn closed_buckets(now: u64) -> std::ops::Range<u64> {
    let current = bucket_of(now);
    current.saturating_sub(WINDOW_BUCKETS - 1)..current
}

/// Whether a bucket counts in the window at `now`.
pub fn in_window(bucket: u64, now: u64) -> bool {
    let current = bucket_of(now);
    bucket <= current && bucket + WINDOW_BUCKETS > current
}

/// How many more changes the current bucket may take, given the closed buckets' sum.
pub fn room(limit: u64, closed: u64) -> u64 {
    limit.saturating_sub(closed)
}

/// The state-table key of a bucket.
pub fn bucket_key(account: &str, family: &str, bucket: u64) -> String {
    format!("{PREFIX}{account}#{family}#{bucket}")
}

/// When a bucket's item may go: an hour after its minute closes.
fn bucket_expiry(bucket: u64) -> u64 {
    (bucket + 1) * BUCKET_SECONDS + WINDOW_BUCKETS * BUCKET_SECONDS
}

/// A decision of the breaker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// The change is counted: `count` in the window, this one included.
    Closed { count: u64 },
    /// The breaker is open: `count` auto changes already in the window.
    Open { count: u64 },
}

/// What the window holds for one account and family.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WindowCount {
    pub account: String,
    pub family: String,
    /// Auto changes counted within the last hour.
    pub count: u64,
    /// The limit in force when the latest of them was counted.
    pub limit: u64,
    /// Whether further `auto` findings are gated now.
    pub open: bool,
}

/// The reason a gated run records.
pub fn open_reason(count: u64, family: &str, account: &str, limit: u64, gate: &str) -> String {
    format!(
        "circuit breaker open: {count} auto changes for family {family} in account {account} within the last hour \
         (limit {limit}); sent to {gate} until the window clears or `auto-remediate breaker reset` reopens it"
    )
}

impl Ledger {
    /// Counts one `auto` change for `account` and `family` if the window has room under `limit`.
    pub async fn take_auto_change(&self, account: &str, family: &str, limit: u64) -> Result<Admission, Error> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let current = bucket_of(crate::ledger::now_epoch());
            // Seal the minute just ended: a write still in flight for it is refused (and retried
            // in the current minute), so the count read here is that minute's last.
            let previous = self.seal(account, family, current - 1, limit).await?;
            let older = self
                .bucket_counts(
                    account,
                    family,
                    closed_buckets(current * BUCKET_SECONDS).filter(|b| *b + 1 != current),
                )
                .await?;
            let closed = previous + older.values().sum::<u64>();
            let room = room(limit, closed);
            if room == 0 {
                let now = self.bucket_counts(account, family, std::iter::once(current)).await?;
                return Ok(Admission::Open {
                    count: closed + now.values().sum::<u64>(),
                });
            }
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("pk", s(bucket_key(account, family, current)))
                .update_expression("ADD n :one SET expires_at = :exp, #a = :a, #f = :f, #b = :b, #l = :l")
                .condition_expression("attribute_not_exists(sealed) AND (attribute_not_exists(n) OR n < :room)")
                .expression_attribute_names("#a", "account_id")
                .expression_attribute_names("#f", "family")
                .expression_attribute_names("#b", "bucket")
                .expression_attribute_names("#l", "limit")
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":room", n(room))
                .expression_attribute_values(":exp", n(bucket_expiry(current)))
                .expression_attribute_values(":a", s(account))
                .expression_attribute_values(":f", s(family))
                .expression_attribute_values(":b", n(current))
                .expression_attribute_values(":l", n(limit))
                .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
                .send()
                .await
                .map_err(|e| Error::from_sdk("dynamodb:UpdateItem", e));
            let taken = match &result {
                Ok(out) => out
                    .attributes()
                    .and_then(|a| a.get("n"))
                    .and_then(|v| v.as_n().ok())
                    .and_then(|v| v.parse::<u64>().ok()),
                Err(_) => None,
            };
            if conditional(result)? {
                return Ok(Admission::Closed {
                    count: closed + taken.unwrap_or(1),
                });
            }
            // Refused: the minute ended (and was sealed) while this write waited, or the
            // current minute took the room the closed ones left.
            if bucket_of(crate::ledger::now_epoch()) != current && attempt < 3 {
                continue;
            }
            return Ok(Admission::Open { count: closed + room });
        }
    }

    /// Seals a closed minute's bucket against late writes; its final count.
    async fn seal(&self, account: &str, family: &str, bucket: u64, limit: u64) -> Result<u64, Error> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(bucket_key(account, family, bucket)))
            .update_expression(
                "SET sealed = :t, expires_at = :exp, #a = :a, #f = :f, #b = :b, #l = if_not_exists(#l, :l)",
            )
            .expression_attribute_names("#a", "account_id")
            .expression_attribute_names("#f", "family")
            .expression_attribute_names("#b", "bucket")
            .expression_attribute_names("#l", "limit")
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .expression_attribute_values(":exp", n(bucket_expiry(bucket)))
            .expression_attribute_values(":a", s(account))
            .expression_attribute_values(":f", s(family))
            .expression_attribute_values(":b", n(bucket))
            .expression_attribute_values(":l", n(limit))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| Error::from_sdk("dynamodb:UpdateItem", e))?;
        Ok(out
            .attributes()
            .and_then(|a| a.get("n"))
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    /// The counts of some buckets of one account and family (absent buckets: none counted).
    async fn bucket_counts(
        &self,
        account: &str,
        family: &str,
        buckets: impl Iterator<Item = u64>,
    ) -> Result<BTreeMap<u64, u64>, Error> {
        let by_key: HashMap<String, u64> = buckets.map(|b| (bucket_key(account, family, b), b)).collect();
        let mut pending: Vec<HashMap<String, AttributeValue>> = by_key
            .keys()
            .map(|k| HashMap::from([("pk".to_string(), s(k))]))
            .collect();
        let mut out = BTreeMap::new();
        let mut rounds = 0;
        while !pending.is_empty() {
            rounds += 1;
            if rounds > 10 {
                return Err(Error::Aws {
                    operation: "dynamodb:BatchGetItem",
                    code: "UnprocessedKeys".into(),
                    message: "the breaker's window could not be read".into(),
                });
            }
            let keys = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(true)
                .projection_expression("pk, n")
                .build()
                .map_err(|e| Error::InvalidInput(e.to_string()))?;
            let got = self
                .client
                .batch_get_item()
                .request_items(&self.table, keys)
                .send()
                .await
                .map_err(|e| Error::from_sdk("dynamodb:BatchGetItem", e))?;
            for item in got.responses().and_then(|r| r.get(&self.table)).into_iter().flatten() {
                let pk = get_s(item, "pk")?;
                if let Some(b) = by_key.get(&pk) {
                    out.insert(*b, get_n(item, "n").unwrap_or(0));
                }
            }
            if let Some(left) = got.unprocessed_keys().and_then(|u| u.get(&self.table)) {
                pending = left.keys().to_vec();
                tokio::time::sleep(std::time::Duration::from_millis(50 * rounds)).await;
            }
        }
        Ok(out)
    }

    /// Every breaker bucket item: (pk, account, family, bucket, n, limit).
    async fn breaker_items(&self) -> Result<Vec<(String, String, String, u64, u64, u64)>, Error> {
        let mut pages = self
            .client
            .scan()
            .table_name(&self.table)
            .filter_expression("begins_with(pk, :p)")
            .expression_attribute_values(":p", s(PREFIX))
            .consistent_read(true)
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| Error::from_sdk("dynamodb:Scan", e))?;
            for item in page.items() {
                out.push((
                    get_s(item, "pk")?,
                    get_s(item, "account_id")?,
                    get_s(item, "family")?,
                    get_n(item, "bucket")?,
                    get_n(item, "n").unwrap_or(0),
                    get_n(item, "limit").unwrap_or(0),
                ));
            }
        }
        Ok(out)
    }

    /// The auto changes counted within the last hour, per account and family.
    pub async fn breaker_status(&self, now: u64) -> Result<Vec<WindowCount>, Error> {
        let mut by: BTreeMap<(String, String), (u64, u64, u64)> = BTreeMap::new();
        for (_, account, family, bucket, count, limit) in self.breaker_items().await? {
            if !in_window(bucket, now) {
                continue;
            }
            let e = by.entry((account, family)).or_insert((0, 0, 0));
            e.0 += count;
            if bucket >= e.2 {
                e.1 = limit;
                e.2 = bucket;
            }
        }
        Ok(by
            .into_iter()
            .map(|((account, family), (count, limit, _))| WindowCount {
                open: count >= limit,
                account,
                family,
                count,
                limit,
            })
            .collect())
    }

    /// Deletes the counted changes of the matching accounts and families (all when `None`),
    /// which reopens their breaker; returns how many (account, family) windows were cleared.
    pub async fn breaker_reset(&self, account: Option<&str>, family: Option<&str>) -> Result<usize, Error> {
        let mut cleared = std::collections::BTreeSet::new();
        for (pk, a, f, _, _, _) in self.breaker_items().await? {
            if account.is_some_and(|x| x != a) || family.is_some_and(|x| x != f) {
                continue;
            }
            self.client
                .delete_item()
                .table_name(&self.table)
                .key("pk", s(pk))
                .send()
                .await
                .map_err(|e| Error::from_sdk("dynamodb:DeleteItem", e))?;
            cleared.insert((a, f));
        }
        Ok(cleared.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_the_current_minute_and_the_59_before_it() {
        let now = 1_000_000 * 60 + 59; // the last second of minute 1_000_000
        assert_eq!(bucket_of(now), 1_000_000);
        assert_eq!(closed_buckets(now), 999_941..1_000_000);
        assert_eq!(closed_buckets(now).count(), 59);
        assert!(in_window(1_000_000, now));
        assert!(in_window(999_941, now));
        assert!(!in_window(999_940, now), "a change 60 minutes old has left");
        assert!(!in_window(1_000_001, now), "no future bucket counts");
        // A change counted at the very start of a minute leaves the window 59 minutes later at
        // the earliest and 60 at the latest.
        let counted = 1_000_000 * 60;
        assert!(in_window(bucket_of(counted), counted + 59 * 60 - 1));
        assert!(!in_window(bucket_of(counted), counted + 60 * 60));
        assert_eq!(closed_buckets(30), 0..0, "no minute before the epoch");
    }

    #[test]
    fn room_is_what_the_closed_minutes_leave_of_the_limit() {
        assert_eq!(room(20, 0), 20);
        assert_eq!(room(20, 13), 7);
        assert_eq!(room(20, 20), 0);
        assert_eq!(room(20, 35), 0, "a lowered limit leaves no room, never a negative one");
    }

    #[test]
    fn buckets_are_keyed_by_account_family_and_minute_and_expire_an_hour_after_closing() {
        assert_eq!(
            bucket_key("123456789012", "s3-acl", 42),
            "breaker#123456789012#s3-acl#42"
        );
        assert_eq!(bucket_expiry(42), 43 * 60 + 3600);
        assert!(!in_window(42, bucket_expiry(42)));
    }

    #[test]
    fn the_reason_names_the_count_family_account_and_the_way_out() {
        let r = open_reason(20, "s3-acl", "123456789012", 20, "the approval gate");
        assert!(r.starts_with(
            "circuit breaker open: 20 auto changes for family s3-acl in account 123456789012 within the last hour"
        ));
        assert!(r.contains("breaker reset"));
    }
}
