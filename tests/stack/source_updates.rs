//! Updates back to Security Hub, and EventBridge delivery on the local stack (issue 20).
//!
//! Each test imports its Security Hub finding into moto (`BatchImportFindings`), sends the
//! `Security Hub Findings - Imported` event carrying it with EventBridge's `PutEvents` through
//! the gateway (which delivers it to the trigger through the rule the stack provisions, as
//! `infra/main.tf` subscribes it), waits for every run the event started, re-reads the resource,
//! and reads the finding back with the ordinary `GetFindings` call: the gateway answers
//! `BatchUpdateFindings` (moto has none) by updating moto's copy of the finding.

use std::time::{Duration, Instant};

use ar_tests::{delivery_kind, http, now_ms, unique, Execution, Stack};
use aws_sdk_securityhub::types::{
    AwsSecurityFinding, AwsSecurityFindingFilters, Compliance, ComplianceStatus, RecordState, Resource, Severity,
    SeverityLabel, StringFilter, StringFilterComparison, Workflow, WorkflowStatus,
};
use serde_json::{json, Value};

use crate::s3::{bucket_with, group, ALL};

/// The rules Security Hub S3.2 maps to (lambdas/core/catalog/sources.json), in the trigger's order.
const S3_2_RULES: [&str; 5] = ["S3-001", "S3-005", "S3-006", "S3-010", "S3-014"];
const PRODUCT: &str = "product/aws/securityhub";

/// One Security Hub S3.2 finding about `bucket`, failing, ACTIVE and NEW, in this stack's account
/// and region, with an id of its own: (its ASFF JSON for the event, its `Id`, its `ProductArn`).
/// The sample tests/fixtures/securityhub-samples/afsbp-s3.2.json with its named fields changed.
fn s3_2_finding(stack: &Stack, bucket: &str) -> (Value, String, String) {
    let mut f: Value = serde_json::from_str(include_str!("../fixtures/securityhub-samples/afsbp-s3.2.json")).unwrap();
    let (account, region) = (&stack.info.account_id, &stack.info.region);
    let id = format!(
        "arn:aws:securityhub:{region}:{account}:subscription/aws-foundational-security-best-practices/v/1.0.0/S3.2/finding/{}",
        unique("f")
    );
    let product = format!("arn:aws:securityhub:{region}::{PRODUCT}");
    let now = ar_tests::rfc3339_ms(now_ms());
    f["Id"] = json!(id);
    f["ProductArn"] = json!(product);
    f["Compliance"] = json!({"Status": "FAILED", "SecurityControlId": "S3.2"});
    f["Workflow"] = json!({"Status": "NEW"});
    f["RecordState"] = json!("ACTIVE");
    f["AwsAccountId"] = json!(account);
    f["Region"] = json!(region);
    f["CreatedAt"] = json!(now);
    f["UpdatedAt"] = json!(now);
    f["Resources"][0]["Type"] = json!("AwsS3Bucket");
    f["Resources"][0]["Id"] = json!(format!("arn:aws:s3:::{bucket}"));
    f["Resources"][0]["Region"] = json!(region);
    (f, id, product)
}

/// The finding as `BatchImportFindings` takes it (the fields the event carries that a reader checks).
fn typed(f: &Value) -> AwsSecurityFinding {
    let s = |k: &str| f[k].as_str().unwrap_or_default().to_string();
    let r = &f["Resources"][0];
    AwsSecurityFinding::builder()
        .schema_version(s("SchemaVersion"))
        .id(s("Id"))
        .product_arn(s("ProductArn"))
        .generator_id(s("GeneratorId"))
        .aws_account_id(s("AwsAccountId"))
        .region(s("Region"))
        .types(f["Types"][0].as_str().unwrap_or_default())
        .created_at(s("CreatedAt"))
        .updated_at(s("UpdatedAt"))
        .severity(Severity::builder().label(SeverityLabel::Informational).build())
        .title(s("Title"))
        .description(s("Description"))
        .resources(
            Resource::builder()
                .r#type(r["Type"].as_str().unwrap_or_default())
                .id(r["Id"].as_str().unwrap_or_default())
                .region(r["Region"].as_str().unwrap_or_default())
                .build(),
        )
        .compliance(
            Compliance::builder()
                .status(ComplianceStatus::Failed)
                .security_control_id("S3.2")
                .build(),
        )
        .workflow(Workflow::builder().status(WorkflowStatus::New).build())
        .record_state(RecordState::Active)
        .build()
}

fn securityhub(stack: &Stack) -> aws_sdk_securityhub::Client {
    aws_sdk_securityhub::Client::new(&stack.sdk)
}

/// Imports the finding into moto's Security Hub.
async fn import(stack: &Stack, f: &Value) {
    // Boxed: the SDK's futures are large, and a test thread's stack is not.
    let out = Box::pin(securityhub(stack).batch_import_findings().findings(typed(f)).send())
        .await
        .expect("BatchImportFindings");
    assert_eq!(out.failed_count(), Some(0), "{out:?}");
}

/// The finding as Security Hub returns it now (`GetFindings`).
async fn read_back(stack: &Stack, id: &str, product: &str) -> AwsSecurityFinding {
    let filter = |v: &str| {
        StringFilter::builder()
            .value(v)
            .comparison(StringFilterComparison::Equals)
            .build()
    };
    let mut pages = securityhub(stack)
        .get_findings()
        .filters(
            AwsSecurityFindingFilters::builder()
                .id(filter(id))
                .product_arn(filter(product))
                .build(),
        )
        .into_paginator()
        .send();
    while let Some(page) = Box::pin(pages.next()).await {
        // moto ignores the filters: the finding is picked here too.
        if let Some(f) = page
            .expect("GetFindings")
            .findings()
            .iter()
            .find(|f| f.id() == Some(id) && f.product_arn() == Some(product))
        {
            return f.clone();
        }
    }
    panic!("finding {id} not held by Security Hub")
}

/// Sends the `Security Hub Findings - Imported` event carrying `finding` with `PutEvents`
/// through the gateway; its event id.
async fn put_event(stack: &Stack, finding: &Value) -> String {
    let out = Box::pin(
        aws_sdk_eventbridge::Client::new(&stack.sdk)
            .put_events()
            .entries(
                aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                    .source("aws.securityhub")
                    .detail_type("Security Hub Findings - Imported")
                    .resources(finding["Id"].as_str().unwrap())
                    .detail(json!({"findings": [finding]}).to_string())
                    .build(),
            )
            .send(),
    )
    .await
    .expect("PutEvents");
    assert_eq!(out.failed_entry_count(), 0, "{out:?}");
    out.entries()[0].event_id().expect("an event id").to_string()
}

/// The gateway's record of the event's delivery to the trigger (EventBridge delivers
/// asynchronously): waits for it, at most `seconds`. `None` when nothing was delivered.
async fn delivered(stack: &Stack, event_id: &str, seconds: u64) -> Option<Value> {
    let url = format!("{}/_local/deliveries?message_id={event_id}", stack.info.endpoint_url);
    let start = Instant::now();
    loop {
        let (_, body) = http("GET", &url, "").await;
        let all: Value = serde_json::from_str(&body).expect("deliveries are JSON");
        if let Some(d) = all.as_array().and_then(|a| a.first()) {
            return Some(d.clone());
        }
        if start.elapsed() > Duration::from_secs(seconds) {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits for every run the delivered event started; (rule id, execution name, run) in the
/// trigger's order.
async fn runs(stack: &Stack, delivery: &Value) -> Vec<(String, String, Execution)> {
    runs_of(stack, delivery, "auto-remediate-security-hub").await
}

/// [`runs`] of an event delivered through the EventBridge rule `rule`.
async fn runs_of(stack: &Stack, delivery: &Value, rule: &str) -> Vec<(String, String, Execution)> {
    assert_eq!(delivery["source"], "eventbridge", "{delivery}");
    assert_eq!(delivery["rule"], rule, "{delivery}");
    let records = delivery["result"]["records"].as_array().cloned().unwrap_or_default();
    let rules: Vec<&str> = records.iter().filter_map(|r| r["rule_id"].as_str()).collect();
    assert_eq!(rules, S3_2_RULES, "{delivery}");
    let mut out = Vec::new();
    for r in &records {
        assert_eq!(delivery_kind(r), "ActedOn:Started", "{r}");
        let name = r["execution_name"].as_str().expect("an execution per mapped rule");
        out.push((
            r["rule_id"].as_str().unwrap().to_string(),
            name.to_string(),
            stack.wait(name).await,
        ));
    }
    out
}

fn end(run: &Execution) -> String {
    run.states().last().cloned().unwrap_or_default()
}

/// Polls the finding until its note is auto-remediate's (the last run's Notify makes the call
/// before that run ends, so this is at once in practice), at most 10 s.
async fn updated(stack: &Stack, id: &str, product: &str) -> AwsSecurityFinding {
    let start = Instant::now();
    loop {
        let f = read_back(stack, id, product).await;
        if f.note().and_then(|n| n.updated_by()) == Some("auto-remediate") || start.elapsed() > Duration::from_secs(10)
        {
            return f;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn an_s3_2_finding_put_through_eventbridge_heals_the_bucket_and_is_resolved_with_a_note_naming_the_execution() {
    let stack = Stack::connect();
    let (bucket, _) = bucket_with(&stack, vec![group(ALL, "READ")]).await;
    let (finding, id, product) = s3_2_finding(&stack, &bucket);
    import(&stack, &finding).await;
    assert_eq!(
        read_back(&stack, &id, &product)
            .await
            .workflow()
            .and_then(|w| w.status()),
        Some(&WorkflowStatus::New)
    );

    let event_id = put_event(&stack, &finding).await;
    let delivery = delivered(&stack, &event_id, 10)
        .await
        .expect("the event reached the trigger");
    let runs = runs(&stack, &delivery).await;
    let healed: Vec<(&String, &Execution)> = runs
        .iter()
        .filter(|(r, _, _)| r == "S3-001")
        .map(|(_, n, e)| (n, e))
        .collect();
    assert_eq!(healed.len(), 1);
    healed[0].1.assert_healed();
    for (rule, _, run) in &runs {
        if rule != "S3-001" {
            assert_eq!(end(run), "AlreadyCompliant", "{rule}: {:?}", run.states());
        }
    }
    let acl = stack.s3.get_bucket_acl().bucket(&bucket).send().await.unwrap();
    assert!(
        acl.grants()
            .iter()
            .all(|g| g.grantee().and_then(|g| g.uri()) != Some(ALL)),
        "AllUsers still granted: {:?}",
        acl.grants()
    );

    let f = updated(&stack, &id, &product).await;
    assert_eq!(
        f.workflow().and_then(|w| w.status()),
        Some(&WorkflowStatus::Resolved),
        "{f:?}"
    );
    let note = f.note().expect("a note");
    assert_eq!(note.updated_by(), Some("auto-remediate"));
    let text = note.text().unwrap_or_default();
    assert!(
        text.contains(&format!("healed S3-001 by execution {}", healed[0].0)),
        "{text}"
    );
    assert!(
        text.starts_with(&format!("auto-remediate resolved S3.2 on {bucket}")),
        "{text}"
    );
    // Exactly one sibling made the call; the others recorded their end and waited.
    let actions: Vec<String> = runs
        .iter()
        .map(|(_, _, r)| {
            r.output["notification"]["source_update"]["action"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert_eq!(actions.iter().filter(|a| *a == "resolved").count(), 1, "{actions:?}");
    assert_eq!(actions.iter().filter(|a| *a == "waiting").count(), 4, "{actions:?}");

    // A redelivered Notify of the run that decided (Step Functions retrying it, say) finds the
    // decision claimed for these ends and sends nothing; the finding stays as the first call left it.
    let (_, deciding_name, deciding) = runs
        .iter()
        .find(|(_, _, r)| r.output["notification"]["source_update"]["action"] == "resolved")
        .unwrap();
    let again = stack
        .invoke(
            "auto-remediate-notify",
            &json!({"outcome": end(deciding), "execution": stack.execution_arn(deciding_name),
                    "state": deciding.output}),
        )
        .await
        .expect("Notify");
    assert_eq!(again["source_update"]["action"], "already-decided", "{again}");
    let after = read_back(&stack, &id, &product).await;
    assert_eq!(after.note(), f.note());
    assert_eq!(after.workflow(), f.workflow());
}

#[tokio::test]
async fn a_finding_whose_runs_do_not_heal_gets_a_note_and_stays_new() {
    let stack = Stack::connect();
    // A bucket that does not exist: every rule's run ends without healing anything.
    let bucket = unique("it-bucket-gone");
    let (finding, id, product) = s3_2_finding(&stack, &bucket);
    import(&stack, &finding).await;

    let event_id = put_event(&stack, &finding).await;
    let delivery = delivered(&stack, &event_id, 10)
        .await
        .expect("the event reached the trigger");
    let runs = runs(&stack, &delivery).await;
    for (rule, _, run) in &runs {
        assert!(
            !["Healed", "AlreadyCompliant"].contains(&end(run).as_str()),
            "{rule}: {:?}",
            run.states()
        );
    }
    assert!(
        stack.s3.head_bucket().bucket(&bucket).send().await.is_err(),
        "the bucket was created"
    );

    let f = updated(&stack, &id, &product).await;
    assert_eq!(
        f.workflow().and_then(|w| w.status()),
        Some(&WorkflowStatus::New),
        "{f:?}"
    );
    let note = f.note().expect("a note");
    assert_eq!(note.updated_by(), Some("auto-remediate"));
    let text = note.text().unwrap_or_default();
    assert!(
        text.starts_with(&format!("auto-remediate did not resolve S3.2 on {bucket}: S3-001 ")),
        "{text}"
    );
    let (_, first_name, first) = &runs[0];
    assert!(
        text.contains(&format!("S3-001 {} (execution {first_name})", end(first))),
        "{text}"
    );
}

#[tokio::test]
async fn events_the_rules_do_not_match_reach_no_target() {
    let stack = Stack::connect();
    let (bucket, _) = bucket_with(&stack, vec![group(ALL, "READ")]).await;
    let (mut finding, _, _) = s3_2_finding(&stack, &bucket);
    // What Security Hub sends once the finding is resolved: the rule's pattern takes NEW and NOTIFIED only.
    finding["Workflow"]["Status"] = json!("RESOLVED");
    let resolved = put_event(&stack, &finding).await;
    // A passed finding, and an event of another source.
    finding["Workflow"]["Status"] = json!("NEW");
    finding["Compliance"]["Status"] = json!("PASSED");
    let passed = put_event(&stack, &finding).await;
    // The control's event as it should be: delivered (so the two above were judged, not lost).
    finding["Compliance"]["Status"] = json!("FAILED");
    let failing = put_event(&stack, &finding).await;
    let d = delivered(&stack, &failing, 10)
        .await
        .expect("the failing finding is delivered");
    let runs = runs(&stack, &d).await;
    assert!(runs.iter().any(|(r, _, e)| r == "S3-001" && end(e) == "Healed"));
    for id in [resolved, passed] {
        assert_eq!(delivered(&stack, &id, 0).await, None, "event {id} was delivered");
    }
}

/// An AWS Config `Config Rules Compliance Change` to NON_COMPLIANT of
/// s3-bucket-public-read-prohibited, put through EventBridge: delivered by the Config rule, the
/// bucket heals, and no run calls Security Hub (Config findings get no update back).
#[tokio::test]
async fn a_config_finding_put_through_eventbridge_heals_and_makes_no_security_hub_call() {
    let stack = Stack::connect();
    let (bucket, _) = bucket_with(&stack, vec![group(ALL, "READ")]).await;
    let mut e: Value = serde_json::from_str(include_str!(
        "../fixtures/config-samples/access-keys-rotated-noncompliant.json"
    ))
    .unwrap();
    let (account, region) = (&stack.info.account_id, &stack.info.region);
    let rule = "s3-bucket-public-read-prohibited";
    let d = &mut e["detail"];
    d["configRuleName"] = json!(rule);
    d["configRuleARN"] = json!(format!(
        "arn:aws:config:{region}:{account}:config-rule/config-rule-{}",
        unique("r")
    ));
    d["resourceType"] = json!("AWS::S3::Bucket");
    d["resourceId"] = json!(bucket);
    d["awsAccountId"] = json!(account);
    d["awsRegion"] = json!(region);
    d["newEvaluationResult"]["resultRecordedTime"] = json!(ar_tests::rfc3339_ms(now_ms()));
    for result in ["newEvaluationResult", "oldEvaluationResult"] {
        let q = &mut d[result]["evaluationResultIdentifier"]["evaluationResultQualifier"];
        q["configRuleName"] = json!(rule);
        q["resourceType"] = json!("AWS::S3::Bucket");
        q["resourceId"] = json!(bucket);
    }
    let out = Box::pin(
        aws_sdk_eventbridge::Client::new(&stack.sdk)
            .put_events()
            .entries(
                aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                    .source("aws.config")
                    .detail_type("Config Rules Compliance Change")
                    .detail(e["detail"].to_string())
                    .build(),
            )
            .send(),
    )
    .await
    .expect("PutEvents");
    let event_id = out.entries()[0].event_id().expect("an event id").to_string();
    let delivery = delivered(&stack, &event_id, 10)
        .await
        .expect("the event reached the trigger");
    let runs = runs_of(&stack, &delivery, "auto-remediate-config-rules").await;
    for (rule, _, run) in &runs {
        let want = if rule == "S3-001" { "Healed" } else { "AlreadyCompliant" };
        assert_eq!(end(run), want, "{rule}: {:?}", run.states());
        assert!(
            run.output["notification"].get("source_update").is_none(),
            "{rule}: {}",
            run.output["notification"]
        );
    }
    let acl = stack.s3.get_bucket_acl().bucket(&bucket).send().await.unwrap();
    assert!(
        acl.grants()
            .iter()
            .all(|g| g.grantee().and_then(|g| g.uri()) != Some(ALL)),
        "AllUsers still granted: {:?}",
        acl.grants()
    );
}

/// A rule of one's own with the trigger as its target, managed through the gateway as on AWS:
/// the target is listed, events matching the rule reach it, and once removed they do not; a
/// target for a rule that does not exist is refused.
#[tokio::test]
async fn targets_put_and_removed_through_the_gateway_are_listed_and_decide_delivery() {
    let stack = Stack::connect();
    let events = aws_sdk_eventbridge::Client::new(&stack.sdk);
    let rule = unique("it-rule");
    let source = format!("it.{}", unique("source"));
    Box::pin(
        events
            .put_rule()
            .name(&rule)
            .event_pattern(json!({"source": [source]}).to_string())
            .send(),
    )
    .await
    .expect("PutRule");
    let trigger = format!(
        "arn:aws:lambda:{}:{}:function:auto-remediate-trigger",
        stack.info.region, stack.info.account_id
    );
    let target = aws_sdk_eventbridge::types::Target::builder()
        .id("t1")
        .arn(&trigger)
        .build()
        .unwrap();
    let put = Box::pin(events.put_targets().rule(&rule).targets(target.clone()).send())
        .await
        .expect("PutTargets");
    assert_eq!(put.failed_entry_count(), 0);
    let listed = Box::pin(events.list_targets_by_rule().rule(&rule).send())
        .await
        .expect("ListTargetsByRule");
    let arns: Vec<&str> = listed.targets().iter().map(|t| t.arn()).collect();
    assert_eq!(arns, [trigger.as_str()]);

    let send = || async {
        let out = Box::pin(
            events
                .put_events()
                .entries(
                    aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                        .source(&source)
                        .detail_type("it")
                        .detail("{}")
                        .build(),
                )
                .send(),
        )
        .await
        .expect("PutEvents");
        out.entries()[0].event_id().unwrap().to_string()
    };
    let first = send().await;
    let d = delivered(&stack, &first, 10)
        .await
        .expect("delivered to the rule's target");
    assert_eq!(d["rule"], rule.as_str(), "{d}");

    Box::pin(events.remove_targets().rule(&rule).ids("t1").send())
        .await
        .expect("RemoveTargets");
    let listed = Box::pin(events.list_targets_by_rule().rule(&rule).send())
        .await
        .expect("ListTargetsByRule");
    assert!(listed.targets().is_empty(), "{listed:?}");
    let second = send().await;
    assert_eq!(delivered(&stack, &second, 1).await, None);

    let err = Box::pin(events.put_targets().rule(unique("no-such-rule")).targets(target).send())
        .await
        .expect_err("a target for a rule that does not exist");
    assert_eq!(
        err.as_service_error().and_then(|e| e.meta().code()),
        Some("ResourceNotFoundException"),
        "{err:?}"
    );
}
