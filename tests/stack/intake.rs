use ar_tests::{delivery_kind, Stack};
use serde_json::{json, Value};

fn sns_event(message: &str) -> Value {
    json!({"Records": [{"EventSource": "aws:sns", "Sns": {"Type": "Notification", "MessageId": "m-1", "Message": message}}]})
}

/// A bucket readable by everyone (its owner's FULL_CONTROL and AllUsers READ).
async fn public_bucket(stack: &Stack) -> String {
    crate::s3::bucket_with(stack, vec![crate::s3::group(crate::s3::ALL, "READ")])
        .await
        .0
}

/// Malformed or hostile messages, each with how it must end: rejected with the named error, or
/// (for what is well formed but not ours) acknowledged with its reason.
fn hostile(stack: &Stack, bucket: &str) -> Vec<(String, &'static str)> {
    let valid = stack.message("S3-001", bucket);
    let with = |edit: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        let mut m = valid.clone();
        edit(m.as_object_mut().unwrap());
        m.to_string()
    };
    let sg = stack.message("EC2-002", "sg-0123456789abcdef0");
    let with_sg = |edit: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        let mut m = sg.clone();
        edit(m.as_object_mut().unwrap());
        m.to_string()
    };
    vec![
        ("not json".to_string(), "Rejected:MessageNotJson"),
        (String::new(), "Rejected:MessageNotJson"),
        ("[1, 2, 3]".into(), "Rejected:MessageNotJson"),
        ("42".into(), "Rejected:MessageNotJson"),
        ("null".into(), "Rejected:MessageNotJson"),
        ("{}".into(), "Acknowledged:NotACheck"),
        (
            with(&|m| {
                m.remove("ruleId");
            }),
            "Acknowledged:NotACheck",
        ),
        (
            with(&|m| {
                m.remove("resource");
            }),
            "Rejected:MissingField",
        ),
        (
            with(&|m| {
                m.remove("status");
            }),
            "Rejected:MissingField",
        ),
        (
            with_sg(&|m| {
                m.remove("region");
                m.remove("ccrn");
            }),
            "Rejected:MissingField",
        ),
        (
            with(&|m| {
                m.insert("ruleId".into(), json!(1));
            }),
            "Rejected:InvalidField",
        ),
        (
            with(&|m| {
                m.insert("status".into(), json!("BROKEN"));
            }),
            "Rejected:InvalidField",
        ),
        (
            with(&|m| {
                m.insert("statuses".into(), json!(["FAILURE", "SUCCESS"]));
                m.remove("status");
            }),
            "Rejected:InvalidField",
        ),
        (
            with(&|m| {
                m.insert("resource".into(), json!({"$ne": ""}));
            }),
            "Rejected:InvalidField",
        ),
        (
            with(&|m| {
                m.insert("tags".into(), json!(7));
            }),
            "Rejected:InvalidField",
        ),
        (
            with(&|m| {
                m.insert("extradata".into(), json!("x"));
            }),
            "Rejected:InvalidField",
        ),
        (
            with(&|m| {
                m.insert("createdDate".into(), json!("yesterday"));
            }),
            "Rejected:InvalidField",
        ),
        (
            with(&|m| {
                m.insert("ccrn".into(), json!("arn:aws:s3:::bucket"));
            }),
            "Rejected:InvalidField",
        ),
        (
            with(&|m| {
                m.insert("ccrn".into(), json!(format!("ccrn:aws:a/b:S3:global:{bucket}")));
            }),
            "Rejected:InvalidField",
        ),
        (
            with(&|m| {
                m.insert(
                    "ccrn".into(),
                    json!("ccrn:aws:HJzFMHchx:S3:global:someone-elses-bucket"),
                );
            }),
            "Rejected:InvalidField",
        ),
        (
            with(&|m| {
                m.insert("region".into(), json!("mars-north-1x"));
            }),
            "Rejected:InvalidField",
        ),
        (
            with(&|m| {
                m.insert("service".into(), json!("EC2"));
            }),
            "Rejected:InvalidField",
        ),
        (
            with(&|m| {
                m.insert("resource".into(), json!(format!("{bucket}\u{0000}")));
            }),
            "Rejected:InvalidField",
        ),
        (
            with(&|m| {
                m.insert("ruleId".into(), json!("../../S3-001"));
            }),
            "Rejected:InvalidField",
        ),
        (
            with(&|m| {
                m.insert("cloudProviderId".into(), json!("12345"));
            }),
            "Rejected:InvalidField",
        ),
        // Sources that disagree: the account, or the region.
        (
            with(&|m| {
                m.insert(
                    "link".into(),
                    json!("https://console.aws.amazon.com/sns/v2/home#/topics/arn:aws:sns:us-east-1:210987654321:t"),
                );
            }),
            "Rejected:AccountMismatch",
        ),
        (
            with_sg(&|m| {
                m.insert("region".into(), json!("eu-west-3"));
            }),
            "Rejected:RegionMismatch",
        ),
        (
            with(&|m| {
                m.insert("resource".into(), json!("../../etc/passwd"));
                m.insert("ccrn".into(), json!("ccrn:aws:HJzFMHchx:S3:global:../../etc/passwd"));
            }),
            "Rejected:InvalidResourceId",
        ),
        (
            with(&|m| {
                m.insert("resource".into(), json!("Bucket_With_Caps"));
                m.insert("ccrn".into(), json!("ccrn:aws:HJzFMHchx:S3:global:Bucket_With_Caps"));
            }),
            "Rejected:InvalidResourceId",
        ),
        (
            with_sg(&|m| {
                m.insert("resource".into(), json!("sg-12345678; rm -rf /"));
                m.insert(
                    "ccrn".into(),
                    json!("ccrn:aws:HJzFMHchx:EC2:us-east-1:sg-12345678; rm -rf /"),
                );
            }),
            "Rejected:InvalidResourceId",
        ),
        (
            with(&|m| {
                m.insert("padding".into(), json!("x".repeat(40 * 1024)));
            }),
            "Rejected:MessageTooLarge",
        ),
        // Well formed, but not ours to act on.
        (
            with(&|m| {
                m.insert("ruleId".into(), json!("S3-999"));
            }),
            "Acknowledged:RuleNotHealed",
        ),
        (
            with(&|m| {
                m.remove("cloudProviderId");
            }),
            "Acknowledged:AccountUnresolved",
        ),
        (
            with(&|m| {
                m.insert("cloudProviderId".into(), json!("999988887777"));
            }),
            "Acknowledged:AccountNotAllowed",
        ),
    ]
}

#[tokio::test]
async fn hostile_messages_each_end_named_without_failing_the_invocation_and_change_nothing() {
    let stack = Stack::connect();
    let bucket = public_bucket(&stack).await;
    let acl_before = stack.s3.get_bucket_acl().bucket(&bucket).send().await.unwrap();
    let cases = hostile(&stack, &bucket);
    assert!(cases.len() >= 30);

    for (message, expected) in &cases {
        // Invoked as SNS invokes it on AWS: the invocation succeeds (no retry, no dead letter).
        let out = stack
            .invoke("auto-remediate-trigger", &sns_event(message))
            .await
            .unwrap_or_else(|(name, text)| panic!("the invocation failed with {name} ({text}) for {message:.120}"));
        let record = &out["records"][0];
        assert_eq!(&delivery_kind(record), expected, "message {message:.160} gave {record}");
        assert!(!record["detail"].as_str().unwrap_or_default().is_empty(), "{record}");
        // Through SNS too: Publish is accepted (as on AWS) and the delivery is recorded as such.
        let id = stack.publish_id(message).await;
        let d = stack.delivery(&id).await;
        assert_eq!(delivery_kind(&d), *expected, "{d}");
    }

    let acl_after = stack.s3.get_bucket_acl().bucket(&bucket).send().await.unwrap();
    assert_eq!(acl_before.grants(), acl_after.grants(), "nothing was changed");
    let executions = stack
        .sfn
        .list_executions()
        .state_machine_arn(&stack.info.state_machine_arn)
        .max_results(1000)
        .send()
        .await
        .unwrap();
    assert!(
        executions.executions().iter().all(|e| !e.name().contains(&bucket)),
        "no execution was started for a refused message"
    );
    // The stack keeps serving: a valid message for the same bucket still heals it.
    let run = stack.publish_and_wait(&stack.message("S3-001", &bucket)).await;
    assert_eq!(run.status, "SUCCEEDED");
}

#[tokio::test]
async fn events_that_are_not_sns_are_rejected_as_invalid_envelopes() {
    let stack = Stack::connect();
    for event in [
        json!({}),
        json!({"Records": []}),
        json!({"Records": [{"Sns": {}}]}),
        json!("text"),
    ] {
        let out = stack.invoke("auto-remediate-trigger", &event).await.unwrap();
        assert_eq!(delivery_kind(&out["records"][0]), "Rejected:InvalidEnvelope", "{event}");
    }
}

#[tokio::test]
async fn the_same_message_delivered_three_times_starts_one_execution() {
    let stack = Stack::connect();
    let bucket = public_bucket(&stack).await;
    let message = stack.message("S3-001", &bucket);
    for _ in 0..3 {
        stack.publish(&message.to_string()).await;
    }
    let run = stack.wait(&stack.execution_name(&message)).await;
    assert_eq!(run.status, "SUCCEEDED");
    let executions = stack
        .sfn
        .list_executions()
        .state_machine_arn(&stack.info.state_machine_arn)
        .max_results(1000)
        .send()
        .await
        .unwrap();
    let mine = executions
        .executions()
        .iter()
        .filter(|e| e.name().contains(&bucket))
        .count();
    assert_eq!(mine, 1);
}

#[tokio::test]
async fn a_success_message_changes_nothing_and_starts_nothing() {
    let stack = Stack::connect();
    let bucket = public_bucket(&stack).await;
    let mut message = stack.message("S3-001", &bucket);
    message["status"] = json!("SUCCESS");

    let out = stack
        .invoke("auto-remediate-trigger", &sns_event(&message.to_string()))
        .await
        .unwrap();
    assert_eq!(delivery_kind(&out["records"][0]), "Acknowledged:Success");
    stack.publish(&message.to_string()).await;

    let acl = stack.s3.get_bucket_acl().bucket(&bucket).send().await.unwrap();
    assert_eq!(acl.grants().len(), 2, "AllUsers READ is still there");
    message["status"] = json!("FAILURE");
    assert!(!stack.execution_exists(&stack.execution_name(&message)).await);
}

#[tokio::test]
async fn handlers_refuse_a_state_input_that_does_not_parse() {
    let stack = Stack::connect();
    for function in [
        "auto-remediate-classify",
        "auto-remediate-remediate",
        "auto-remediate-verify",
    ] {
        let (name, _) = stack
            .invoke(function, &json!({"finding": {"rule_id": 5}}))
            .await
            .unwrap_err();
        assert_eq!(name, "InvalidInput", "{function}");
    }
}

/// The trigger as SNS invokes it on AWS: a committed Lambda SNS event (tests/fixtures/sns) with
/// signature fields, attributes and a Conformity message (tests/fixtures/conformity/EC2-002.json).
#[tokio::test]
async fn a_real_sns_lambda_event_is_read_as_its_conformity_finding() {
    let stack = Stack::connect();
    let path = format!("{}/fixtures/sns/conformity-ec2-002.json", env!("CARGO_MANIFEST_DIR"));
    let event: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let out = stack.invoke("auto-remediate-trigger", &event).await.unwrap();
    let record = &out["records"][0];
    // The group does not exist on the stack: the run starts (or, on a rerun, was handled).
    assert_eq!(record["delivery"], "ActedOn", "{out}");
    assert!(
        ["started", "already-handled", "already-started"].contains(&record["result"].as_str().unwrap()),
        "{out}"
    );
    assert!(record["execution_name"].as_str().unwrap().contains("EC2-002"), "{out}");
}
