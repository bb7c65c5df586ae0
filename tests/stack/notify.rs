//! Outcome notifications: every end state is entered through its Notify task, which publishes
//! one message to the outcome topic. An SQS queue subscribed to the topic reads them here (and
//! `Stack::wait` checks the notification of every execution a test published, whatever its
//! outcome); these tests read the content, and the outcomes no other test reaches.

use ar_tests::{OutcomeMessage, Stack};
use serde_json::json;

use super::s3::{bucket_with, group, live_grants, ALL};

async fn one_message(stack: &Stack, execution: &str, inbox: ar_tests::OutcomeInbox) -> OutcomeMessage {
    let mut got = inbox.take(10).await;
    inbox.close(stack).await;
    assert_eq!(got.len(), 1, "{execution}: {got:?}");
    got.remove(0)
}

#[tokio::test]
async fn a_healed_bucket_is_told_with_what_changed_and_how_to_see_and_undo_it() {
    let stack = Stack::connect();
    let (bucket, _) = bucket_with(&stack, vec![group(ALL, "READ")]).await;
    let message = stack.message("S3-001", &bucket);
    let name = stack.execution_name(&message);
    let inbox = stack.outcome_inbox(&name).await;
    let run = stack.publish_and_wait(&message).await;
    assert_eq!(
        run.states().last().map(String::as_str),
        Some("Healed"),
        "{:?}",
        run.failed_tasks()
    );
    assert_eq!(&run.states()[run.states().len() - 2], "NotifyHealed");
    let m = one_message(&stack, &name, inbox).await;

    let account = &stack.info.account_id;
    assert_eq!(
        m.subject,
        format!("Healed: S3-001 {bucket} in {account} {}", stack.info.region)
    );
    assert_eq!(m.attributes["rule_id"], "S3-001");
    assert_eq!(m.attributes["account_id"], *account);
    let applied: Vec<String> = run.output["remediation"]["applied"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| format!("  - {}", a.as_str().unwrap()))
        .collect();
    assert!(!applied.is_empty());
    for line in applied.iter().map(String::as_str).chain([
        "Changed:",
        "Verified:   the rule's check passes on the resource as re-read",
        &format!("Details:    auto-remediate show {name}"),
        &format!("Undo:       auto-remediate undo {name}"),
        &format!("#/v2/executions/details/{}", stack.execution_arn(&name)),
    ]) {
        assert!(m.body.contains(line), "{line:?} not in\n{}", m.body);
    }
    assert_eq!(run.output["notification"]["published"], true, "{}", run.output);
    assert!(!live_grants(&stack, &bucket).await.iter().any(|(g, _)| g == ALL));
}

#[tokio::test]
async fn a_fix_refused_by_aws_is_told_as_remediation_failed_with_its_error() {
    let stack = Stack::connect();
    let (bucket, _) = bucket_with(&stack, vec![group(ALL, "READ")]).await;
    let faults = stack
        .faults(
            json!([{"id": "deny-acl-write", "service": "s3", "operation": "PutBucketAcl",
                        "resource": bucket, "effect": "access_denied"}]),
        )
        .await;
    let message = stack.message("S3-001", &bucket);
    let name = stack.execution_name(&message);
    let inbox = stack.outcome_inbox(&name).await;
    let run = stack.publish_and_wait(&message).await;
    drop(faults);
    assert_eq!(
        run.states().last().map(String::as_str),
        Some("RemediationFailed"),
        "{:?}",
        run.states()
    );
    let m = one_message(&stack, &name, inbox).await;
    assert!(
        m.subject.starts_with(&format!("RemediationFailed: S3-001 {bucket}")),
        "{m:?}"
    );
    assert!(m.body.contains("Error:      AccessDenied"), "{}", m.body);
    assert!(!m.body.contains("Undo:"), "{}", m.body);
    assert!(live_grants(&stack, &bucket)
        .await
        .iter()
        .any(|(g, p)| g == ALL && p == "READ"));
}

#[tokio::test]
async fn a_resource_that_cannot_be_read_is_told_as_classification_failed() {
    let stack = Stack::connect();
    let (bucket, _) = bucket_with(&stack, vec![group(ALL, "READ")]).await;
    let faults = stack
        .faults(
            json!([{"id": "deny-acl-read", "service": "s3", "operation": "GetBucketAcl",
                        "resource": bucket, "effect": "access_denied"}]),
        )
        .await;
    // Stack::wait checks the ClassificationFailed notification.
    let run = stack.publish_and_wait(&stack.message("S3-001", &bucket)).await;
    drop(faults);
    assert_eq!(
        run.states().last().map(String::as_str),
        Some("ClassificationFailed"),
        "{:?}",
        run.states()
    );
    assert!(!run.states().iter().any(|s| s == "Remediate"));
}

#[tokio::test]
async fn a_notification_that_cannot_be_sent_leaves_the_outcome_as_it_is() {
    let stack = Stack::connect();
    let (bucket, _) = bucket_with(&stack, vec![group(ALL, "READ")]).await;
    let message = stack.message("S3-001", &bucket);
    let name = stack.execution_name(&message);
    // Only the Notify task's Publish names the execution.
    let faults = stack
        .faults(json!([{"id": "sns-down", "service": "sns", "operation": "Publish",
                        "resource": name, "effect": "access_denied"}]))
        .await;
    stack.publish(&message.to_string()).await;
    // Published with `publish` (not watched), so Stack::wait expects no notification check.
    let run = stack.wait(&name).await;
    let stats = faults.stats().await;
    drop(faults);
    assert_eq!(run.status, "SUCCEEDED");
    let output = &run.output;
    assert_eq!(output["verification"]["compliant"], true, "{output}");
    assert!(
        output["notification"]["Error"].is_string(),
        "the failure is recorded: {output}"
    );
    assert!(
        stats.iter().any(|s| s.injected > 0),
        "the Publish was refused: {stats:?}"
    );
    assert!(!live_grants(&stack, &bucket).await.iter().any(|(g, _)| g == ALL));
}

#[tokio::test]
async fn a_finding_of_a_rule_not_in_the_catalog_is_told_as_unknown_rule() {
    // The trigger refuses such a finding; an execution started with one (by hand, or from an
    // older catalog) ends in UnknownRule at Classify.
    let stack = Stack::connect();
    let name = ar_tests::unique("unknown-rule");
    stack.watch_outcome(&name).await;
    let finding = json!({"source": "conformity", "check_id": name, "rule_id": "S3-999", "service": "S3",
                         "status": "FAILURE", "account_id": stack.info.account_id, "region": stack.info.region,
                         "reported_region": "global", "resource": "some-bucket"});
    stack
        .sfn
        .start_execution()
        .state_machine_arn(&stack.info.state_machine_arn)
        .name(&name)
        .input(json!({ "finding": finding }).to_string())
        .send()
        .await
        .unwrap();
    // Stack::wait checks the UnknownRule notification.
    let run = stack.wait(&name).await;
    assert_eq!(
        run.states().last().map(String::as_str),
        Some("UnknownRule"),
        "{:?}",
        run.states()
    );
}

#[tokio::test]
async fn an_approval_e_mail_that_cannot_be_sent_is_told_as_approval_request_failed() {
    let stack = Stack::connect_named("approve");
    let sg = super::ec2::group(&stack).await;
    super::ec2::allow(&stack, &sg, "tcp", 22, 22, "0.0.0.0/0", "world").await;
    // SESv2 (REST-JSON) has no operation name here: the e-mail's body names the group.
    let faults = stack
        .faults(json!([{"id": "ses-denied", "service": "ses", "resource": sg, "effect": "access_denied"}]))
        .await;
    let run = stack.publish_and_wait(&stack.message("EC2-002", &sg)).await;
    drop(faults);
    assert_eq!(
        run.states().last().map(String::as_str),
        Some("ApprovalRequestFailed"),
        "{:?} {:?}",
        run.states(),
        run.task_errors()
    );
    assert_eq!(super::ec2::ingress(&stack, &sg).await.len(), 1, "nothing was changed");
}

/// The subscriptions on the outcome topic whose filter names `execution`.
async fn inbox_subscriptions(stack: &Stack, execution: &str) -> usize {
    let mut found = 0;
    let mut pages = stack
        .sns
        .list_subscriptions_by_topic()
        .topic_arn(&stack.info.outcome_topic_arn)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for sub in page.expect("ListSubscriptionsByTopic").subscriptions() {
            let attrs = stack
                .sns
                .get_subscription_attributes()
                .subscription_arn(sub.subscription_arn().unwrap_or_default())
                .send()
                .await;
            let filter = attrs
                .ok()
                .and_then(|a| a.attributes().and_then(|m| m.get("FilterPolicy").cloned()))
                .unwrap_or_default();
            found += usize::from(filter.contains(execution));
        }
    }
    found
}

/// A test that fails before it waits for its executions still removes their outcome inboxes
/// (the stack's `Drop`): they would pile up on the topic otherwise.
#[tokio::test]
async fn outcome_inboxes_never_waited_for_go_with_the_stack() {
    let execution = ar_tests::unique("never-waited-for");
    {
        let stack = Stack::connect();
        stack.watch_outcome(&execution).await;
        assert_eq!(inbox_subscriptions(&stack, &execution).await, 1);
    }
    let stack = Stack::connect();
    assert_eq!(inbox_subscriptions(&stack, &execution).await, 0);
}
