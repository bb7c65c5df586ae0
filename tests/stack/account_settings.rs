//! Region-level settings on the real stack: CT-001 (no multi-region CloudTrail trail) and
//! Config-001 (AWS Config off). Each test acts in a region no other test uses, so no other test
//! sees its trails or recorders. (A multi-region trail shows in every region of the account as a
//! shadow trail: only CT-001 creates one, and every other CloudTrail test names its own trail.)

use ar_core::catalog::Catalog;
use ar_core::intake::conformity::failure_message;
use ar_tests::{now_ms, unique, Stack};
use aws_sdk_config::types::{ConfigurationRecorder, DeliveryChannel, RecordingGroup};
use serde_json::{json, Value};

const CT001_REGION: &str = "ap-northeast-3";
const CONFIG_EMPTY_REGION: &str = "me-central-1";
const CONFIG_STOPPED_REGION: &str = "ap-south-2";
/// What tests/config.json configures for CT-001 and Config-001.
const CT_BUCKET: &str = "ar-it-cloudtrail-logs";
const CONFIG_ROLE: &str = "arn:aws:iam::123456789012:role/it-config-recorder";
const CONFIG_BUCKET: &str = "ar-it-config-logs";

fn in_region(stack: &Stack, region: &str) -> aws_config::SdkConfig {
    stack
        .sdk
        .to_builder()
        .region(aws_config::Region::new(region.to_string()))
        .build()
}

/// A region-level finding as Conformity sends it: no `resource`, only the region (in `region`
/// and the `ccrn`); the finding's resource is the region.
fn regional(stack: &Stack, rule: &str, service: &str, region: &str) -> Value {
    let m = failure_message(
        Catalog::builtin(),
        &stack.info.account_id,
        rule,
        region,
        region,
        now_ms(),
    );
    assert!(m.get("resource").is_none(), "{m}");
    assert_eq!(m["service"], service, "{m}");
    assert_eq!(m["region"], region, "{m}");
    let f = stack.finding(&m).expect("a failure to act on");
    assert_eq!((f.resource.as_str(), f.region.as_str()), (region, region));
    m
}

/// (multi-region, global events, logging, bucket) of a trail.
async fn trail_state(ct: &aws_sdk_cloudtrail::Client, name: &str) -> Option<(bool, bool, bool, String)> {
    let out = ct.describe_trails().send().await.unwrap();
    let t = out.trail_list().iter().find(|t| t.name() == Some(name))?.clone();
    let status = ct.get_trail_status().name(t.trail_arn().unwrap()).send().await.unwrap();
    Some((
        t.is_multi_region_trail().unwrap_or(false),
        t.include_global_service_events().unwrap_or(false),
        status.is_logging().unwrap_or(false),
        t.s3_bucket_name().unwrap_or_default().to_string(),
    ))
}

/// Each step's undo too (in this one test: a multi-region trail shows in every region, so no
/// other test may create one): the created trail is deleted by its undo, the other trail left as
/// it was; the widened and started trail is stopped and narrowed again by its undo.
#[tokio::test]
async fn without_a_multi_region_trail_one_is_created_then_a_narrowed_one_is_widened_again() {
    let stack = Stack::connect();
    let ct = aws_sdk_cloudtrail::Client::new(&in_region(&stack, CT001_REGION));
    // The configured bucket (shared by reruns on the same stack), and a clean slate.
    let _ = stack.s3.create_bucket().bucket(CT_BUCKET).send().await;
    let _ = ct.delete_trail().name("auto-remediate").send().await;
    // Someone else's single-region trail, not logging: it must stay exactly so.
    let other = unique("it-other-trail");
    ct.create_trail()
        .name(&other)
        .s3_bucket_name(CT_BUCKET)
        .send()
        .await
        .unwrap();
    let other_before = trail_state(&ct, &other).await;
    assert_eq!(other_before, Some((false, true, false, CT_BUCKET.to_string())));

    let created = stack
        .publish_healed(&regional(&stack, "CT-001", "CloudTrail", CT001_REGION))
        .await;
    assert_eq!(
        trail_state(&ct, "auto-remediate").await,
        Some((true, true, true, CT_BUCKET.to_string()))
    );
    assert_eq!(
        trail_state(&ct, &other).await,
        other_before,
        "the other trail is untouched"
    );

    // Its undo deletes exactly the created trail.
    let out = crate::cli::undo_restored(&stack, &created).await;
    assert!(out.contains("delete trail auto-remediate"), "{out}");
    assert_eq!(trail_state(&ct, "auto-remediate").await, None);
    assert_eq!(
        trail_state(&ct, &other).await,
        other_before,
        "the other trail is untouched"
    );

    // The configured trail, single-region and stopped (someone made it so): the same trail is
    // widened and started, none created.
    ct.create_trail()
        .name("auto-remediate")
        .s3_bucket_name(CT_BUCKET)
        .is_multi_region_trail(false)
        .send()
        .await
        .unwrap();
    let narrowed = trail_state(&ct, "auto-remediate").await;
    assert_eq!(narrowed, Some((false, true, false, CT_BUCKET.to_string())));
    let mut again = regional(&stack, "CT-001", "CloudTrail", CT001_REGION);
    again["failureDiscoveryDate"] = json!(now_ms() + 1);
    let (widened, _) = stack.publish_for_execution(&again).await;
    let run = stack.wait(&widened).await;
    run.assert_healed();
    assert_eq!(
        trail_state(&ct, "auto-remediate").await,
        Some((true, true, true, CT_BUCKET.to_string()))
    );
    let names: Vec<String> = ct
        .describe_trails()
        .send()
        .await
        .unwrap()
        .trail_list()
        .iter()
        .filter_map(|t| t.name().map(str::to_string))
        .collect();
    assert_eq!(names.iter().filter(|n| *n == "auto-remediate").count(), 1);
    assert_eq!(trail_state(&ct, &other).await, other_before);
    let before = &run.output["remediation"]["before"];
    assert_eq!(before["kind"], "cloudtrail-multi-region");
    assert!(before["trails"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["name"] == "auto-remediate" && t["multi_region"] == false && t["logging"] == false));

    // Its undo stops the trail and sets its recorded flags back: as it was, still there.
    let out = crate::cli::undo_restored(&stack, &widened).await;
    assert!(out.contains("stop logging on trail auto-remediate"), "{out}");
    assert_eq!(trail_state(&ct, "auto-remediate").await, narrowed);
    assert_eq!(trail_state(&ct, &other).await, other_before);
    let _ = ct.delete_trail().name("auto-remediate").send().await;
}

/// (name, role, all supported, global, resource types) of each recorder, and whether each records.
async fn recorders(cfg: &aws_sdk_config::Client) -> Vec<(String, String, bool, bool, Vec<String>, bool)> {
    let recs = cfg.describe_configuration_recorders().send().await.unwrap();
    let status = cfg.describe_configuration_recorder_status().send().await.unwrap();
    recs.configuration_recorders()
        .iter()
        .map(|r| {
            let name = r.name().unwrap().to_string();
            let g = r.recording_group().unwrap();
            let recording = status
                .configuration_recorders_status()
                .iter()
                .any(|s| s.name() == Some(name.as_str()) && s.recording());
            (
                name,
                r.role_arn().unwrap_or_default().to_string(),
                g.all_supported(),
                g.include_global_resource_types(),
                g.resource_types().iter().map(|t| t.as_str().to_string()).collect(),
                recording,
            )
        })
        .collect()
}

/// A clean slate for reruns on the same stack: the region's recorders and channels removed (the
/// test's own client, never the fix).
async fn reset_config(cfg: &aws_sdk_config::Client) {
    for (name, ..) in recorders(cfg).await {
        cfg.stop_configuration_recorder()
            .configuration_recorder_name(&name)
            .send()
            .await
            .unwrap();
    }
    for (name, _) in channels(cfg).await {
        cfg.delete_delivery_channel()
            .delivery_channel_name(name)
            .send()
            .await
            .unwrap();
    }
    for (name, ..) in recorders(cfg).await {
        cfg.delete_configuration_recorder()
            .configuration_recorder_name(name)
            .send()
            .await
            .unwrap();
    }
}

async fn channels(cfg: &aws_sdk_config::Client) -> Vec<(String, String)> {
    cfg.describe_delivery_channels()
        .send()
        .await
        .unwrap()
        .delivery_channels()
        .iter()
        .map(|c| {
            (
                c.name().unwrap().to_string(),
                c.s3_bucket_name().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn config_off_gets_a_recorder_of_everything_a_channel_and_recording() {
    let stack = Stack::connect();
    let cfg = aws_sdk_config::Client::new(&in_region(&stack, CONFIG_EMPTY_REGION));
    reset_config(&cfg).await;
    let run = stack
        .publish_and_wait(&regional(&stack, "Config-001", "Config", CONFIG_EMPTY_REGION))
        .await;
    run.assert_healed();
    assert_eq!(
        recorders(&cfg).await,
        vec![("default".into(), CONFIG_ROLE.into(), true, true, vec![], true)]
    );
    assert_eq!(channels(&cfg).await, vec![("default".into(), CONFIG_BUCKET.into())]);
}

#[tokio::test]
async fn a_stopped_recorder_is_only_started_and_kept_as_it_was() {
    let stack = Stack::connect();
    let cfg = aws_sdk_config::Client::new(&in_region(&stack, CONFIG_STOPPED_REGION));
    reset_config(&cfg).await;
    let role = "arn:aws:iam::123456789012:role/their-recorder";
    cfg.put_configuration_recorder()
        .configuration_recorder(
            ConfigurationRecorder::builder()
                .name("theirs")
                .role_arn(role)
                .recording_group(
                    RecordingGroup::builder()
                        .all_supported(false)
                        .resource_types(aws_sdk_config::types::ResourceType::Instance)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    cfg.put_delivery_channel()
        .delivery_channel(
            DeliveryChannel::builder()
                .name("theirs")
                .s3_bucket_name("their-config-bucket")
                .build(),
        )
        .send()
        .await
        .unwrap();

    let run = stack
        .publish_and_wait(&regional(&stack, "Config-001", "Config", CONFIG_STOPPED_REGION))
        .await;
    run.assert_healed();
    assert_eq!(
        recorders(&cfg).await,
        vec![(
            "theirs".into(),
            role.into(),
            false,
            false,
            vec!["AWS::EC2::Instance".into()],
            true
        )],
        "their recorder is started, its settings kept, no other created"
    );
    assert_eq!(
        channels(&cfg).await,
        vec![("theirs".into(), "their-config-bucket".into())]
    );
}

#[tokio::test]
async fn undo_of_config_001_where_config_was_off_stops_and_deletes_only_what_the_fix_created() {
    let stack = Stack::connect();
    let region = "eu-central-2";
    let cfg = aws_sdk_config::Client::new(&in_region(&stack, region));
    reset_config(&cfg).await;
    let healed = stack
        .publish_healed(&regional(&stack, "Config-001", "Config", region))
        .await;
    assert_eq!(recorders(&cfg).await.len(), 1);
    let out = crate::cli::undo_restored(&stack, &healed).await;
    assert!(out.contains("delete configuration recorder default"), "{out}");
    // Re-read: no recorder, no channel, as before.
    assert!(recorders(&cfg).await.is_empty());
    assert!(channels(&cfg).await.is_empty());
}

#[tokio::test]
async fn undo_of_config_001_on_a_stopped_recorder_stops_it_again_and_keeps_it_and_its_channel() {
    let stack = Stack::connect();
    let region = "ap-southeast-3";
    let cfg = aws_sdk_config::Client::new(&in_region(&stack, region));
    reset_config(&cfg).await;
    cfg.put_configuration_recorder()
        .configuration_recorder(
            ConfigurationRecorder::builder()
                .name("theirs")
                .role_arn("arn:aws:iam::123456789012:role/their-recorder")
                .recording_group(
                    RecordingGroup::builder()
                        .all_supported(false)
                        .resource_types(aws_sdk_config::types::ResourceType::Instance)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    cfg.put_delivery_channel()
        .delivery_channel(
            DeliveryChannel::builder()
                .name("theirs")
                .s3_bucket_name("their-config-bucket")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let (before_recorders, before_channels) = (recorders(&cfg).await, channels(&cfg).await);
    assert!(!before_recorders[0].5, "stopped before the fix");
    let healed = stack
        .publish_healed(&regional(&stack, "Config-001", "Config", region))
        .await;
    assert!(recorders(&cfg).await[0].5, "started by the fix");
    let out = crate::cli::undo_restored(&stack, &healed).await;
    assert!(out.contains("stop configuration recorder theirs"), "{out}");
    // Re-read: the recorder stopped again with its settings, the channel as it was.
    assert_eq!(recorders(&cfg).await, before_recorders);
    assert_eq!(channels(&cfg).await, before_channels);
    reset_config(&cfg).await;
}
