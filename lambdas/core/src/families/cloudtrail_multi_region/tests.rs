//! Unit tests of [`super`], kept beside it in their own file.

use super::*;
use aws_sdk_cloudtrail::operation::create_trail::CreateTrailOutput;
use aws_sdk_cloudtrail::operation::describe_trails::DescribeTrailsOutput;
use aws_sdk_cloudtrail::operation::get_trail_status::GetTrailStatusOutput;
use aws_sdk_cloudtrail::operation::start_logging::StartLoggingOutput;
use aws_sdk_cloudtrail::operation::update_trail::UpdateTrailOutput;
use aws_smithy_mocks::{mock, MockResponseInterceptor, RuleMode};

const ACCOUNT: &str = "111122223333";

fn target() -> Target<'static> {
    Target {
        rule_id: "CT-001",
        resource: "us-east-1",
        region: "us-east-1",
    }
}

fn params(bucket: Option<&str>) -> Params {
    Params {
        trail_name: default_trail_name(),
        bucket: bucket.map(str::to_string),
    }
}

fn trail(name: &str, multi: bool, global: bool, logging: bool) -> TrailInfo {
    TrailInfo {
        name: name.into(),
        arn: format!("arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/{name}"),
        home_region: "us-east-1".into(),
        multi_region: multi,
        global_events: global,
        logging,
        bucket: Some("logs".into()),
    }
}

fn trails(t: Vec<TrailInfo>) -> Trails {
    Trails {
        account: ACCOUNT.into(),
        region: "us-east-1".into(),
        trails: t,
    }
}

#[test]
fn a_logging_multi_region_trail_with_global_events_is_compliant() {
    let s = trails(vec![trail("org", true, true, true), trail("local", false, true, false)]);
    let a = CloudTrailMultiRegion::assess(&s, &params(None), target());
    assert!(a.plan.is_empty() && a.offending.is_empty());
    assert_eq!(a.plan.untouched.len(), 2);
}

#[test]
fn without_one_the_configured_trail_is_created_and_other_trails_are_left_alone() {
    // A multi-region trail that is not logging is someone else's: not started.
    let s = trails(vec![
        trail("stopped", true, true, false),
        trail("local", false, true, true),
    ]);
    let a = CloudTrailMultiRegion::assess(&s, &params(Some("ct-logs")), target());
    assert_eq!(
        a.plan.changes,
        vec![
            Change::CreateTrail {
                name: "auto-remediate".into(),
                bucket: Some("ct-logs".into())
            },
            Change::StartLogging {
                name: "auto-remediate".into()
            }
        ]
    );
    assert_eq!(a.offending.len(), 1);
    assert!(a.plan.removes.is_empty(), "turning logging on removes nothing");
    assert!(a.plan.untouched.iter().any(|u| u.starts_with("trail stopped")));
    let after = CloudTrailMultiRegion::simulate(&s, &a.plan.changes);
    assert!(
        CloudTrailMultiRegion::assess(&after, &params(Some("ct-logs")), target())
            .plan
            .is_empty()
    );
    assert_eq!(
        CloudTrailMultiRegion::diff(&s, &after),
        vec!["created trail auto-remediate (us-east-1, multi-region, global events on, logging)"]
    );
}

#[test]
fn the_configured_trail_is_updated_and_started_when_it_exists() {
    let s = trails(vec![trail("auto-remediate", false, false, false)]);
    let a = CloudTrailMultiRegion::assess(&s, &params(None), target());
    let arn = format!("arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/auto-remediate");
    assert_eq!(
        a.plan.changes,
        vec![
            Change::MakeMultiRegion {
                name: "auto-remediate".into(),
                arn: arn.clone()
            },
            Change::StartLogging { name: arn }
        ]
    );
    let s = trails(vec![trail("auto-remediate", true, true, false)]);
    let a = CloudTrailMultiRegion::assess(&s, &params(None), target());
    assert!(matches!(a.plan.changes[..], [Change::StartLogging { .. }]));
}

#[test]
fn the_undo_deletes_only_the_created_trail_or_stops_and_narrows_the_widened_one() {
    // Created: exactly that trail goes; the other trails are not named.
    let before = trails(vec![trail("local", false, true, false)]);
    let fix = CloudTrailMultiRegion::assess(&before, &params(Some("ct-logs")), target())
        .plan
        .changes;
    let after = CloudTrailMultiRegion::simulate(&before, &fix);
    let undo = CloudTrailMultiRegion::revert(&after, &before).unwrap();
    assert_eq!(
        undo,
        vec![Change::DeleteTrail {
            name: "auto-remediate".into(),
            arn: format!("arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/auto-remediate"),
        }]
    );
    assert_eq!(CloudTrailMultiRegion::simulate(&after, &undo), before);
    // Widened and started: stopped again, then its recorded flags back.
    let before = trails(vec![
        trail("auto-remediate", false, true, false),
        trail("other", false, false, false),
    ]);
    let fix = CloudTrailMultiRegion::assess(&before, &params(None), target())
        .plan
        .changes;
    let after = CloudTrailMultiRegion::simulate(&before, &fix);
    let undo = CloudTrailMultiRegion::revert(&after, &before).unwrap();
    let arn = format!("arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/auto-remediate");
    assert_eq!(
        undo,
        vec![
            Change::StopLogging {
                name: "auto-remediate".into(),
                arn: arn.clone()
            },
            Change::RestoreFlags {
                name: "auto-remediate".into(),
                arn,
                multi_region: false,
                global_events: true
            },
        ]
    );
    assert_eq!(CloudTrailMultiRegion::simulate(&after, &undo), before);
    assert!(CloudTrailMultiRegion::diff(&after, &before).len() == 2);
    // Only started (flags were right): only stopped.
    let before = trails(vec![trail("auto-remediate", true, true, false)]);
    let fix = CloudTrailMultiRegion::assess(&before, &params(None), target())
        .plan
        .changes;
    let after = CloudTrailMultiRegion::simulate(&before, &fix);
    assert!(matches!(
        CloudTrailMultiRegion::revert(&after, &before).unwrap()[..],
        [Change::StopLogging { .. }]
    ));
    assert!(CloudTrailMultiRegion::revert(&before, &before).unwrap().is_empty());
}

/// An undo that died after its first write (StopLogging): refused as a change by someone
/// else without its journaled plan; with it, the retry restores the rest (the flags) only.
#[test]
fn a_retried_undo_completes_from_where_its_earlier_attempt_stopped() {
    use crate::families::helpers::family::{DynFamily, Erased};
    let tag = |s: &Trails| {
        let mut v = serde_json::to_value(s).unwrap();
        v["kind"] = "cloudtrail-multi-region".into();
        crate::families::ResourceState(v)
    };
    let before = trails(vec![trail("auto-remediate", false, true, false)]);
    let fix = CloudTrailMultiRegion::assess(&before, &params(None), target())
        .plan
        .changes;
    let after = CloudTrailMultiRegion::simulate(&before, &fix);
    let mut recorded = crate::finding::Recorded {
        execution: format!("arn:aws:states:us-east-1:{ACCOUNT}:execution:auto-remediate:fix-1"),
        before: tag(&before),
        after: tag(&after),
        partial: None,
    };
    let (_, first) = Erased::<CloudTrailMultiRegion>::NEW
        .restore(&tag(&after), &recorded, target())
        .unwrap();
    let undo: Vec<Change> = first.changes_as().unwrap();
    assert_eq!(undo.len(), 2);
    let stopped = CloudTrailMultiRegion::simulate(&after, &undo[..1]);
    let err = Erased::<CloudTrailMultiRegion>::NEW
        .restore(&tag(&stopped), &recorded, target())
        .err()
        .unwrap();
    assert_eq!(err.name(), "ResourceChanged");
    recorded.partial = Some(first);
    let (steps, rest) = Erased::<CloudTrailMultiRegion>::NEW
        .restore(&tag(&stopped), &recorded, target())
        .unwrap();
    assert_eq!(steps, vec!["undo: trail auto-remediate: multi-region true → false"]);
    assert_eq!(rest.changes_as::<Change>().unwrap(), undo[1..]);
    // A state the plan cannot lead to (someone else's change) is still refused.
    let mut other = stopped.clone();
    other.trails[0].global_events = false;
    let err = Erased::<CloudTrailMultiRegion>::NEW
        .restore(&tag(&other), &recorded, target())
        .err()
        .unwrap();
    assert_eq!(err.name(), "ResourceChanged");
}

#[tokio::test]
async fn the_undo_sends_stop_logging_then_update_with_the_recorded_flags_or_one_delete() {
    let arn = format!("arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/auto-remediate");
    let (a1, a2) = (arn.clone(), arn.clone());
    let stop = mock!(aws_sdk_cloudtrail::Client::stop_logging)
        .match_requests(move |r| r.name() == Some(a1.as_str()))
        .then_output(|| aws_sdk_cloudtrail::operation::stop_logging::StopLoggingOutput::builder().build());
    let update = mock!(aws_sdk_cloudtrail::Client::update_trail)
        .match_requests(move |r| {
            r.name() == Some(a2.as_str())
                && r.is_multi_region_trail() == Some(false)
                && r.include_global_service_events() == Some(true)
                && r.s3_bucket_name().is_none()
        })
        .then_output(|| UpdateTrailOutput::builder().build());
    let delete = mock!(aws_sdk_cloudtrail::Client::delete_trail)
        .match_requests(|r| r.name() == Some("auto-remediate"))
        .then_error(|| {
            aws_sdk_cloudtrail::operation::delete_trail::DeleteTrailError::generic(
                aws_sdk_cloudtrail::error::ErrorMetadata::builder()
                    .code("TrailNotFoundException")
                    .build(),
            )
        });
    let ctx = mock_ctx(
        MockResponseInterceptor::new()
            .rule_mode(RuleMode::Sequential)
            .with_rule(&stop)
            .with_rule(&update)
            .with_rule(&delete),
    );
    let before = trails(vec![trail("auto-remediate", false, true, false)]);
    let fix = CloudTrailMultiRegion::assess(&before, &params(None), target())
        .plan
        .changes;
    let after = CloudTrailMultiRegion::simulate(&before, &fix);
    let undo = CloudTrailMultiRegion::revert(&after, &before).unwrap();
    CloudTrailMultiRegion::apply(&ctx, "us-east-1", &after, &undo)
        .await
        .unwrap();
    // A trail already deleted (a retry after a crash) counts as done.
    CloudTrailMultiRegion::apply(
        &ctx,
        "us-east-1",
        &after,
        &[Change::DeleteTrail {
            name: "auto-remediate".into(),
            arn,
        }],
    )
    .await
    .unwrap();
    assert_eq!((stop.num_calls(), update.num_calls(), delete.num_calls()), (1, 1, 1));
}

fn mock_ctx(mocks: MockResponseInterceptor) -> Ctx {
    Ctx::new(
        crate::families::helpers::mock_ctx::sdk_config(),
        ACCOUNT,
        CloudTrailMultiRegion::READS,
        CloudTrailMultiRegion::WRITES,
    )
    .with_interceptor(mocks)
}

#[tokio::test]
async fn a_missing_bucket_stops_the_fix_before_any_call() {
    let s = trails(vec![]);
    let a = CloudTrailMultiRegion::assess(&s, &params(None), target());
    assert!(a.plan.summary.contains("rules.CT-001.params.bucket is not set"));
    let create = mock!(aws_sdk_cloudtrail::Client::create_trail).then_output(|| CreateTrailOutput::builder().build());
    let ctx = mock_ctx(MockResponseInterceptor::new().with_rule(&create));
    let err = CloudTrailMultiRegion::apply(&ctx, "us-east-1", &s, &a.plan.changes)
        .await
        .unwrap_err();
    assert_eq!(err.name(), "ConfigInvalid");
    assert!(err.to_string().contains("rules.CT-001.params.bucket"), "{err}");
    assert_eq!(create.num_calls(), 0);
}

#[tokio::test]
async fn create_sends_both_flags_and_the_bucket_then_starts_logging() {
    let create = mock!(aws_sdk_cloudtrail::Client::create_trail)
        .match_requests(|r| {
            r.name() == Some("auto-remediate")
                && r.s3_bucket_name() == Some("ct-logs")
                && r.is_multi_region_trail() == Some(true)
                && r.include_global_service_events() == Some(true)
                && r.kms_key_id().is_none()
        })
        .then_output(|| CreateTrailOutput::builder().build());
    let start = mock!(aws_sdk_cloudtrail::Client::start_logging)
        .match_requests(|r| r.name() == Some("auto-remediate"))
        .then_output(|| StartLoggingOutput::builder().build());
    let ctx = mock_ctx(
        MockResponseInterceptor::new()
            .rule_mode(RuleMode::Sequential)
            .with_rule(&create)
            .with_rule(&start),
    );
    let s = trails(vec![]);
    let a = CloudTrailMultiRegion::assess(&s, &params(Some("ct-logs")), target());
    CloudTrailMultiRegion::apply(&ctx, "us-east-1", &s, &a.plan.changes)
        .await
        .unwrap();
    assert_eq!((create.num_calls(), start.num_calls()), (1, 1));
}

#[tokio::test]
async fn update_sends_both_flags_only_to_the_configured_trail() {
    let arn = format!("arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/auto-remediate");
    let a2 = arn.clone();
    let update = mock!(aws_sdk_cloudtrail::Client::update_trail)
        .match_requests(move |r| {
            r.name() == Some(a2.as_str())
                && r.is_multi_region_trail() == Some(true)
                && r.include_global_service_events() == Some(true)
                && r.s3_bucket_name().is_none()
        })
        .then_output(|| UpdateTrailOutput::builder().build());
    let ctx = mock_ctx(
        MockResponseInterceptor::new()
            .rule_mode(RuleMode::Sequential)
            .with_rule(&update),
    );
    let s = trails(vec![
        trail("auto-remediate", false, true, true),
        trail("other", false, false, false),
    ]);
    let a = CloudTrailMultiRegion::assess(&s, &params(None), target());
    assert_eq!(a.plan.changes.len(), 1);
    CloudTrailMultiRegion::apply(&ctx, "us-east-1", &s, &a.plan.changes)
        .await
        .unwrap();
    assert_eq!(update.num_calls(), 1);
}

#[tokio::test]
async fn read_lists_shadow_trails_with_their_status() {
    let describe = mock!(aws_sdk_cloudtrail::Client::describe_trails)
        .match_requests(|r| r.include_shadow_trails() == Some(true))
        .then_output(|| {
            DescribeTrailsOutput::builder()
                .trail_list(
                    aws_sdk_cloudtrail::types::Trail::builder()
                        .name("org")
                        .trail_arn("arn:aws:cloudtrail:eu-west-1:111122223333:trail/org")
                        .home_region("eu-west-1")
                        .is_multi_region_trail(true)
                        .include_global_service_events(true)
                        .build(),
                )
                .build()
        });
    let status = mock!(aws_sdk_cloudtrail::Client::get_trail_status)
        .match_requests(|r| r.name() == Some("arn:aws:cloudtrail:eu-west-1:111122223333:trail/org"))
        .then_output(|| GetTrailStatusOutput::builder().is_logging(true).build());
    let ctx = mock_ctx(
        MockResponseInterceptor::new()
            .rule_mode(RuleMode::Sequential)
            .with_rule(&describe)
            .with_rule(&status),
    );
    let r = CloudTrailMultiRegion::read(&ctx, "us-east-1", Tags::Read)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.state.trails.len(), 1);
    assert!(r.state.trails[0].heals());
    assert!(r.tags.is_empty(), "a region has no tags");
}
