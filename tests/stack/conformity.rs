//! Conformity's real messages on the local stack: the verbatim samples
//! (tests/fixtures/conformity-samples/, README there says where each is from) published to the
//! topic, the 2021 and 2018 shapes healing a bucket, and a burst mixing every kind of delivery.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use ar_tests::{delivery_kind, now_ms, Stack};
use futures::future::join_all;
use serde_json::{json, Value};

use crate::s3::{bucket_with, group, ALL};

fn sample(name: &str) -> String {
    let path = format!("{}/fixtures/conformity-samples/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Whether AllUsers still holds `permission` on the bucket, re-read.
async fn public(stack: &Stack, bucket: &str, permission: &str) -> bool {
    let acl = stack.s3.get_bucket_acl().bucket(bucket).send().await.unwrap();
    acl.grants().iter().any(|g| {
        g.grantee().and_then(|e| e.uri()) == Some(ALL) && g.permission().map(|p| p.as_str()) == Some(permission)
    })
}

#[tokio::test]
async fn each_verbatim_sample_published_to_the_topic_ends_as_its_kind_without_a_failed_invocation() {
    let stack = Stack::connect();
    let expected = [
        ("channel-test-message.txt", "Acknowledged:ChannelTest"),
        ("seed-branch-R-Lambda-004-FailEvent.json", "Acknowledged:RuleNotHealed"),
        ("seed-branch-R-Lambda-004-SuccessEvent.json", "Acknowledged:Success"),
        ("seed-branch-R-Lambda-005-FailEvent.json", "Acknowledged:RuleNotHealed"),
        ("seed-branch-R-Lambda-005-SuccessEvent.json", "Acknowledged:Success"),
        ("seed-branch-R-SNS-001-FailEvent.json", "Acknowledged:RuleNotHealed"),
        ("seed-branch-R-SNS-004-FailEvent.json", "Acknowledged:RuleNotHealed"),
        ("api-docs-check-details-IAM-017.json", "Acknowledged:NotACheck"),
        (
            "api-docs-check-suppress-response-Config-001.json",
            "Acknowledged:NotACheck",
        ),
        ("seed-runners-partial-events.json", "Acknowledged:NotACheck"),
    ];
    for (name, want) in expected {
        let id = stack.publish_id(&sample(name)).await;
        let d = stack.delivery(&id).await;
        assert_eq!(delivery_kind(&d), want, "{name}: {d}");
        assert!(d.get("error").is_none(), "{name}: {d}");
    }
    // The 2018 test event names a bucket this stack does not have: acted on (its account comes
    // from the config's mapping of HJzFMHchx), and the run finds nothing to heal.
    let text = sample("seed-test-S3-002-event-2018-original.json");
    let id = stack.publish_id(&text).await;
    let d = stack.delivery(&id).await;
    assert_eq!(d["delivery"], "ActedOn", "{d}");
    let run = stack
        .wait(d["result"]["records"][0]["execution_name"].as_str().unwrap())
        .await;
    assert_eq!(
        run.states().last().map(String::as_str),
        Some("ResourceGone"),
        "{:?}",
        run.states()
    );
}

/// 2021 and later: a UUID Conformity account, the AWS account in `cloudProviderId`, `region`
/// global and the bucket's region in the `ccrn`.
#[tokio::test]
async fn a_2021_shape_s3_failure_heals_the_bucket() {
    let stack = Stack::connect();
    let (bucket, _) = bucket_with(&stack, vec![group(ALL, "READ")]).await;
    let cc = "6f0a3b52-8d1e-4c77-9a3e-2b1f0c9d8e7a";
    let region = &stack.info.region;
    let message = json!({
        "id": format!("ccc:{cc}:S3-001:S3:{region}:{bucket}"),
        "organisationId": "9bZA_h76p",
        "accountId": cc,
        "cloudProviderId": stack.info.account_id,
        "ruleId": "S3-001",
        "ruleTitle": "S3 Bucket Public 'READ' Access",
        "service": "S3",
        "region": "global",
        "riskLevel": "VERY_HIGH",
        "categories": ["security"],
        "compliances": ["AWAF", "GDPR"],
        "message": format!("Bucket {bucket} allows public 'READ' access."),
        "resource": bucket,
        "descriptorType": "s3-bucket",
        "status": "FAILURE",
        "notScored": false,
        "failureDiscoveryDate": now_ms(),
        "ccrn": format!("ccrn:aws:{cc}:S3:{region}:{bucket}"),
        "tags": ["LastUpdatedTime::Sat  9 Feb 2019 19:11:06 AEDT", "team::web"],
        "extradata": [{"name": "Grants", "label": "Grants", "type": "META", "value": [{"p": "READ"}]}],
        "cost": null,
        "waste": null,
        "lastModifiedDate": now_ms(),
        "resolutionPageURL": "https://www.cloudconformity.com/knowledge-base/aws/S3/s3-bucket-public-read-access.html"
    });
    assert!(public(&stack, &bucket, "READ").await);
    let run = stack.publish_and_wait(&message).await;
    run.assert_healed();
    assert!(!public(&stack, &bucket, "READ").await, "re-read: AllUsers READ is gone");
}

/// 2018: a short Conformity account id, `region` a real region while the `ccrn` says global, no
/// `cloudProviderId` and no link: the account comes from the config (`HJzFMHchx` is mapped to
/// the stack's account in tests/config.json). The verbatim sample, with this test's bucket.
#[tokio::test]
async fn a_2018_shape_failure_heals_with_the_account_from_the_config_mapping() {
    let stack = Stack::connect();
    let (bucket, _) = bucket_with(&stack, vec![group(ALL, "READ_ACP")]).await;
    let text = sample("seed-test-S3-002-event-2018-original.json").replace("test.datablaize.io", &bucket);
    let message: Value = serde_json::from_str(&text).unwrap();
    let finding = stack.finding(&message).expect("acted on");
    assert_eq!(finding.account_id, stack.info.account_id);
    assert_eq!(
        finding.reported_region, "ap-southeast-2",
        "as sent; the bucket's own region decides"
    );

    let run = stack.publish_and_wait(&message).await;
    run.assert_healed();
    assert!(
        !public(&stack, &bucket, "READ_ACP").await,
        "re-read: AllUsers READ_ACP is gone"
    );

    // Without the mapping's Conformity id, nothing is read or changed.
    let (other, _) = bucket_with(&stack, vec![group(ALL, "READ_ACP")]).await;
    let text = sample("seed-test-S3-002-event-2018-original.json")
        .replace("test.datablaize.io", &other)
        .replace("HJzFMHchx", "Zz9unmapped");
    let d = stack.delivery(&stack.publish_id(&text).await).await;
    assert_eq!(delivery_kind(&d), "Acknowledged:AccountUnresolved", "{d}");
    assert!(public(&stack, &other, "READ_ACP").await);
}

/// The stack's `AutoRemediate/Deliveries` sum for one kind and reason.
async fn deliveries_metric(stack: &Stack, delivery: &str, reason: &str) -> f64 {
    stack
        .metric_sum("Deliveries", json!({"Delivery": delivery, "Reason": reason}))
        .await
}

/// 500 messages at once: 100 failures to heal, 300 failures of rules not healed here, 50
/// SUCCESS, 25 channel test strings and 25 malformed. Exactly 100 executions, no failed
/// invocation, every other delivery counted by kind and reason in `/_local/deliveries` and in
/// the metric.
#[tokio::test]
async fn a_burst_mixing_every_kind_of_delivery_starts_exactly_the_healable_ones() {
    let stack = Stack::connect_named("burst");
    let mut messages: Vec<(String, &str)> = Vec::new();
    let mut buckets = Vec::new();
    for _ in 0..100 {
        let (bucket, _) = bucket_with(&stack, vec![group(ALL, "WRITE")]).await;
        messages.push((stack.message("S3-003", &bucket).to_string(), "ActedOn:Started"));
        buckets.push(bucket);
    }
    let unknown = [
        "Lambda-004",
        "SNS-001",
        "RTM-008",
        "EC2-099",
        "IAM-017",
        "CloudTrail-007",
    ];
    for i in 0..300 {
        let mut m = stack.message("S3-001", &format!("not-ours-{i}"));
        m["ruleId"] = json!(unknown[i % unknown.len()]);
        messages.push((m.to_string(), "Acknowledged:RuleNotHealed"));
    }
    for bucket in &buckets[..50] {
        let mut m = stack.message("S3-003", bucket);
        m["status"] = json!("SUCCESS");
        messages.push((m.to_string(), "Acknowledged:Success"));
    }
    for i in 0..25 {
        let text = if i % 2 == 0 {
            "Test Message from Cloud Conformity"
        } else {
            "Test message from Cloud Conformity"
        };
        messages.push((text.to_string(), "Acknowledged:ChannelTest"));
    }
    for (i, bucket) in buckets[..25].iter().enumerate() {
        let mut m = stack.message("S3-003", bucket);
        let (text, want) = match i % 5 {
            0 => (format!("{{not json {i}"), "Rejected:MessageNotJson"),
            1 => {
                m["tags"] = json!(i);
                (m.to_string(), "Rejected:InvalidField")
            }
            2 => {
                m["resource"] = json!("../../etc/passwd");
                m.as_object_mut().unwrap().remove("ccrn");
                (m.to_string(), "Rejected:InvalidResourceId")
            }
            3 => {
                m["link"] = json!("https://console.aws.amazon.com/#arn:aws:s3:us-east-1:210987654321:x");
                (m.to_string(), "Rejected:AccountMismatch")
            }
            _ => {
                m["padding"] = json!("x".repeat(40 * 1024));
                (m.to_string(), "Rejected:MessageTooLarge")
            }
        };
        messages.push((text, want));
    }
    assert_eq!(messages.len(), 500);
    // Interleaved, as a scan's traffic is (263 is prime to 500: a permutation).
    let messages: Vec<(String, &str)> = (0..500).map(|i| messages[(i * 263) % 500].clone()).collect();
    let mut expected: BTreeMap<String, usize> = BTreeMap::new();
    for (_, want) in &messages {
        *expected.entry(want.to_string()).or_default() += 1;
    }
    let reasons: Vec<(String, String)> = expected
        .keys()
        .filter(|k| !k.starts_with("ActedOn"))
        .map(|k| {
            let (d, r) = k.split_once(':').unwrap();
            (d.to_string(), r.to_string())
        })
        .collect();
    let mut before = Vec::new();
    for (d, r) in &reasons {
        before.push(deliveries_metric(&stack, d, r).await);
    }

    let mut ids: Vec<String> = Vec::new();
    for chunk in messages.chunks(25) {
        ids.extend(join_all(chunk.iter().map(|(text, _)| stack.publish_id(text))).await);
    }

    let mut got: BTreeMap<String, usize> = BTreeMap::new();
    let mut started = Vec::new();
    for (id, (_, want)) in ids.iter().zip(&messages) {
        let d = stack.delivery(id).await;
        assert!(d.get("error").is_none(), "a failed invocation: {d}");
        assert_eq!(delivery_kind(&d), *want, "{d}");
        *got.entry(delivery_kind(&d)).or_default() += 1;
        if d["delivery"] == "ActedOn" {
            started.push(
                d["result"]["records"][0]["execution_name"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
    }
    assert_eq!(got, expected);
    started.sort();
    started.dedup();
    assert_eq!(started.len(), 100, "exactly one execution per healable finding");
    for name in &started {
        let run = stack.wait(name).await;
        assert_eq!(
            run.states().last().map(String::as_str),
            Some("Healed"),
            "{name}: {:?}",
            run.task_errors()
        );
    }
    for bucket in &buckets {
        assert!(
            !public(&stack, bucket, "WRITE").await,
            "{bucket} re-read: AllUsers WRITE is gone"
        );
    }
    // The metric: each acknowledged and rejected reason counted exactly (no other test on the
    // burst stack publishes these), once the gateway's CloudWatch has them.
    let deadline = Instant::now() + Duration::from_secs(30);
    for ((d, r), was) in reasons.iter().zip(before) {
        let want = expected[&format!("{d}:{r}")] as f64;
        loop {
            let now = deliveries_metric(&stack, d, r).await - was;
            if now >= want || Instant::now() > deadline {
                assert_eq!(now, want, "AutoRemediate/Deliveries {d} {r}");
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    eprintln!("burst of 500: {got:?}");
}

/// The trigger's SNS filter policy (`lambdas/core/catalog/sns-filter-policy.json`, what Terraform
/// puts on the subscription with `FilterPolicyScope` MessageBody) applied by moto's own SNS
/// filtering, on an SQS subscription of the stack's topic: the real samples and a fixture pass or
/// not exactly as intended (the stack's trigger subscription carries no filter, so that every
/// delivery is seen at `/_local/deliveries`).
#[tokio::test]
async fn the_generated_filter_policy_lets_through_only_failures_of_rules_healed_here() {
    let stack = Stack::connect();
    let sqs = aws_sdk_sqs::Client::new(&stack.sdk);
    let queue = sqs
        .create_queue()
        .queue_name(ar_tests::unique("it-filter"))
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&queue)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    let policy = std::fs::read_to_string(format!(
        "{}/../lambdas/core/catalog/sns-filter-policy.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let sub = stack
        .sns
        .subscribe()
        .topic_arn(&stack.info.topic_arn)
        .protocol("sqs")
        .endpoint(&arn)
        .attributes("FilterPolicy", &policy)
        .attributes("FilterPolicyScope", "MessageBody")
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .unwrap()
        .subscription_arn()
        .unwrap()
        .to_string();

    // Each made unique, so this test tells its own messages from other tests' on the topic.
    let tag = ar_tests::unique("filter");
    let mark = |text: String| match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(mut m)) => {
            m.insert("eventId".into(), json!(tag));
            Value::Object(m).to_string()
        }
        _ => format!("{text} {tag}"),
    };
    let mut cases: Vec<(String, bool)> = [
        ("channel-test-message.txt", false),
        ("seed-branch-R-Lambda-004-FailEvent.json", false),
        ("seed-branch-R-Lambda-004-SuccessEvent.json", false),
        ("seed-branch-R-SNS-001-FailEvent.json", false),
        ("api-docs-check-details-IAM-017.json", false),
        ("seed-test-S3-002-event-2018-original.json", true),
    ]
    .into_iter()
    .map(|(name, pass)| (mark(sample(name)), pass))
    .collect();
    let mut success = stack.message("EC2-002", "sg-0123456789abcdef0");
    success["status"] = json!("SUCCESS");
    cases.push((mark(success.to_string()), false));
    // A failure of a rule healed here, on a group that does not exist (the run ends ResourceGone).
    let missing_group = format!("sg-0{:016x}", ar_tests::now_ms());
    cases.push((mark(stack.message("EC2-002", &missing_group).to_string()), true));
    for (text, _) in &cases {
        stack.publish(text).await;
    }

    let mut arrived: Vec<String> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let out = sqs
            .receive_message()
            .queue_url(&queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        arrived.extend(
            out.messages()
                .iter()
                .filter_map(|m| m.body())
                .filter(|b| b.contains(&tag))
                .map(str::to_string),
        );
        if arrived.len() >= cases.iter().filter(|(_, pass)| *pass).count() && out.messages().is_empty() {
            break;
        }
    }
    stack.sns.unsubscribe().subscription_arn(&sub).send().await.unwrap();
    sqs.delete_queue().queue_url(&queue).send().await.unwrap();
    for (text, pass) in &cases {
        assert_eq!(arrived.contains(text), *pass, "{text:.120}");
    }
    assert_eq!(arrived.len(), 2, "{arrived:?}");
}
