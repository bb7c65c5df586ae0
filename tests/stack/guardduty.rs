//! GD-001 on the real stack: GuardDuty off in a region. Conformity's GD-001 is a region-level
//! check: its message names no resource (the `id` ends in `:`), only the region. Each test uses
//! a region no other test uses (detectors are per account and region, and the stack is shared).

use ar_core::catalog::Catalog;
use ar_core::intake::conformity::failure_message;
use ar_tests::{now_ms, Stack};
use aws_sdk_guardduty::config::Region;
use aws_sdk_guardduty::types::DetectorStatus;
use serde_json::Value;

fn guardduty(stack: &Stack, region: &str) -> aws_sdk_guardduty::Client {
    aws_sdk_guardduty::Client::from_conf(
        aws_sdk_guardduty::config::Builder::from(&stack.sdk)
            .region(Region::new(region.to_string()))
            .build(),
    )
}

/// GD-001's message for `region`, as Conformity sends it: no `resource`, the region in
/// `region` and the `ccrn`; the finding's resource is the region.
fn message(stack: &Stack, region: &str) -> Value {
    let m = failure_message(
        Catalog::builtin(),
        &stack.info.account_id,
        "GD-001",
        region,
        region,
        now_ms(),
    );
    assert!(m.get("resource").is_none(), "{m}");
    assert!(m["id"].as_str().unwrap().ends_with(':'), "{m}");
    assert_eq!(m["service"], "GuardDuty", "{m}");
    assert_eq!(m["region"], region, "{m}");
    let f = stack.finding(&m).expect("a failure to act on");
    assert_eq!(
        (f.resource.as_str(), f.region.as_str(), f.account_id.as_str()),
        (region, region, stack.info.account_id.as_str())
    );
    m
}

/// The region's detectors as (id, status).
async fn detectors(gd: &aws_sdk_guardduty::Client) -> Vec<(String, DetectorStatus)> {
    let mut out = Vec::new();
    for id in gd.list_detectors().send().await.unwrap().detector_ids() {
        let d = gd.get_detector().detector_id(id).send().await.unwrap();
        out.push((id.clone(), d.status().unwrap().clone()));
    }
    out
}

/// Deletes the region's detectors: a test's region starts and ends without one, so the suite
/// can run again on the same stack.
async fn delete_detectors(gd: &aws_sdk_guardduty::Client) {
    for id in gd.list_detectors().send().await.unwrap().detector_ids() {
        gd.delete_detector().detector_id(id).send().await.unwrap();
    }
}

#[tokio::test]
async fn a_region_without_a_detector_gets_one_enabled() {
    let stack = Stack::connect();
    let region = "eu-north-1";
    let gd = empty_region(&stack, region).await;
    assert!(
        detectors(&gd).await.is_empty(),
        "the test's region starts without a detector"
    );
    let run = stack.publish_and_wait(&message(&stack, region)).await;
    assert_eq!(
        run.states().last().map(String::as_str),
        Some("Healed"),
        "{:?} {:?}",
        run.task_errors(),
        run.output
    );
    let after = detectors(&gd).await;
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].1, DetectorStatus::Enabled);
    assert_eq!(run.output["remediation"]["before"]["detectors"], serde_json::json!([]));
    assert!(
        detectors(&guardduty(&stack, &stack.info.region)).await.is_empty(),
        "nothing is created in the deployment's region"
    );
    delete_detectors(&gd).await;
}

#[tokio::test]
async fn a_suspended_detector_is_enabled_not_replaced() {
    let stack = Stack::connect();
    let region = "ap-southeast-2";
    let gd = empty_region(&stack, region).await;
    let id = gd
        .create_detector()
        .enable(false)
        .finding_publishing_frequency(aws_sdk_guardduty::types::FindingPublishingFrequency::OneHour)
        .send()
        .await
        .unwrap()
        .detector_id()
        .unwrap()
        .to_string();
    let run = stack.publish_and_wait(&message(&stack, region)).await;
    assert_eq!(
        run.states().last().map(String::as_str),
        Some("Healed"),
        "{:?} {:?}",
        run.task_errors(),
        run.output
    );
    assert_eq!(detectors(&gd).await, vec![(id.clone(), DetectorStatus::Enabled)]);
    let d = gd.get_detector().detector_id(&id).send().await.unwrap();
    assert_eq!(
        d.finding_publishing_frequency().map(|f| f.as_str()),
        Some("ONE_HOUR"),
        "the detector's settings stay"
    );
    delete_detectors(&gd).await;
}

/// The region's one detector's settings that the fix leaves alone (publishing frequency).
/// `region`'s GuardDuty client, the region emptied of detectors first (the suite reruns on the
/// same stack).
async fn empty_region(stack: &Stack, region: &str) -> aws_sdk_guardduty::Client {
    let gd = guardduty(stack, region);
    delete_detectors(&gd).await;
    gd
}

async fn frequency(gd: &aws_sdk_guardduty::Client, id: &str) -> Option<String> {
    let d = gd.get_detector().detector_id(id).send().await.unwrap();
    d.finding_publishing_frequency().map(|f| f.as_str().to_string())
}

#[tokio::test]
async fn undo_of_gd_001_on_a_suspended_detector_suspends_it_again_and_keeps_it() {
    let stack = Stack::connect();
    let region = "sa-east-1";
    let gd = empty_region(&stack, region).await;
    let id = gd
        .create_detector()
        .enable(false)
        .finding_publishing_frequency(aws_sdk_guardduty::types::FindingPublishingFrequency::SixHours)
        .send()
        .await
        .unwrap()
        .detector_id()
        .unwrap()
        .to_string();
    let before = detectors(&gd).await;
    assert_eq!(before, vec![(id.clone(), DetectorStatus::Disabled)]);
    let healed = stack.publish_healed(&message(&stack, region)).await;
    assert_eq!(detectors(&gd).await, vec![(id.clone(), DetectorStatus::Enabled)]);
    let out = crate::cli::undo_restored(&stack, &healed).await;
    assert!(out.contains(&format!("suspend GuardDuty detector {id}")), "{out}");
    // Re-read: the same detector, suspended as before, its settings kept.
    assert_eq!(detectors(&gd).await, before);
    assert_eq!(frequency(&gd, &id).await.as_deref(), Some("SIX_HOURS"));
    delete_detectors(&gd).await;
}

#[tokio::test]
async fn undo_of_gd_001_where_there_was_no_detector_deletes_the_one_the_fix_created() {
    let stack = Stack::connect();
    let region = "me-south-1";
    let gd = empty_region(&stack, region).await;
    let home = guardduty(&stack, &stack.info.region);
    let (healed, _) = stack.publish_for_execution(&message(&stack, region)).await;
    let run = stack.wait(&healed).await;
    run.assert_healed();
    let created = detectors(&gd).await;
    assert_eq!(created.len(), 1);
    // The run's record names the detector by the id CreateDetector returned.
    assert_eq!(
        run.output["remediation"]["after"]["detectors"][0]["id"], created[0].0,
        "{}",
        run.output["remediation"]
    );
    let elsewhere = detectors(&home).await;
    let out = crate::cli::undo_restored(&stack, &healed).await;
    assert!(
        out.contains(&format!("delete GuardDuty detector {}", created[0].0)),
        "{out}"
    );
    // Re-read: no detector, as before; another region's are untouched.
    assert!(detectors(&gd).await.is_empty());
    assert_eq!(detectors(&home).await, elsewhere);
}

/// The undo deletes the detector the record names, never another: one created in place of the
/// fix's (deleted by someone meanwhile) makes the undo refuse, and that detector stays.
#[tokio::test]
async fn undo_of_gd_001_never_deletes_a_detector_other_than_the_one_the_fix_created() {
    let stack = Stack::connect();
    let region = "af-south-1";
    let gd = empty_region(&stack, region).await;
    let healed = stack.publish_healed(&message(&stack, region)).await;
    let created = detectors(&gd).await;
    assert_eq!(created.len(), 1);
    // Someone replaces the fix's detector with their own.
    gd.delete_detector().detector_id(&created[0].0).send().await.unwrap();
    let theirs = gd
        .create_detector()
        .enable(true)
        .send()
        .await
        .unwrap()
        .detector_id()
        .unwrap()
        .to_string();
    assert_ne!(theirs, created[0].0);
    let (ok, out, err) = crate::cli::cli_at(&ar_tests::stack_dir(), &["undo", &healed]);
    assert!(!ok, "refused: {out}");
    let said = format!("{out}{err}");
    assert!(said.contains("changed since its fix"), "{said}");
    assert!(said.contains(&created[0].0) && said.contains(&theirs), "{said}");
    // Re-read: their detector stays, enabled.
    assert_eq!(detectors(&gd).await, vec![(theirs, DetectorStatus::Enabled)]);
    delete_detectors(&gd).await;
}
