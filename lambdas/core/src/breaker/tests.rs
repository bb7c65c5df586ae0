//! Unit tests of [`super`], kept beside it in their own file.

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
    assert_eq!(
        trip_key("123456789012", "s3-acl"),
        "breaker#123456789012#s3-acl#tripped"
    );
    assert!(
        trip_key("1", "f").starts_with(PREFIX),
        "reset and status find the trip marker"
    );
}

#[test]
fn a_window_clears_when_the_minute_that_brings_it_under_the_limit_leaves() {
    // 20 changes: 5 in minute 100, 10 in 110, 5 in 120 (current 130), limit 20.
    let counts = BTreeMap::from([(100, 5), (110, 10), (120, 5), (130, 0)]);
    assert_eq!(
        clears_at(&counts, 20, 130),
        160 * 60,
        "minute 100 leaves at the start of 160"
    );
    // Limit 10: 20 → 15 (100 leaves) → 5 (110 leaves, at 170).
    assert_eq!(clears_at(&counts, 10, 130), 170 * 60);
    // Limit 1: every change must leave.
    assert_eq!(clears_at(&counts, 1, 130), 180 * 60);
    // Already under the limit (a refusal racing a reset): the end of the current minute.
    assert_eq!(clears_at(&counts, 21, 130), 131 * 60);
    assert_eq!(clears_at(&BTreeMap::new(), 5, 130), 131 * 60);
    // Always later than any time in the current minute, so a trip is never born expired.
    for limit in 1..=25 {
        assert!(clears_at(&counts, limit, 130) > 130 * 60 + 59, "limit {limit}");
    }
}

#[test]
fn the_reason_names_the_cause_count_family_account_and_the_way_out() {
    let trip = Trip {
        cause: Cause::AutoChanges,
        count: 20,
        limit: 20,
        until: 0,
        marked_until: None,
    };
    let r = open_reason(&trip, "s3-acl", "123456789012", "the approval gate");
    assert!(r.starts_with(
        "circuit breaker open: 20 auto changes for family s3-acl in account 123456789012 within the last hour (limit 20); sent to the approval gate"
    ), "{r}");
    assert!(r.contains("breaker reset"));
    let trip = Trip {
        cause: Cause::VerificationFailures,
        count: 3,
        limit: 3,
        until: 0,
        marked_until: None,
    };
    let r = open_reason(
        &trip,
        "s3-versioning",
        "123456789012",
        "a dry run (no approvers configured)",
    );
    assert!(r.starts_with(
        "circuit breaker open: 3 fixes for family s3-versioning in account 123456789012 failed verification within the last hour (limit 3); sent to a dry run"
    ), "{r}");
}

#[test]
fn the_trip_message_says_why_where_findings_go_and_how_to_reset() {
    let trip = Trip {
        cause: Cause::VerificationFailures,
        count: 5,
        limit: 5,
        until: 1_767_225_600, // 2026-01-01T00:00:00Z
        marked_until: None,
    };
    let (subject, body, attributes) = trip_message(
        &trip,
        "123456789012",
        "s3-versioning",
        "the approval gate",
        "S3-012 my-bucket",
    );
    assert_eq!(subject, "BreakerTripped: s3-versioning in 123456789012");
    for want in [
        "Account:    123456789012\n",
        "Family:     s3-versioning\n",
        "Why:        5 fixes failed verification within the last hour, limit 5 (breaker.max_verification_failures_per_hour)\n",
        "it clears at 2026-01-01T00:00:00Z unless more are counted",
        "go to the approval gate",
        "First held: S3-012 my-bucket\n",
        "Reset:      auto-remediate breaker reset --account 123456789012 --family s3-versioning\n",
    ] {
        assert!(body.contains(want), "{want:?} not in\n{body}");
    }
    assert!(attributes.contains(&("event", "BreakerTripped".into())));
    assert!(attributes.contains(&("cause", "VerificationFailures".into())));
    assert!(attributes.contains(&("family", "s3-versioning".into())));
    assert!(
        !attributes.iter().any(|(k, _)| *k == "execution"),
        "not one run's notification: a subscription filtering on `execution` does not get it"
    );
    let trip = Trip {
        cause: Cause::AutoChanges,
        ..trip
    };
    let (_, body, _) = trip_message(&trip, "1", "f", "g", "r");
    assert!(body.contains("5 auto changes within the last hour, limit 5 (breaker.max_auto_changes_per_hour)"));
}

#[test]
fn a_refusal_writes_the_trip_marker_only_when_there_is_none_or_it_ends_earlier() {
    let trip = |marked_until| Trip {
        cause: Cause::AutoChanges,
        count: 20,
        limit: 20,
        until: 160 * 60,
        marked_until,
    };
    assert!(
        needs_marking(&trip(None)),
        "no trip yet: the conditional write elects the notifier"
    );
    assert!(
        needs_marking(&trip(Some(100 * 60))),
        "an earlier trip, long over: a new one"
    );
    assert!(
        needs_marking(&trip(Some(150 * 60))),
        "live but ending earlier: extended (no notification)"
    );
    assert!(!needs_marking(&trip(Some(160 * 60))), "the same trip: nothing to write");
    assert!(!needs_marking(&trip(Some(170 * 60))));
}

fn bucket(family: &str, minute: u64, changes: u64, failures: u64, limit: Option<u64>, fl: Option<u64>) -> Item {
    Item {
        pk: bucket_key("1", family, minute),
        account: "1".into(),
        family: family.into(),
        bucket: Some(minute),
        counts: Bucket {
            changes,
            failures,
            sealed: false,
        },
        limit,
        failure_limit: fl,
        until: None,
    }
}

#[test]
fn status_sums_both_counts_in_the_window_and_says_open_for_either_limit_or_a_live_trip() {
    let now = 200 * 60 + 5;
    let items = vec![
        bucket("a", 139, 9, 0, Some(20), None), // left the window
        bucket("a", 150, 12, 1, Some(20), Some(5)),
        bucket("a", 199, 8, 0, Some(20), None),
        bucket("a", 200, 0, 0, Some(99), None), // sealed empty: its limit says nothing
        bucket("b", 190, 1, 2, Some(20), Some(3)),
        bucket("b", 200, 0, 1, None, Some(3)), // a failure only: no change limit from it
        bucket("c", 180, 0, 1, None, Some(3)),
        Item {
            until: Some(now + 60),
            bucket: None,
            ..bucket("c", 0, 0, 0, None, None)
        },
        Item {
            until: Some(now - 1),
            bucket: None,
            ..bucket("d", 0, 0, 0, None, None)
        },
    ];
    let rows = window_counts(items, now);
    let row = |f: &str| rows.iter().find(|r| r.family == f).cloned();
    let a = row("a").unwrap();
    assert_eq!(
        (a.count, a.limit, a.verification_failures, a.verification_failure_limit),
        (20, 20, 1, 5)
    );
    assert!(a.open, "20 changes of 20");
    let b = row("b").unwrap();
    assert_eq!(
        (b.count, b.limit, b.verification_failures, b.verification_failure_limit),
        (1, 20, 3, 3)
    );
    assert!(b.open, "3 failed fixes of 3");
    let c = row("c").unwrap();
    assert_eq!((c.count, c.verification_failures, c.open_until), (0, 1, Some(now + 60)));
    assert!(c.open, "a live trip marker");
    assert!(row("d").is_none(), "an expired trip marker alone is no window");
}
