//! Findings of the other sources heal through the same workflow (issue 20): an EventBridge event
//! invokes the trigger with the event itself, as an EventBridge rule's target is invoked on AWS.
//! Each test re-reads the resource afterwards; the events are the samples
//! (tests/fixtures/{securityhub,config}-samples/) with named fields changed only.

use ar_core::finding::execution_name_prefix;
use ar_tests::{delivery_kind, unique, Execution, Stack};
use serde_json::{json, Value};

use crate::ec2::{allow, group as security_group, ingress, Rule};
use crate::s3::{bucket_with, group, live_grants, user, ALL, AUTH, PARTNER};

/// The rules Security Hub S3.2 and Config S3_BUCKET_PUBLIC_READ_PROHIBITED map to
/// (lambdas/core/catalog/sources.json), in the trigger's order.
const PUBLIC_READ_RULES: [&str; 5] = ["S3-001", "S3-005", "S3-006", "S3-010", "S3-014"];

/// The Security Hub S3.2 sample (tests/fixtures/securityhub-samples/afsbp-s3.2.json) made a
/// finding of `control` on the resource `arn` of ASFF type `resource_type`, in this stack's
/// account and region: failing, ACTIVE and NEW, with an id of its own.
fn sh_finding(stack: &Stack, control: &str, resource_type: &str, arn: &str) -> Value {
    let mut f: Value = serde_json::from_str(include_str!("../fixtures/securityhub-samples/afsbp-s3.2.json")).unwrap();
    let (account, region) = (&stack.info.account_id, &stack.info.region);
    f["Id"] = json!(format!(
        "arn:aws:securityhub:{region}:{account}:subscription/aws-foundational-security-best-practices/v/1.0.0/{control}/finding/{}",
        unique("f")
    ));
    f["GeneratorId"] = json!(format!("aws-foundational-security-best-practices/v/1.0.0/{control}"));
    f["Title"] = json!(format!("{control} (stack test)"));
    f["Compliance"] = json!({"Status": "FAILED", "SecurityControlId": control});
    f["ProductFields"]["ControlId"] = json!(control);
    f["ProductFields"]["StandardsControlArn"] = json!(format!(
        "arn:aws:securityhub:{region}:{account}:control/aws-foundational-security-best-practices/v/1.0.0/{control}"
    ));
    f["Workflow"]["Status"] = json!("NEW");
    f["RecordState"] = json!("ACTIVE");
    f["AwsAccountId"] = json!(account);
    f["Region"] = json!(region);
    f["Resources"][0]["Type"] = json!(resource_type);
    f["Resources"][0]["Id"] = json!(arn);
    f["Resources"][0]["Region"] = json!(region);
    f
}

/// The `Security Hub Findings - Imported` event carrying `findings`, as the EventBridge rule's
/// target receives it.
fn sh_event(stack: &Stack, findings: Vec<Value>) -> Value {
    json!({
        "version": "0", "id": unique("event"), "detail-type": "Security Hub Findings - Imported",
        "source": "aws.securityhub", "account": stack.info.account_id, "time": "2026-01-01T00:00:00Z",
        "region": stack.info.region, "resources": [], "detail": {"findings": findings}
    })
}

/// The Security Hub S3.2 sample, failing, about `bucket` in this stack's account and region, in
/// the event Security Hub sends.
fn s3_2_event(stack: &Stack, bucket: &str) -> Value {
    sh_event(
        stack,
        vec![sh_finding(
            stack,
            "S3.2",
            "AwsS3Bucket",
            &format!("arn:aws:s3:::{bucket}"),
        )],
    )
}

/// The AWS Config sample (tests/fixtures/config-samples/access-keys-rotated-noncompliant.json)
/// made a `Config Rules Compliance Change` of the Config rule `rule_name` to `compliance` for
/// the resource `resource_id` of `resource_type`, in this stack's account and region.
fn config_event(stack: &Stack, rule_name: &str, resource_type: &str, resource_id: &str, compliance: &str) -> Value {
    let mut e: Value = serde_json::from_str(include_str!(
        "../fixtures/config-samples/access-keys-rotated-noncompliant.json"
    ))
    .unwrap();
    let (account, region) = (&stack.info.account_id, &stack.info.region);
    e["id"] = json!(unique("event"));
    e["account"] = json!(account);
    e["region"] = json!(region);
    let d = &mut e["detail"];
    d["configRuleName"] = json!(rule_name);
    d["configRuleARN"] = json!(format!(
        "arn:aws:config:{region}:{account}:config-rule/config-rule-{}",
        unique("r")
    ));
    d["resourceType"] = json!(resource_type);
    d["resourceId"] = json!(resource_id);
    d["awsAccountId"] = json!(account);
    d["awsRegion"] = json!(region);
    d["newEvaluationResult"]["complianceType"] = json!(compliance);
    // A compliance change of its own: now, not the sample's 2021 date.
    d["newEvaluationResult"]["resultRecordedTime"] = json!(ar_tests::rfc3339_ms(ar_tests::now_ms()));
    for result in ["newEvaluationResult", "oldEvaluationResult"] {
        let q = &mut d[result]["evaluationResultIdentifier"]["evaluationResultQualifier"];
        q["configRuleName"] = json!(rule_name);
        q["resourceType"] = json!(resource_type);
        q["resourceId"] = json!(resource_id);
    }
    e
}

/// Invokes the trigger with `event` as EventBridge does; its records.
async fn trigger(stack: &Stack, event: &Value) -> Vec<Value> {
    let out = stack
        .invoke("auto-remediate-trigger", event)
        .await
        .unwrap_or_else(|(name, text)| panic!("the trigger failed with {name}: {text}"));
    out["records"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("no records: {out}"))
}

/// The rule ids of a trigger's records, in order.
fn rules_of(records: &[Value]) -> Vec<&str> {
    records.iter().filter_map(|r| r["rule_id"].as_str()).collect()
}

/// Waits for the execution each record started; (rule id, its run) in the records' order.
async fn runs(stack: &Stack, records: &[Value]) -> Vec<(String, Execution)> {
    let mut out = Vec::new();
    for r in records {
        assert_eq!(delivery_kind(r), "ActedOn:Started", "{r}");
        let name = r["execution_name"].as_str().expect("an execution per mapped rule");
        out.push((r["rule_id"].as_str().unwrap().to_string(), stack.wait(name).await));
    }
    out
}

/// The end state of a run.
fn end(run: &Execution) -> &str {
    run.events
        .iter()
        .rev()
        .find_map(|e| e.state_entered_event_details())
        .map(|d| d.name())
        .unwrap_or("")
}

/// The names of every execution about `rule_id` on `resource` (by the readable prefix every
/// execution name starts with), every page.
async fn executions_about(stack: &Stack, rule_id: &str, resource: &str) -> Vec<String> {
    let prefix = execution_name_prefix(rule_id, resource);
    let mut names = Vec::new();
    let mut pages = stack
        .sfn
        .list_executions()
        .state_machine_arn(&stack.info.state_machine_arn)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        names.extend(
            page.expect("ListExecutions")
                .executions()
                .iter()
                .map(|e| e.name().to_string())
                .filter(|n| n.starts_with(&prefix)),
        );
    }
    names
}

fn rule(proto: &str, from: i32, to: i32, cidr: &str, d: &str) -> Rule {
    (proto.into(), from, to, cidr.into(), d.into())
}

fn sorted(mut v: Vec<Rule>) -> Vec<Rule> {
    v.sort();
    v
}

#[tokio::test]
async fn a_security_hub_s3_2_event_heals_a_public_bucket() {
    let stack = Stack::connect();
    let (bucket, _) = bucket_with(&stack, vec![group(ALL, "READ")]).await;
    let records = trigger(&stack, &s3_2_event(&stack, &bucket)).await;
    assert_eq!(rules_of(&records), PUBLIC_READ_RULES, "{records:?}");
    let mut healed = 0;
    for (rule, run) in runs(&stack, &records).await {
        if rule == "S3-001" {
            run.assert_healed();
            healed += 1;
        }
    }
    assert_eq!(healed, 1);
    let acl = stack.s3.get_bucket_acl().bucket(&bucket).send().await.unwrap();
    assert!(
        acl.grants()
            .iter()
            .all(|g| g.grantee().and_then(|g| g.uri()) != Some(ALL)),
        "AllUsers still granted: {:?}",
        acl.grants()
    );
}

/// EC2.13 is port 22 only: on a group open to the world on 22, 3389 and 80, the EC2.13 finding
/// closes 22 (IPv4 and IPv6) and the other world rules stay; EC2.14 is 3389 only (EC2-003 is
/// dry-run in the test config: its plan removes 3389 and nothing else, and nothing changes);
/// EC2.19 (any of a list of high-risk ports) is not healed here and starts nothing.
#[tokio::test]
async fn a_security_hub_ec2_13_event_closes_port_22_only_and_other_world_rules_stay() {
    let stack = Stack::connect();
    let sg = security_group(&stack).await;
    allow(&stack, &sg, "tcp", 22, 22, "0.0.0.0/0", "ssh").await;
    allow(&stack, &sg, "tcp", 22, 22, "::/0", "ssh v6").await;
    allow(&stack, &sg, "tcp", 22, 22, "10.0.0.0/8", "office ssh").await;
    allow(&stack, &sg, "tcp", 3389, 3389, "0.0.0.0/0", "rdp").await;
    allow(&stack, &sg, "tcp", 80, 80, "0.0.0.0/0", "web").await;
    let arn = format!(
        "arn:aws:ec2:{}:{}:security-group/{sg}",
        stack.info.region, stack.info.account_id
    );
    let rest = sorted(vec![
        rule("tcp", 22, 22, "10.0.0.0/8", "office ssh"),
        rule("tcp", 3389, 3389, "0.0.0.0/0", "rdp"),
        rule("tcp", 80, 80, "0.0.0.0/0", "web"),
    ]);

    let records = trigger(
        &stack,
        &sh_event(&stack, vec![sh_finding(&stack, "EC2.13", "AwsEc2SecurityGroup", &arn)]),
    )
    .await;
    assert_eq!(rules_of(&records), ["EC2-002"], "{records:?}");
    assert_eq!(records[0]["resource"], sg.as_str(), "the ARN's short id: {records:?}");
    let (_, run) = runs(&stack, &records).await.remove(0);
    run.assert_healed();
    let removes = &run.output["remediation"]["plan"]["removes"];
    assert_eq!(
        removes,
        &json!(["tcp 22 from 0.0.0.0/0", "tcp 22 from ::/0"]),
        "{removes}"
    );
    assert_eq!(ingress(&stack, &sg).await, rest);

    // EC2.14: 3389 only, planned (dry-run) and not applied.
    let records = trigger(
        &stack,
        &sh_event(&stack, vec![sh_finding(&stack, "EC2.14", "AwsEc2SecurityGroup", &arn)]),
    )
    .await;
    assert_eq!(rules_of(&records), ["EC2-003"], "{records:?}");
    let (_, run) = runs(&stack, &records).await.remove(0);
    assert_eq!(end(&run), "DryRunComplete", "{:?}", run.states());
    assert_eq!(
        run.output["remediation"]["plan"]["removes"],
        json!(["tcp 3389 from 0.0.0.0/0"]),
        "{}",
        run.output
    );
    assert_eq!(ingress(&stack, &sg).await, rest);

    // EC2.19: not mapped (sources.json says why); acknowledged, nothing starts.
    let records = trigger(
        &stack,
        &sh_event(&stack, vec![sh_finding(&stack, "EC2.19", "AwsEc2SecurityGroup", &arn)]),
    )
    .await;
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(delivery_kind(&records[0]), "Acknowledged:RuleNotHealed", "{records:?}");
    assert!(
        records[0]["detail"].as_str().unwrap_or_default().contains("EC2.19"),
        "{records:?}"
    );
    assert_eq!(ingress(&stack, &sg).await, rest);
}

/// A Config `Config Rules Compliance Change` to NON_COMPLIANT of s3-bucket-public-read-prohibited
/// starts one run per mapped rule: AllUsers and AuthenticatedUsers READ are removed (S3-001,
/// S3-006), the others find nothing of theirs; the owner's and a partner's grants stay.
#[tokio::test]
async fn a_config_non_compliant_public_read_event_heals_the_bucket() {
    let stack = Stack::connect();
    let (bucket, owner) = bucket_with(
        &stack,
        vec![group(ALL, "READ"), group(AUTH, "READ"), user(PARTNER, "READ")],
    )
    .await;
    let event = config_event(
        &stack,
        "s3-bucket-public-read-prohibited",
        "AWS::S3::Bucket",
        &bucket,
        "NON_COMPLIANT",
    );
    let records = trigger(&stack, &event).await;
    assert_eq!(rules_of(&records), PUBLIC_READ_RULES, "{records:?}");
    for r in &records {
        assert_eq!(r["resource"], bucket.as_str(), "{r}");
        // The runs are found by their resource's prefix (what the acknowledged test relies on).
        let rule = r["rule_id"].as_str().unwrap();
        assert_eq!(
            executions_about(&stack, rule, &bucket).await,
            [r["execution_name"].as_str().unwrap()],
            "{r}"
        );
    }
    let ends: Vec<(String, String)> = runs(&stack, &records)
        .await
        .iter()
        .map(|(rule, run)| (rule.clone(), end(run).to_string()))
        .collect();
    let want = |rule: &str| {
        if matches!(rule, "S3-001" | "S3-006") {
            "Healed"
        } else {
            "AlreadyCompliant"
        }
    };
    assert_eq!(
        ends,
        PUBLIC_READ_RULES
            .iter()
            .map(|r| (r.to_string(), want(r).to_string()))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        live_grants(&stack, &bucket).await,
        crate::s3::pairs(&[(owner.as_str(), "FULL_CONTROL"), (PARTNER, "READ")])
    );
}

/// What is not a live failure is acknowledged by its kind and starts nothing: a SUPPRESSED and
/// an ARCHIVED Security Hub finding (one event) and a Config COMPLIANT change, all about a bucket
/// that is public; no execution about the bucket exists afterwards and its ACL is untouched.
#[tokio::test]
async fn suppressed_archived_and_compliant_findings_are_acknowledged_and_start_nothing() {
    let stack = Stack::connect();
    let (bucket, _) = bucket_with(&stack, vec![group(ALL, "READ")]).await;
    let before = live_grants(&stack, &bucket).await;
    let arn = format!("arn:aws:s3:::{bucket}");
    let mut suppressed = sh_finding(&stack, "S3.2", "AwsS3Bucket", &arn);
    suppressed["Workflow"]["Status"] = json!("SUPPRESSED");
    let mut archived = sh_finding(&stack, "S3.2", "AwsS3Bucket", &arn);
    archived["RecordState"] = json!("ARCHIVED");

    let records = trigger(&stack, &sh_event(&stack, vec![suppressed, archived])).await;
    let kinds: Vec<String> = records.iter().map(delivery_kind).collect();
    assert_eq!(
        kinds,
        ["Acknowledged:Suppressed", "Acknowledged:Archived"],
        "{records:?}"
    );
    let records = trigger(
        &stack,
        &config_event(
            &stack,
            "s3-bucket-public-read-prohibited",
            "AWS::S3::Bucket",
            &bucket,
            "COMPLIANT",
        ),
    )
    .await;
    let kinds: Vec<String> = records.iter().map(delivery_kind).collect();
    assert_eq!(kinds, ["Acknowledged:Success"], "{records:?}");
    for r in &records {
        assert!(r.get("execution_name").is_none(), "{r}");
    }
    for rule in PUBLIC_READ_RULES {
        let found = executions_about(&stack, rule, &bucket).await;
        assert!(found.is_empty(), "{rule} on {bucket}: {found:?}");
    }
    assert_eq!(live_grants(&stack, &bucket).await, before);
}

/// The same public bucket flagged by the three sources at once (a Conformity S3-001 message on
/// the SNS topic, a Security Hub S3.2 event, a Config NON_COMPLIANT change from a conformance
/// pack's rule, all sent together): eleven runs, one lease (the bucket's, whichever source named
/// it), one fix. Exactly one run ends Healed with the change; every other ends AlreadyCompliant.
#[tokio::test]
async fn one_bucket_flagged_by_the_three_sources_at_once_is_fixed_once() {
    let stack = Stack::connect();
    let (bucket, owner) = bucket_with(&stack, vec![group(ALL, "READ"), user(PARTNER, "READ")]).await;
    let conformity = stack.message("S3-001", &bucket);
    let securityhub = s3_2_event(&stack, &bucket);
    let config = config_event(
        &stack,
        "s3-bucket-public-read-prohibited-conformance-pack-6cruwvtg2",
        "AWS::S3::Bucket",
        &bucket,
        "NON_COMPLIANT",
    );

    let ((from_sns, sns_record), sh_records, config_records) = tokio::join!(
        stack.publish_for_execution(&conformity),
        trigger(&stack, &securityhub),
        trigger(&stack, &config)
    );
    assert_eq!(delivery_kind(&sns_record), "ActedOn:Started", "{sns_record}");
    assert_eq!(rules_of(&sh_records), PUBLIC_READ_RULES);
    assert_eq!(rules_of(&config_records), PUBLIC_READ_RULES);
    for r in sh_records.iter().chain(&config_records).chain([&sns_record]) {
        assert_eq!(r["resource"], bucket.as_str(), "one resource whichever source: {r}");
    }
    let mut all = vec![("S3-001".to_string(), stack.wait(&from_sns).await)];
    all.extend(runs(&stack, &sh_records).await);
    all.extend(runs(&stack, &config_records).await);
    assert_eq!(all.len(), 11);

    let healed: Vec<&(String, Execution)> = all.iter().filter(|(_, run)| end(run) == "Healed").collect();
    assert_eq!(
        healed.len(),
        1,
        "{:?}",
        all.iter().map(|(r, run)| (r, run.states())).collect::<Vec<_>>()
    );
    let (rule, run) = healed[0];
    assert_eq!(rule, "S3-001");
    assert_eq!(
        run.output["remediation"]["plan"]["removes"],
        json!(["READ to AllUsers"]),
        "{}",
        run.output
    );
    for (rule, run) in &all {
        if end(run) != "Healed" {
            assert_eq!(end(run), "AlreadyCompliant", "{rule}: {:?}", run.states());
        }
    }
    // Every S3-001 run went through the one lease: none but the healer changed anything.
    let changed = all
        .iter()
        .filter(|(_, run)| run.output["remediation"]["outcome"] == "remediated")
        .count();
    assert_eq!(changed, 1);
    assert_eq!(
        live_grants(&stack, &bucket).await,
        crate::s3::pairs(&[(owner.as_str(), "FULL_CONTROL"), (PARTNER, "READ")])
    );
}

/// A queue Conformity names by its URL and Security Hub by its ARN, both flagged at once, is one
/// resource with one lease (`ar_core::ledger::lease_id`): one run encrypts it, the other finds it
/// encrypted. The queue is re-read.
#[tokio::test]
async fn a_queue_named_by_url_and_by_arn_at_once_is_encrypted_by_one_run() {
    use aws_sdk_sqs::types::QueueAttributeName;
    let stack = Stack::connect();
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk);
    let name = unique("it-queue");
    let local_url = crate::logs_streams_queues::unencrypted_queue(&sqs, &name, |q| q).await;
    let (account, region) = (&stack.info.account_id, &stack.info.region);
    // Conformity names the queue by its AWS URL (moto's own URLs are local addresses).
    let conformity = stack.message(
        "SQS-004",
        &format!("https://sqs.{region}.amazonaws.com/{account}/{name}"),
    );
    let securityhub = sh_event(
        &stack,
        vec![sh_finding(
            &stack,
            "SQS.1",
            "AwsSqsQueue",
            &format!("arn:aws:sqs:{region}:{account}:{name}"),
        )],
    );

    let ((from_sns, _), sh_records) =
        tokio::join!(stack.publish_for_execution(&conformity), trigger(&stack, &securityhub));
    assert_eq!(rules_of(&sh_records), ["SQS-004"]);
    let mut all = vec![stack.wait(&from_sns).await];
    all.extend(runs(&stack, &sh_records).await.into_iter().map(|(_, run)| run));
    let mut ends: Vec<&str> = all.iter().map(end).collect();
    ends.sort();
    assert_eq!(
        ends,
        ["AlreadyCompliant", "Healed"],
        "{:?}",
        all.iter().map(Execution::states).collect::<Vec<_>>()
    );
    let sse = sqs
        .get_queue_attributes()
        .queue_url(&local_url)
        .attribute_names(QueueAttributeName::SqsManagedSseEnabled)
        .send()
        .await
        .unwrap();
    assert_eq!(
        sse.attributes()
            .and_then(|a| a.get(&QueueAttributeName::SqsManagedSseEnabled))
            .map(String::as_str),
        Some("true")
    );
}

/// A managed rule named the organization's own way heals once the config maps its name
/// (tests/config.json `sources.config_rules`: `it-org-s3-no-public-read` is
/// S3_BUCKET_PUBLIC_READ_PROHIBITED): its NON_COMPLIANT change starts the same five runs as the
/// documented name's and the public grants go. A name the config does not map is acknowledged
/// RuleNotHealed, its detail naming the key to set, and starts nothing.
#[tokio::test]
async fn a_config_rule_named_in_the_config_s_sources_config_rules_heals_and_an_unnamed_one_says_what_to_set() {
    let stack = Stack::connect();
    let (bucket, owner) = bucket_with(&stack, vec![group(ALL, "READ"), user(PARTNER, "READ")]).await;

    let unnamed = config_event(
        &stack,
        "it-org-s3-unmapped",
        "AWS::S3::Bucket",
        &bucket,
        "NON_COMPLIANT",
    );
    let records = trigger(&stack, &unnamed).await;
    let kinds: Vec<String> = records.iter().map(delivery_kind).collect();
    assert_eq!(kinds, ["Acknowledged:RuleNotHealed"], "{records:?}");
    let detail = records[0]["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("it-org-s3-unmapped") && detail.contains("sources.config_rules"),
        "{detail}"
    );
    for rule in PUBLIC_READ_RULES {
        let found = executions_about(&stack, rule, &bucket).await;
        assert!(found.is_empty(), "{rule} on {bucket}: {found:?}");
    }

    let named = config_event(
        &stack,
        "it-org-s3-no-public-read",
        "AWS::S3::Bucket",
        &bucket,
        "NON_COMPLIANT",
    );
    let records = trigger(&stack, &named).await;
    assert_eq!(rules_of(&records), PUBLIC_READ_RULES, "{records:?}");
    let ends: Vec<(String, String)> = runs(&stack, &records)
        .await
        .iter()
        .map(|(rule, run)| (rule.clone(), end(run).to_string()))
        .collect();
    let want = |rule: &str| if rule == "S3-001" { "Healed" } else { "AlreadyCompliant" };
    assert_eq!(
        ends,
        PUBLIC_READ_RULES
            .iter()
            .map(|r| (r.to_string(), want(r).to_string()))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        live_grants(&stack, &bucket).await,
        crate::s3::pairs(&[(owner.as_str(), "FULL_CONTROL"), (PARTNER, "READ")])
    );
}
