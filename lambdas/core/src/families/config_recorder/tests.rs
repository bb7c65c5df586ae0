//! Unit tests of [`super`], kept beside it in their own file.

use super::*;
use aws_sdk_config::operation::describe_configuration_recorder_status::DescribeConfigurationRecorderStatusOutput;
use aws_sdk_config::operation::describe_configuration_recorders::DescribeConfigurationRecordersOutput;
use aws_sdk_config::operation::describe_delivery_channels::DescribeDeliveryChannelsOutput;
use aws_sdk_config::operation::put_configuration_recorder::PutConfigurationRecorderOutput;
use aws_sdk_config::operation::put_delivery_channel::PutDeliveryChannelOutput;
use aws_sdk_config::operation::start_configuration_recorder::StartConfigurationRecorderOutput;
use aws_smithy_mocks::{mock, MockResponseInterceptor, RuleMode};

const ROLE: &str = "arn:aws:iam::111122223333:role/config-recorder";

fn target() -> Target<'static> {
    Target {
        rule_id: "Config-001",
        resource: "us-east-1",
        region: "us-east-1",
    }
}

fn params(role: Option<&str>, bucket: Option<&str>) -> Params {
    Params {
        recorder_name: default_name(),
        channel_name: default_name(),
        role_arn: role.map(str::to_string),
        bucket: bucket.map(str::to_string),
    }
}

fn recorder(name: &str, recording: bool) -> Recorder {
    Recorder {
        name: name.into(),
        role_arn: Some("arn:aws:iam::111122223333:role/theirs".into()),
        all_supported: false,
        include_global: false,
        recording,
        service_linked: false,
    }
}

fn state(recorders: Vec<Recorder>, channels: Vec<Channel>) -> ConfigState {
    ConfigState {
        region: "us-east-1".into(),
        recorders,
        channels,
    }
}

fn channel(name: &str) -> Channel {
    Channel {
        name: name.into(),
        bucket: Some("their-bucket".into()),
    }
}

#[test]
fn nothing_there_gets_recorder_channel_and_start() {
    let s = state(vec![], vec![]);
    let a = ConfigRecorder::assess(&s, &params(Some(ROLE), Some("cfg-bucket")), target());
    assert_eq!(
        a.plan.changes,
        vec![
            Change::PutRecorder {
                name: "default".into(),
                role_arn: Some(ROLE.into())
            },
            Change::PutChannel {
                name: "default".into(),
                bucket: Some("cfg-bucket".into())
            },
            Change::StartRecorder { name: "default".into() },
        ]
    );
    assert_eq!(a.offending.len(), 2);
    assert!(a.plan.removes.is_empty());
    let after = ConfigRecorder::simulate(&s, &a.plan.changes);
    assert!(ConfigRecorder::assess(&after, &params(None, None), target())
        .plan
        .is_empty());
    assert_eq!(ConfigRecorder::diff(&s, &after).len(), 2);
}

#[test]
fn the_undo_stops_a_recorder_the_fix_started_and_deletes_only_what_it_created() {
    // Nothing before: stop, then delete the channel, then the recorder.
    let none = state(vec![], vec![]);
    let p = params(Some(ROLE), Some("cfg-bucket"));
    let after = ConfigRecorder::simulate(&none, &ConfigRecorder::assess(&none, &p, target()).plan.changes);
    let undo = ConfigRecorder::revert(&after, &none).unwrap();
    assert_eq!(
        undo,
        vec![
            Change::StopRecorder { name: "default".into() },
            Change::DeleteChannel { name: "default".into() },
            Change::DeleteRecorder { name: "default".into() },
        ]
    );
    assert_eq!(ConfigRecorder::simulate(&after, &undo), none);
    // Their stopped recorder and channel: only stopped again, nothing deleted.
    let theirs = state(vec![recorder("theirs", false)], vec![channel("theirs")]);
    let after = ConfigRecorder::simulate(&theirs, &ConfigRecorder::assess(&theirs, &p, target()).plan.changes);
    let undo = ConfigRecorder::revert(&after, &theirs).unwrap();
    assert_eq!(undo, vec![Change::StopRecorder { name: "theirs".into() }]);
    assert_eq!(ConfigRecorder::simulate(&after, &undo), theirs);
    // Their stopped recorder without a channel: stopped, the fix's channel deleted, the recorder kept.
    let bare = state(vec![recorder("theirs", false)], vec![]);
    let after = ConfigRecorder::simulate(&bare, &ConfigRecorder::assess(&bare, &p, target()).plan.changes);
    let undo = ConfigRecorder::revert(&after, &bare).unwrap();
    assert_eq!(
        undo,
        vec![
            Change::StopRecorder { name: "theirs".into() },
            Change::DeleteChannel { name: "default".into() },
        ]
    );
    assert_eq!(ConfigRecorder::simulate(&after, &undo), bare);
    for s in [&none, &theirs, &bare] {
        assert!(ConfigRecorder::revert(s, s).unwrap().is_empty());
    }
}

#[tokio::test]
async fn the_undo_sends_stop_then_the_deletes_and_a_gone_channel_counts_as_done() {
    use aws_sdk_config::operation::delete_configuration_recorder::DeleteConfigurationRecorderOutput;
    use aws_sdk_config::operation::delete_delivery_channel::DeleteDeliveryChannelError;
    use aws_sdk_config::operation::stop_configuration_recorder::StopConfigurationRecorderOutput;
    let stop = mock!(aws_sdk_config::Client::stop_configuration_recorder)
        .match_requests(|r| r.configuration_recorder_name() == Some("default"))
        .then_output(|| StopConfigurationRecorderOutput::builder().build());
    let channel_gone = mock!(aws_sdk_config::Client::delete_delivery_channel)
        .match_requests(|r| r.delivery_channel_name() == Some("default"))
        .then_error(|| {
            DeleteDeliveryChannelError::generic(
                aws_sdk_config::error::ErrorMetadata::builder()
                    .code("NoSuchDeliveryChannelException")
                    .build(),
            )
        });
    let delete = mock!(aws_sdk_config::Client::delete_configuration_recorder)
        .match_requests(|r| r.configuration_recorder_name() == Some("default"))
        .then_output(|| DeleteConfigurationRecorderOutput::builder().build());
    let ctx = crate::families::helpers::mock_ctx::ctx(
        ConfigRecorder::READS,
        ConfigRecorder::WRITES,
        &[&stop, &channel_gone, &delete],
    );
    let undo = [
        Change::StopRecorder { name: "default".into() },
        Change::DeleteChannel { name: "default".into() },
        Change::DeleteRecorder { name: "default".into() },
    ];
    ConfigRecorder::apply(&ctx, "us-east-1", &state(vec![], vec![]), &undo)
        .await
        .unwrap();
    assert_eq!(
        (stop.num_calls(), channel_gone.num_calls(), delete.num_calls()),
        (1, 1, 1)
    );
}

#[test]
fn a_stopped_recorder_with_a_channel_is_only_started_and_kept_as_it_is() {
    let s = state(vec![recorder("theirs", false)], vec![channel("theirs")]);
    let a = ConfigRecorder::assess(&s, &params(None, None), target());
    assert_eq!(a.plan.changes, vec![Change::StartRecorder { name: "theirs".into() }]);
    assert!(!a.plan.summary.contains("cannot"), "no parameter is needed to start");
    // A recorder without a channel: the channel is added, the recorder reused.
    let s = state(vec![recorder("theirs", false)], vec![]);
    let a = ConfigRecorder::assess(&s, &params(None, Some("cfg-bucket")), target());
    assert_eq!(
        a.plan.changes,
        vec![
            Change::PutChannel {
                name: "default".into(),
                bucket: Some("cfg-bucket".into())
            },
            Change::StartRecorder { name: "theirs".into() },
        ]
    );
}

#[test]
fn a_recording_recorder_with_a_channel_is_compliant() {
    let s = state(vec![recorder("theirs", true)], vec![channel("theirs")]);
    let a = ConfigRecorder::assess(&s, &params(None, None), target());
    assert!(a.plan.is_empty() && a.offending.is_empty());
}

fn mock_ctx(mocks: MockResponseInterceptor) -> Ctx {
    Ctx::new(
        crate::families::helpers::mock_ctx::sdk_config(),
        "111122223333",
        ConfigRecorder::READS,
        ConfigRecorder::WRITES,
    )
    .with_interceptor(mocks)
}

#[tokio::test]
async fn a_missing_role_or_bucket_stops_before_any_call() {
    let put = mock!(aws_sdk_config::Client::put_configuration_recorder)
        .then_output(|| PutConfigurationRecorderOutput::builder().build());
    let ctx = mock_ctx(MockResponseInterceptor::new().with_rule(&put));
    let s = state(vec![], vec![]);
    for (p, missing) in [
        (params(None, Some("cfg-bucket")), "rules.Config-001.params.role_arn"),
        (params(Some(ROLE), None), "rules.Config-001.params.bucket"),
    ] {
        let a = ConfigRecorder::assess(&s, &p, target());
        assert!(a.plan.summary.contains(missing), "{}", a.plan.summary);
        let err = ConfigRecorder::apply(&ctx, "us-east-1", &s, &a.plan.changes)
            .await
            .unwrap_err();
        assert_eq!(err.name(), "ConfigInvalid");
        assert!(err.to_string().contains(missing), "{err}");
    }
    assert_eq!(put.num_calls(), 0);
}

#[tokio::test]
async fn apply_sends_recorder_channel_and_start_in_order() {
    let put = mock!(aws_sdk_config::Client::put_configuration_recorder)
        .match_requests(|r| {
            let rec = r.configuration_recorder().unwrap();
            let g = rec.recording_group().unwrap();
            rec.name() == Some("default")
                && rec.role_arn() == Some(ROLE)
                && g.all_supported()
                && g.include_global_resource_types()
                && g.resource_types().is_empty()
        })
        .then_output(|| PutConfigurationRecorderOutput::builder().build());
    let channel = mock!(aws_sdk_config::Client::put_delivery_channel)
        .match_requests(|r| {
            let c = r.delivery_channel().unwrap();
            c.name() == Some("default") && c.s3_bucket_name() == Some("cfg-bucket")
        })
        .then_output(|| PutDeliveryChannelOutput::builder().build());
    let start = mock!(aws_sdk_config::Client::start_configuration_recorder)
        .match_requests(|r| r.configuration_recorder_name() == Some("default"))
        .then_output(|| StartConfigurationRecorderOutput::builder().build());
    let ctx = mock_ctx(
        MockResponseInterceptor::new()
            .rule_mode(RuleMode::Sequential)
            .with_rule(&put)
            .with_rule(&channel)
            .with_rule(&start),
    );
    let s = state(vec![], vec![]);
    let a = ConfigRecorder::assess(&s, &params(Some(ROLE), Some("cfg-bucket")), target());
    ConfigRecorder::apply(&ctx, "us-east-1", &s, &a.plan.changes)
        .await
        .unwrap();
    assert_eq!((put.num_calls(), channel.num_calls(), start.num_calls()), (1, 1, 1));
}

#[tokio::test]
async fn read_joins_recorders_status_and_channels() {
    let recs = mock!(aws_sdk_config::Client::describe_configuration_recorders).then_output(|| {
        DescribeConfigurationRecordersOutput::builder()
            .configuration_recorders(
                aws_sdk_config::types::ConfigurationRecorder::builder()
                    .name("theirs")
                    .role_arn(ROLE)
                    .build(),
            )
            .build()
    });
    let status = mock!(aws_sdk_config::Client::describe_configuration_recorder_status).then_output(|| {
        DescribeConfigurationRecorderStatusOutput::builder()
            .configuration_recorders_status(
                aws_sdk_config::types::ConfigurationRecorderStatus::builder()
                    .name("theirs")
                    .recording(false)
                    .build(),
            )
            .build()
    });
    let chans = mock!(aws_sdk_config::Client::describe_delivery_channels)
        .then_output(|| DescribeDeliveryChannelsOutput::builder().build());
    let ctx = mock_ctx(
        MockResponseInterceptor::new()
            .rule_mode(RuleMode::Sequential)
            .with_rule(&recs)
            .with_rule(&status)
            .with_rule(&chans),
    );
    let r = ConfigRecorder::read(&ctx, "us-east-1", Tags::Read)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        r.state.recorders,
        vec![Recorder {
            name: "theirs".into(),
            role_arn: Some(ROLE.into()),
            all_supported: false,
            include_global: false,
            recording: false,
            service_linked: false,
        }]
    );
    assert!(r.state.channels.is_empty());
}

#[test]
fn ids_are_regions_or_recorder_names() {
    assert!(ConfigRecorder::valid_id("eu-west-1") && ConfigRecorder::valid_id("default"));
    for bad in ["", "a/b", "../x", "x y", "a:b"] {
        assert!(!ConfigRecorder::valid_id(bad), "{bad}");
    }
    assert!(is_role_arn(ROLE));
    assert!(!is_role_arn("arn:aws:iam::111122223333:user/x") && !is_role_arn("role"));
}
