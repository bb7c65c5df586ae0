//! The blast-radius circuit breaker: at most N `auto` changes per AWS account and rule family
//! in a rolling hour, and at most M fixes that failed verification; past either, Classify sends
//! further `auto` findings of that account and family to the approval gate (or to a dry run when
//! no approver is configured), saying why, and one notification tells the outcome topic.
//!
//! **Counted**: a finding Classify decides `auto` (not an undo run: an undo is started by an
//! operator, one run per command, under `undo.mode`). Counting where the decision is made is
//! what lets the decision change: Remediate cannot route back to the gate. A counted run that
//! later changes nothing (the resource busy, already compliant by the time of the fresh read)
//! still used its slot: the breaker errs towards asking a person, never towards more changes.
//! Verify counts a fix that did not hold (the rule still fails once the family's settle time is
//! over), whatever its gate (an undo excepted), as that run's execution name in the minute's
//! set `failed_runs`: a set, so a Verify retried within the minute counts once.
//!
//! **Rolling hour**: one item per account, family and UTC minute
//! (`breaker#<account>#<family>#<minute>`, `minute` = epoch seconds / 60) counts the changes
//! decided in that minute (`n`) and the fixes that failed verification (`failed_runs`). The
//! window is the current minute and the 59 before it: a change leaves the window between 59 and
//! 60 minutes after it was counted. A decision
//! 1. reads the 59 closed minutes, the current one and the trip marker (one consistent
//!    BatchGetItem; the older minutes were sealed long ago, and no Classify outlives a minute);
//! 2. seals the minute just ended unless the read found it sealed (`SET sealed = true`,
//!    returning its count): from then on that item refuses increments, so a write computed in
//!    that minute but still waiting (a burst queues on the item) cannot land after the count was
//!    read; it is retried in the new minute. Only a minute's first decision writes here, so a
//!    burst does not queue on the item; verification failures at their limit open the breaker;
//! 3. adds 1 to the current minute's item with `ADD n :one` under
//!    `attribute_not_exists(sealed) AND (attribute_not_exists(n) OR n < :room)`, `room` being the
//!    limit less the closed minutes' sum.
//!
//! The closed minutes no longer change, so the one conditional write decides atomically
//! (DynamoDB serializes the writes to an item; the local gateway does the same for moto):
//! concurrent Classify invocations never take more than the limit in any window.
//! Each item expires by TTL an hour after its minute closes.
//!
//! **Tripped**: a finding refused writes `breaker#<account>#<family>#tripped` with `until`, the
//! time the window clears (the counts it saw, less the oldest minutes, fall below the limit),
//! under `attribute_not_exists(until) OR until < :until`, asking for the old value: the write
//! that finds no `until`, or one already past, opened the breaker, and only its Classify
//! notifies. Every other refusal of the same episode finds a live `until` (the conditional
//! write fails, or only pushes `until` later when more failures came in), so a burst of refusals
//! and any redelivery give one notification; once `until` has passed the breaker had closed,
//! and the next refusal is a new trip.
//!
//! **Reset**: `auto-remediate breaker reset [--account A] [--family F]` deletes the matching
//! minute items and trip markers, which reopens the breaker at once (a later trip notifies
//! again); `breaker status` sums them.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, ReturnValue};

pub use crate::config::Limits;
use crate::error::Error;
use crate::ledger::{conditional, get_n, get_s, n, s, Ledger};

/// One bucket's length.
pub const BUCKET_SECONDS: u64 = 60;
/// The window: this many buckets, the current one included.
pub const WINDOW_BUCKETS: u64 = 60;
/// The item prefix in the state table.
pub const PREFIX: &str = "breaker#";
/// The EMF metric counting each trip (dimensions `Family`, `Family`+`Cause`).
pub const TRIPPED_METRIC: &str = "BreakerTripped";
/// The message attribute `event` of a trip notification on the outcome topic.
pub const TRIPPED_EVENT: &str = "BreakerTripped";

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

/// The state-table key of an account and family's trip marker.
pub fn trip_key(account: &str, family: &str) -> String {
    format!("{PREFIX}{account}#{family}#tripped")
}

/// When a bucket's item may go: an hour after its minute closes.
fn bucket_expiry(bucket: u64) -> u64 {
    (bucket + 1) * BUCKET_SECONDS + WINDOW_BUCKETS * BUCKET_SECONDS
}

/// When a window holding `counts` (bucket, count; the current bucket `current` included) stops
/// holding `limit` or more, nothing more being counted: the moment the bucket whose leaving
/// brings the sum under the limit leaves. A window already under it clears with the current minute.
pub fn clears_at(counts: &BTreeMap<u64, u64>, limit: u64, current: u64) -> u64 {
    let mut left: u64 = counts.values().sum();
    if left >= limit {
        for (bucket, count) in counts {
            left -= count;
            if left < limit {
                return (bucket + WINDOW_BUCKETS) * BUCKET_SECONDS;
            }
        }
    }
    (current + 1) * BUCKET_SECONDS
}

/// Why a breaker is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The hour's `auto` changes reached `breaker.max_auto_changes_per_hour` (or the family's).
    AutoChanges,
    /// The hour's fixes that failed verification reached `breaker.max_verification_failures_per_hour`.
    VerificationFailures,
}

impl Cause {
    pub fn name(self) -> &'static str {
        match self {
            Cause::AutoChanges => "AutoChanges",
            Cause::VerificationFailures => "VerificationFailures",
        }
    }

    /// The config key whose limit was reached.
    pub fn config_key(self) -> &'static str {
        match self {
            Cause::AutoChanges => "breaker.max_auto_changes_per_hour",
            Cause::VerificationFailures => "breaker.max_verification_failures_per_hour",
        }
    }

    /// `count` of them, in words.
    fn counted(self, count: u64) -> String {
        match self {
            Cause::AutoChanges => format!("{count} auto changes"),
            Cause::VerificationFailures => format!("{count} fixes failed verification"),
        }
    }
}

/// An open breaker, as one refusal saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trip {
    pub cause: Cause,
    /// What was counted within the hour (changes, or failed fixes).
    pub count: u64,
    pub limit: u64,
    /// When the window clears (epoch seconds) unless more is counted.
    pub until: u64,
    /// The trip marker's `until` as read with the window (`None`: no marker): a refusal that
    /// finds it live and not earlier than its own `until` has nothing to write.
    pub marked_until: Option<u64>,
}

/// A decision of the breaker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// The change may go: counted (`count` in the window, this one included), or not counted
    /// when the change limit is off for the family (`None`).
    Closed { count: Option<u64> },
    /// The breaker is open.
    Open(Trip),
}

/// What the window holds for one account and family.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WindowCount {
    pub account: String,
    pub family: String,
    /// Auto changes counted within the last hour.
    pub count: u64,
    /// The change limit in force when the latest of them was counted (0: none counted).
    pub limit: u64,
    /// Fixes that failed verification within the last hour.
    pub verification_failures: u64,
    /// The failure limit in force when the latest of them was counted (0: none counted).
    pub verification_failure_limit: u64,
    /// Whether further `auto` findings are gated now.
    pub open: bool,
    /// Until when the latest trip holds it open (epoch seconds), unless more is counted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_until: Option<u64>,
}

/// The reason a gated run records.
pub fn open_reason(trip: &Trip, family: &str, account: &str, gate: &str) -> String {
    let what = match trip.cause {
        Cause::AutoChanges => format!("{} auto changes for family {family} in account {account}", trip.count),
        Cause::VerificationFailures => format!(
            "{} fixes for family {family} in account {account} failed verification",
            trip.count
        ),
    };
    format!(
        "circuit breaker open: {what} within the last hour (limit {}); sent to {gate} until the window clears \
         or `auto-remediate breaker reset` reopens it",
        trip.limit
    )
}

/// The trip notification: (subject, body, message attributes). `first` names the finding that
/// found it open (rule and resource).
pub fn trip_message(
    trip: &Trip,
    account: &str,
    family: &str,
    gate: &str,
    first: &str,
) -> (String, String, Vec<(&'static str, String)>) {
    let subject = format!("{TRIPPED_EVENT}: {family} in {account}");
    let clears = aws_smithy_types::DateTime::from_secs(trip.until as i64)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_else(|_| trip.until.to_string());
    let lines = [
        format!("{TRIPPED_EVENT} The circuit breaker opened: `auto` findings of this family in this account now wait for a person."),
        String::new(),
        format!("{:<12}{account}", "Account:"),
        format!("{:<12}{family}", "Family:"),
        format!(
            "{:<12}{} within the last hour, limit {} ({})",
            "Why:",
            trip.cause.counted(trip.count),
            trip.limit,
            trip.cause.config_key()
        ),
        format!(
            "{:<12}a rolling hour, counted per minute; it clears at {clears} unless more are counted",
            "Window:"
        ),
        format!(
            "{:<12}`auto` findings of {family} in {account} go to {gate}; other modes and families are unchanged",
            "Findings:"
        ),
        format!("{:<12}{first}", "First held:"),
        String::new(),
        format!("{:<12}auto-remediate breaker status", "Status:"),
        format!("{:<12}auto-remediate breaker reset --account {account} --family {family}", "Reset:"),
    ];
    let attributes = vec![
        ("event", TRIPPED_EVENT.to_string()),
        ("cause", trip.cause.name().to_string()),
        ("account_id", account.to_string()),
        ("family", family.to_string()),
    ];
    (subject, lines.join("\n") + "\n", attributes)
}

/// What one minute's item holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Bucket {
    changes: u64,
    failures: u64,
    /// Refuses further changes (its minute has ended and a decision read its final count).
    sealed: bool,
}

impl Bucket {
    fn of(item: &HashMap<String, AttributeValue>) -> Bucket {
        Bucket {
            changes: get_n(item, "n").unwrap_or(0),
            failures: item
                .get("failed_runs")
                .and_then(|v| v.as_ss().ok())
                .map_or(0, |set| set.len() as u64),
            sealed: item
                .get("sealed")
                .and_then(|v| v.as_bool().ok())
                .copied()
                .unwrap_or(false),
        }
    }
}

/// One breaker item of the state table: a minute's bucket or a trip marker.
#[derive(Debug, Clone)]
struct Item {
    pk: String,
    account: String,
    family: String,
    /// The minute, for a bucket; `None` for a trip marker.
    bucket: Option<u64>,
    counts: Bucket,
    limit: Option<u64>,
    failure_limit: Option<u64>,
    /// A trip marker's `until`.
    until: Option<u64>,
}

impl Ledger {
    /// Counts one `auto` change for `account` and `family` if the breaker is closed: the fixes
    /// that failed verification within the hour are under `limits.failures` and the window has
    /// room under `limits.changes`.
    pub async fn take_auto_change(&self, account: &str, family: &str, limits: Limits) -> Result<Admission, Error> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let current = bucket_of(crate::ledger::now_epoch());
            let closed = closed_buckets(current * BUCKET_SECONDS);
            let (mut window, marked_until) = self
                .window(account, family, closed.chain(std::iter::once(current)))
                .await?;
            if let Some(limit) = limits.changes {
                // Seal the minute just ended, unless the read found it sealed: a write still in
                // flight for it is refused (and retried in the current minute), so the count used
                // here is that minute's last. Only the minute's first decision writes: the rest
                // do not queue on the item.
                let previous = current - 1;
                if !window.get(&previous).is_some_and(|b| b.sealed) {
                    let sealed = self.seal(account, family, previous, limit).await?;
                    window.insert(previous, sealed);
                }
            }
            if let Some(limit) = limits.failures {
                let failures: BTreeMap<u64, u64> = window.iter().map(|(b, c)| (*b, c.failures)).collect();
                let count = failures.values().sum::<u64>();
                if count >= limit {
                    return Ok(Admission::Open(Trip {
                        cause: Cause::VerificationFailures,
                        count,
                        limit,
                        until: clears_at(&failures, limit, current),
                        marked_until,
                    }));
                }
            }
            let Some(limit) = limits.changes else {
                return Ok(Admission::Closed { count: None });
            };
            let closed: u64 = window.range(..current).map(|(_, c)| c.changes).sum();
            let room = room(limit, closed);
            let open = |window: &BTreeMap<u64, Bucket>| {
                let changes: BTreeMap<u64, u64> = window.iter().map(|(b, c)| (*b, c.changes)).collect();
                Admission::Open(Trip {
                    cause: Cause::AutoChanges,
                    count: changes.values().sum(),
                    limit,
                    until: clears_at(&changes, limit, current),
                    marked_until,
                })
            };
            // Full already, as read: the conditional write would be refused, so it is not queued
            // behind the burst's other writes on the same item (DynamoDB serializes writes to one
            // item; so does the local stack). Only within the minute read: past it, the minute
            // read is a closed one and the decision is made again below.
            let taken_now = window.get(&current).map_or(0, |b| b.changes);
            if room == 0 || (taken_now >= room && bucket_of(crate::ledger::now_epoch()) == current) {
                return Ok(open(&window));
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
                .return_values(ReturnValue::UpdatedNew)
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
                    count: Some(closed + taken.unwrap_or(1)),
                });
            }
            // Refused: the minute ended (and was sealed) while this write waited, or the
            // current minute took the room the closed ones left.
            if bucket_of(crate::ledger::now_epoch()) != current && attempt < 3 {
                continue;
            }
            let now = window.entry(current).or_default();
            now.changes = now.changes.max(room);
            return Ok(open(&window));
        }
    }

    /// Marks the breaker of `account` and `family` tripped until `trip.until`: `true` when this
    /// call opened it (no trip marker, or one whose `until` had passed), which only one of any
    /// number of concurrent refusals sees; a later `until` only extends the marker.
    pub async fn mark_tripped(&self, account: &str, family: &str, trip: &Trip) -> Result<bool, Error> {
        if !needs_marking(trip) {
            // Live (its `until` is later than now, as `trip.until` is) and not to be extended:
            // no write, so a burst of refusals does not queue on the marker.
            return Ok(false);
        }
        let now = crate::ledger::now_epoch();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(trip_key(account, family)))
            .update_expression(
                "SET #u = :until, expires_at = :exp, #a = :a, #f = :f, #k = :k, #c = :c, #n = :n, #l = :l",
            )
            .condition_expression("attribute_not_exists(#u) OR #u < :until")
            .expression_attribute_names("#u", "until")
            .expression_attribute_names("#a", "account_id")
            .expression_attribute_names("#f", "family")
            .expression_attribute_names("#k", "kind")
            .expression_attribute_names("#c", "cause")
            .expression_attribute_names("#n", "count")
            .expression_attribute_names("#l", "limit")
            .expression_attribute_values(":until", n(trip.until))
            .expression_attribute_values(":exp", n(trip.until + WINDOW_BUCKETS * BUCKET_SECONDS))
            .expression_attribute_values(":a", s(account))
            .expression_attribute_values(":f", s(family))
            .expression_attribute_values(":k", s("tripped"))
            .expression_attribute_values(":c", s(trip.cause.name()))
            .expression_attribute_values(":n", n(trip.count))
            .expression_attribute_values(":l", n(trip.limit))
            .return_values(ReturnValue::UpdatedOld)
            .send()
            .await
            .map_err(|e| Error::from_sdk("dynamodb:UpdateItem", e));
        let old_until = match &result {
            Ok(out) => out
                .attributes()
                .and_then(|a| a.get("until"))
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse::<u64>().ok()),
            Err(_) => None,
        };
        Ok(conditional(result)? && old_until.is_none_or(|u| u <= now))
    }

    /// Takes back a trip marker this call wrote (its notification could not be sent), so that
    /// the next refusal notifies; a marker another refusal has since extended is left.
    pub async fn unmark_tripped(&self, account: &str, family: &str, trip: &Trip) -> Result<(), Error> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(trip_key(account, family)))
            .condition_expression("#u = :until")
            .expression_attribute_names("#u", "until")
            .expression_attribute_values(":until", n(trip.until))
            .send()
            .await
            .map_err(|e| Error::from_sdk("dynamodb:DeleteItem", e));
        conditional(result).map(|_| ())
    }

    /// Counts a fix of `execution` that did not hold (Verify found the rule still failing) in
    /// the current minute; `limit` is the failure limit in force. Counting one execution twice
    /// within a minute counts it once (a string set).
    pub async fn record_verification_failure(
        &self,
        account: &str,
        family: &str,
        execution: &str,
        limit: u64,
    ) -> Result<(), Error> {
        let current = bucket_of(crate::ledger::now_epoch());
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(bucket_key(account, family, current)))
            .update_expression("ADD failed_runs :run SET expires_at = :exp, #a = :a, #f = :f, #b = :b, #fl = :fl")
            .expression_attribute_names("#a", "account_id")
            .expression_attribute_names("#f", "family")
            .expression_attribute_names("#b", "bucket")
            .expression_attribute_names("#fl", "failure_limit")
            .expression_attribute_values(":run", AttributeValue::Ss(vec![execution.to_string()]))
            .expression_attribute_values(":exp", n(bucket_expiry(current)))
            .expression_attribute_values(":a", s(account))
            .expression_attribute_values(":f", s(family))
            .expression_attribute_values(":b", n(current))
            .expression_attribute_values(":fl", n(limit))
            .send()
            .await
            .map_err(|e| Error::from_sdk("dynamodb:UpdateItem", e))?;
        Ok(())
    }

    /// Seals a closed minute's bucket against late writes; what it finally holds.
    async fn seal(&self, account: &str, family: &str, bucket: u64, limit: u64) -> Result<Bucket, Error> {
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
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| Error::from_sdk("dynamodb:UpdateItem", e))?;
        Ok(out.attributes().map(Bucket::of).unwrap_or_default())
    }

    /// What some buckets of one account and family hold (absent buckets: nothing counted), and
    /// the `until` of its trip marker, in one consistent read.
    async fn window(
        &self,
        account: &str,
        family: &str,
        buckets: impl Iterator<Item = u64>,
    ) -> Result<(BTreeMap<u64, Bucket>, Option<u64>), Error> {
        let by_key: HashMap<String, u64> = buckets.map(|b| (bucket_key(account, family, b), b)).collect();
        let marker = trip_key(account, family);
        let mut pending: Vec<HashMap<String, AttributeValue>> = by_key
            .keys()
            .chain(std::iter::once(&marker))
            .map(|k| HashMap::from([("pk".to_string(), s(k))]))
            .collect();
        let mut out = BTreeMap::new();
        let mut marked_until = None;
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
                .projection_expression("pk, n, failed_runs, sealed, #u")
                .expression_attribute_names("#u", "until")
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
                    out.insert(*b, Bucket::of(item));
                } else if pk == marker {
                    marked_until = get_n(item, "until").ok();
                }
            }
            if let Some(left) = got.unprocessed_keys().and_then(|u| u.get(&self.table)) {
                pending = left.keys().to_vec();
                tokio::time::sleep(std::time::Duration::from_millis(50 * rounds)).await;
            }
        }
        Ok((out, marked_until))
    }

    /// Every breaker item: the minutes' buckets and the trip markers.
    async fn breaker_items(&self) -> Result<Vec<Item>, Error> {
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
                let until = get_n(item, "until").ok();
                out.push(Item {
                    pk: get_s(item, "pk")?,
                    account: get_s(item, "account_id")?,
                    family: get_s(item, "family")?,
                    bucket: match until {
                        Some(_) => None,
                        None => Some(get_n(item, "bucket")?),
                    },
                    counts: Bucket::of(item),
                    limit: get_n(item, "limit").ok(),
                    failure_limit: get_n(item, "failure_limit").ok(),
                    until,
                });
            }
        }
        Ok(out)
    }

    /// The auto changes and failed fixes counted within the last hour, per account and family.
    pub async fn breaker_status(&self, now: u64) -> Result<Vec<WindowCount>, Error> {
        Ok(window_counts(self.breaker_items().await?, now))
    }

    /// Deletes the counted changes, failed fixes and trip markers of the matching accounts and
    /// families (all when `None`), which reopens their breaker; returns how many (account,
    /// family) windows were cleared.
    pub async fn breaker_reset(&self, account: Option<&str>, family: Option<&str>) -> Result<usize, Error> {
        let mut cleared = std::collections::BTreeSet::new();
        for item in self.breaker_items().await? {
            if account.is_some_and(|x| x != item.account) || family.is_some_and(|x| x != item.family) {
                continue;
            }
            self.client
                .delete_item()
                .table_name(&self.table)
                .key("pk", s(item.pk))
                .send()
                .await
                .map_err(|e| Error::from_sdk("dynamodb:DeleteItem", e))?;
            cleared.insert((item.account, item.family));
        }
        Ok(cleared.len())
    }
}

/// Whether a refusal must write the trip marker: there was none, or its `until` is earlier than
/// this refusal's (passed: a new trip; else more failures came in and push it later).
fn needs_marking(trip: &Trip) -> bool {
    trip.marked_until.is_none_or(|u| u < trip.until)
}

/// Sums the items in the window at `now` per account and family.
fn window_counts(items: Vec<Item>, now: u64) -> Vec<WindowCount> {
    #[derive(Default)]
    struct Acc {
        counts: Bucket,
        limit: Option<(u64, u64)>,
        failure_limit: Option<(u64, u64)>,
        until: Option<u64>,
    }
    let latest = |slot: &mut Option<(u64, u64)>, bucket: u64, value: Option<u64>| {
        if let Some(v) = value {
            if slot.is_none_or(|(b, _)| bucket >= b) {
                *slot = Some((bucket, v));
            }
        }
    };
    let mut by: BTreeMap<(String, String), Acc> = BTreeMap::new();
    for item in items {
        match item.bucket {
            Some(bucket) if in_window(bucket, now) => {
                let e = by.entry((item.account, item.family)).or_default();
                e.counts.changes += item.counts.changes;
                e.counts.failures += item.counts.failures;
                latest(&mut e.limit, bucket, item.limit.filter(|_| item.counts.changes > 0));
                latest(
                    &mut e.failure_limit,
                    bucket,
                    item.failure_limit.filter(|_| item.counts.failures > 0),
                );
            }
            None if item.until.is_some_and(|u| u > now) => {
                by.entry((item.account, item.family)).or_default().until = item.until;
            }
            _ => {}
        }
    }
    by.into_iter()
        .map(|((account, family), a)| {
            let limit = a.limit.map_or(0, |(_, l)| l);
            let failure_limit = a.failure_limit.map_or(0, |(_, l)| l);
            WindowCount {
                open: a.until.is_some()
                    || (limit > 0 && a.counts.changes >= limit)
                    || (failure_limit > 0 && a.counts.failures >= failure_limit),
                account,
                family,
                count: a.counts.changes,
                limit,
                verification_failures: a.counts.failures,
                verification_failure_limit: failure_limit,
                open_until: a.until,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
