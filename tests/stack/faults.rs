//! Faults, injected by the gateway (`/_local/faults`) into the handlers' own AWS calls: the flow
//! heals under throttling, shows latency where it happens, and survives a crash between writes.
//! Every rule is scoped to a resource the test created, so the other tests never see a fault.

use std::time::Duration;

use ar_tests::{unique, Stack};
use aws_config::retry::RetryConfig;
use serde_json::json;

use super::ec2::{allow, group, ingress, Rule};
use super::s3::{bucket_with, group as grant, live_grants, pairs, user, ALL, PARTNER};

fn rule(proto: &str, from: i32, to: i32, cidr: &str, d: &str) -> Rule {
    (proto.into(), from, to, cidr.into(), d.into())
}

fn sorted(mut v: Vec<Rule>) -> Vec<Rule> {
    v.sort();
    v
}

/// A bucket whose ACL is the owner's FULL_CONTROL, a partner's READ_ACP and AllUsers READ.
async fn public_bucket(stack: &Stack) -> (String, String) {
    bucket_with(stack, vec![user(PARTNER, "READ_ACP"), grant(ALL, "READ")]).await
}

#[tokio::test]
async fn ec2_002_heals_under_20_percent_throttling_every_time() {
    let stack = Stack::connect();
    let mut injected = Vec::new();
    for seed in 1..=3u64 {
        let sg = group(&stack).await;
        allow(&stack, &sg, "tcp", 20, 30, "0.0.0.0/0", "legacy range").await;
        allow(&stack, &sg, "tcp", 22, 22, "10.0.0.0/8", "office").await;
        let faults = stack
            .faults(json!([{
                "id": "ec2-throttle", "service": "ec2", "resource": sg,
                "effect": "throttle", "rate": 0.2, "seed": seed
            }]))
            .await;

        let run = stack.publish_and_wait(&stack.message("EC2-002", &sg)).await;
        let stats = faults.stats().await;
        drop(faults);

        assert_eq!(
            run.status,
            "SUCCEEDED",
            "seed {seed}: {:?} {:?}",
            run.states(),
            run.failed_tasks()
        );
        assert_eq!(run.states().last().unwrap(), "Healed");
        assert_eq!(
            ingress(&stack, &sg).await,
            sorted(vec![
                rule("tcp", 20, 21, "0.0.0.0/0", "legacy range"),
                rule("tcp", 23, 30, "0.0.0.0/0", "legacy range"),
                rule("tcp", 22, 22, "10.0.0.0/8", "office"),
            ]),
            "seed {seed}: narrowed around 22, the office rule kept, nothing doubled"
        );
        assert!(stats[0].matched > 0, "the handlers' EC2 calls pass the injector");
        injected.push(stats[0].injected);
    }
    assert!(
        injected.iter().sum::<u64>() > 0,
        "throttles injected per run: {injected:?}"
    );
}

#[tokio::test]
async fn s3_001_heals_under_20_percent_throttling_every_time() {
    let stack = Stack::connect();
    let mut injected = Vec::new();
    for seed in 1..=3u64 {
        let (bucket, owner) = public_bucket(&stack).await;
        let faults = stack
            .faults(json!([{
                "id": "s3-throttle", "service": "s3", "resource": bucket,
                "effect": "throttle", "rate": 0.2, "seed": seed
            }]))
            .await;

        let run = stack.publish_and_wait(&stack.message("S3-001", &bucket)).await;
        let stats = faults.stats().await;
        drop(faults);

        assert_eq!(
            run.status,
            "SUCCEEDED",
            "seed {seed}: {:?} {:?}",
            run.states(),
            run.failed_tasks()
        );
        assert_eq!(run.states().last().unwrap(), "Healed");
        assert_eq!(
            live_grants(&stack, &bucket).await,
            pairs(&[(&owner, "FULL_CONTROL"), (PARTNER, "READ_ACP")]),
            "seed {seed}"
        );
        assert!(stats[0].matched > 0, "the handlers' S3 calls pass the injector");
        injected.push(stats[0].injected);
    }
    assert!(
        injected.iter().sum::<u64>() > 0,
        "throttles injected per run: {injected:?}"
    );
}

#[tokio::test]
async fn latency_on_describe_security_groups_shows_in_the_classify_task() {
    let stack = Stack::connect();
    let sg = group(&stack).await;
    allow(&stack, &sg, "tcp", 22, 22, "0.0.0.0/0", "ssh").await;
    let faults = stack
        .faults(json!([{
            "id": "slow-describe", "service": "ec2", "operation": "DescribeSecurityGroups",
            "resource": sg, "latency_ms": 200
        }]))
        .await;

    let run = stack.publish_and_wait(&stack.message("EC2-002", &sg)).await;
    let stats = faults.stats().await;
    drop(faults);

    assert_eq!(run.status, "SUCCEEDED", "{:?}", run.failed_tasks());
    assert!(stats[0].injected >= 1, "{stats:?}");
    let classify = run.task_duration("Classify");
    assert!(
        classify >= Duration::from_millis(200),
        "Classify took {classify:?} with 200 ms added to DescribeSecurityGroups"
    );
}

#[tokio::test]
async fn injected_errors_parse_as_the_services_own_errors() {
    use aws_sdk_ec2::error::ProvideErrorMetadata;
    let stack = Stack::connect();
    let sg = group(&stack).await;
    let (bucket, _) = public_bucket(&stack).await;
    let execution = stack.execution_arn(&unique("it-no-such-execution"));
    let faults = stack
        .faults(json!([
            {"id": "ec2", "service": "ec2", "operation": "DescribeSecurityGroups", "resource": sg, "effect": "throttle"},
            {"id": "ec2-5xx", "service": "ec2", "operation": "DescribeSecurityGroupRules", "resource": sg, "effect": "server_error"},
            {"id": "s3", "service": "s3", "operation": "GetBucketAcl", "resource": bucket, "effect": "throttle"},
            {"id": "sfn", "service": "states", "operation": "DescribeExecution", "resource": execution, "effect": "throttle"}
        ]))
        .await;
    let sdk = ar_core::aws::local_sdk_config(&stack.info.endpoint_url, &stack.info.region);
    let once = RetryConfig::disabled();
    let ec2 = aws_sdk_ec2::Client::from_conf(
        aws_sdk_ec2::config::Builder::from(&sdk)
            .retry_config(once.clone())
            .build(),
    );
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .retry_config(once.clone())
            .build(),
    );
    let sfn = aws_sdk_sfn::Client::from_conf(aws_sdk_sfn::config::Builder::from(&sdk).retry_config(once).build());

    let throttled = ec2.describe_security_groups().group_ids(&sg).send().await.unwrap_err();
    let failed = ec2
        .describe_security_group_rules()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("group-id")
                .values(&sg)
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    let slow_down = s3.get_bucket_acl().bucket(&bucket).send().await.unwrap_err();
    let sfn_throttled = sfn
        .describe_execution()
        .execution_arn(&execution)
        .send()
        .await
        .unwrap_err();
    let other_group_reads_fine = ec2
        .describe_security_groups()
        .group_ids(group(&stack).await)
        .send()
        .await;
    let stats = faults.stats().await;
    drop(faults);

    assert_eq!(throttled.code(), Some("RequestLimitExceeded"));
    assert_eq!(throttled.raw_response().map(|r| r.status().as_u16()), Some(503));
    assert_eq!(failed.code(), Some("InternalError"));
    assert_eq!(failed.raw_response().map(|r| r.status().as_u16()), Some(500));
    assert_eq!(slow_down.code(), Some("SlowDown"));
    assert_eq!(sfn_throttled.code(), Some("ThrottlingException"));
    assert!(
        throttled
            .raw_response()
            .is_some_and(|r| r.headers().get("x-amzn-RequestId").is_some()),
        "injected errors carry a request id"
    );
    assert!(other_group_reads_fine.is_ok(), "rules are scoped to their resource");
    assert!(stats.iter().all(|s| s.injected == 1), "{stats:?}");
}

/// A group with all traffic open to the world: EC2-002's fix is four adds, then the revoke.
async fn all_traffic_group(stack: &Stack) -> String {
    let sg = group(stack).await;
    allow(stack, &sg, "-1", -1, -1, "0.0.0.0/0", "everything").await;
    sg
}

fn crash_rule(sg: &str) -> serde_json::Value {
    json!([{"id": "crash", "service": "ec2", "resource": sg, "crash_after_writes": 1}])
}

#[tokio::test]
async fn a_crash_after_the_first_write_kills_remediate_and_the_history_says_so() {
    let stack = Stack::connect();
    let sg = all_traffic_group(&stack).await;
    let faults = stack.faults(crash_rule(&sg)).await;

    let run = stack.publish_and_wait(&stack.message("EC2-002", &sg)).await;
    let stats = faults.stats().await;
    drop(faults);

    assert!(
        run.failed_tasks()
            .contains(&("Remediate".to_string(), "Runtime.ExitError".to_string())),
        "{:?}",
        run.failed_tasks()
    );
    assert_eq!(stats[0].injected, 1, "one shot");
    assert_eq!(stats[0].killed.len(), 1, "{:?}", stats[0].killed);
    assert_eq!(stats[0].killed[0]["function"], "auto-remediate-remediate");
}

#[tokio::test]
async fn a_crash_between_writes_still_heals_and_leaves_nothing_half_changed() {
    let stack = Stack::connect();
    // After the first add, and after the last add (just before the revoke).
    for writes in [1, 4] {
        let sg = all_traffic_group(&stack).await;
        let faults = stack
            .faults(json!([{"id": "crash", "service": "ec2", "resource": sg, "crash_after_writes": writes}]))
            .await;

        let run = stack.publish_and_wait(&stack.message("EC2-002", &sg)).await;
        let stats = faults.stats().await;
        drop(faults);

        assert!(
            run.failed_tasks()
                .contains(&("Remediate".to_string(), "Runtime.ExitError".to_string())),
            "the history shows the crash: {:?}",
            run.failed_tasks()
        );
        assert_eq!(stats[0].injected, 1);
        assert_eq!(run.status, "SUCCEEDED", "{:?} {:?}", run.states(), run.failed_tasks());
        assert_eq!(run.states().last().unwrap(), "Healed");
        // No world-open tcp 22, and each replacement exactly once (the list would show a double).
        assert_eq!(
            ingress(&stack, &sg).await,
            sorted(vec![
                rule("tcp", 0, 21, "0.0.0.0/0", "everything"),
                rule("tcp", 23, 65535, "0.0.0.0/0", "everything"),
                rule("udp", 0, 65535, "0.0.0.0/0", "everything"),
                rule("icmp", -1, -1, "0.0.0.0/0", "everything"),
            ])
        );
        // The record is complete: the true before (the all-traffic rule), every write, the crashed
        // attempt's included, and never "nothing was changed".
        let remediation = &run.output["remediation"];
        assert_eq!(remediation["outcome"], "remediated", "{remediation}");
        let before = remediation["before"]["ingress"].as_array().unwrap();
        assert!(before.iter().any(|r| r["protocol"] == "-1"), "{remediation}");
        let applied = remediation["applied"].as_array().unwrap();
        assert_eq!(applied.len(), 5, "4 adds and the revoke: {applied:?}");
    }
}

#[tokio::test]
async fn a_crash_between_the_ipv4_and_the_ipv6_revoke_is_completed_by_the_retry() {
    let stack = Stack::connect();
    let sg = group(&stack).await;
    allow(&stack, &sg, "tcp", 22, 22, "0.0.0.0/0", "ssh v4").await;
    allow(&stack, &sg, "tcp", 22, 22, "::/0", "ssh v6").await;
    let faults = stack
        .faults(json!([{"id": "crash", "service": "ec2", "resource": sg, "crash_after_writes": 1}]))
        .await;
    let run = stack.publish_and_wait(&stack.message("EC2-002", &sg)).await;
    drop(faults);
    assert_eq!(
        run.states().last().map(String::as_str),
        Some("Healed"),
        "{:?}",
        run.failed_tasks()
    );
    assert!(ingress(&stack, &sg).await.is_empty(), "both revoked");
    let applied = run.output["remediation"]["applied"].as_array().unwrap().len();
    assert_eq!(applied, 2, "{}", run.output["remediation"]);
}

/// An undo crashed after its first write is completed by the retry: EC2-002's all-traffic fix
/// (four adds and a revoke) is undone (the all-traffic rule added back, the four replacements
/// revoked), the undo's Remediate is killed after the first of those writes, and the retry
/// restores the rest from the undo's own journal instead of refusing the half-restored group.
#[tokio::test]
async fn an_undo_crashed_after_its_first_write_is_completed_by_the_retry_and_reports_every_write() {
    let stack = Stack::connect();
    let sg = all_traffic_group(&stack).await;
    let before = ingress(&stack, &sg).await;
    let healed = stack.publish_healed(&stack.message("EC2-002", &sg)).await;
    assert_ne!(ingress(&stack, &sg).await, before);

    let faults = stack.faults(crash_rule(&sg)).await;
    crate::cli::undo_restored(&stack, &healed).await;
    let stats = faults.stats().await;
    drop(faults);
    let undo = stack.wait(&format!("undo-{healed}")).await;

    assert_eq!(stats[0].injected, 1, "one crash: {stats:?}");
    assert_eq!(stats[0].killed.len(), 1, "{:?}", stats[0].killed);
    assert!(
        undo.failed_tasks()
            .contains(&("Remediate".to_string(), "Runtime.ExitError".to_string())),
        "the history shows the crash: {:?}",
        undo.failed_tasks()
    );
    // Re-read: exactly the recorded before-state, the all-traffic rule once.
    assert_eq!(ingress(&stack, &sg).await, before);
    // The undo's record: its true before (the fix's after) and every write, the crashed
    // attempt's included.
    let remediation = &undo.output["remediation"];
    assert_eq!(remediation["outcome"], "remediated", "{remediation}");
    let applied = remediation["applied"].as_array().unwrap();
    assert_eq!(applied.len(), 5, "the add and 4 revokes: {applied:?}");
    let undo_before = remediation["before"]["ingress"].as_array().unwrap();
    assert!(!undo_before.iter().any(|r| r["protocol"] == "-1"), "{remediation}");
}
