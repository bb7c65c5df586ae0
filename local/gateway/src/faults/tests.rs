//! Unit tests of [`super`], kept beside it in their own file.

use super::*;
use http::{HeaderMap, HeaderValue, Method, Uri};

fn auth(service: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        http::header::AUTHORIZATION,
        HeaderValue::from_str(&format!(
            "AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/{service}/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc"
        ))
        .unwrap(),
    );
    h
}

fn form(service: &str) -> HeaderMap {
    let mut h = auth(service);
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8"),
    );
    h
}

fn call(method: Method, uri: &str, headers: HeaderMap, body: &str) -> Call {
    Call::parse(&method, &uri.parse::<Uri>().unwrap(), &headers, body.as_bytes()).expect("an AWS call")
}

fn rules(v: Value) -> Faults {
    let f = Faults::default();
    f.replace(None, serde_json::from_value(v).unwrap()).unwrap();
    f
}

#[test]
fn ec2_calls_are_named_by_their_action_in_the_form_body() {
    let c = call(
        Method::POST,
        "/",
        form("ec2"),
        "Action=RevokeSecurityGroupIngress&Version=2016-11-15&GroupId=sg-0abc&SecurityGroupRuleId.1=sgr-1",
    );
    assert_eq!(
        (c.service.as_str(), c.operation.as_deref(), c.protocol, c.write),
        ("ec2", Some("RevokeSecurityGroupIngress"), Protocol::Ec2Query, true)
    );
    let read = call(
        Method::POST,
        "/",
        form("ec2"),
        "Action=DescribeSecurityGroups&GroupId.1=sg-0abc",
    );
    assert!(!read.write);
}

#[test]
fn sns_in_the_query_string_is_the_query_protocol() {
    let c = call(
        Method::POST,
        "/?Action=Publish&TopicArn=arn%3Aaws%3Asns",
        auth("sns"),
        "",
    );
    assert_eq!(c.operation.as_deref(), Some("Publish"));
    assert_eq!(c.protocol, Protocol::AwsQuery);
    assert!(c.write);
}

#[test]
fn json_protocols_are_named_by_the_target_suffix() {
    let mut h = auth("dynamodb");
    h.insert("x-amz-target", HeaderValue::from_static("DynamoDB_20120810.PutItem"));
    let c = call(Method::POST, "/", h, r#"{"TableName":"t"}"#);
    assert_eq!(
        (c.operation.as_deref(), c.protocol, c.write),
        (Some("PutItem"), Protocol::AwsJson, true)
    );
    let mut h = auth("states");
    h.insert(
        "x-amz-target",
        HeaderValue::from_static("AWSStepFunctions.DescribeExecution"),
    );
    let c = call(Method::POST, "/", h, "{}");
    assert_eq!((c.operation.as_deref(), c.write), (Some("DescribeExecution"), false));
}

#[test]
fn s3_operations_come_from_method_and_sub_resource() {
    let op = |m: Method, uri: &str| call(m, uri, auth("s3"), "").operation.unwrap();
    assert_eq!(op(Method::PUT, "/b?acl"), "PutBucketAcl");
    assert_eq!(op(Method::GET, "/b?acl"), "GetBucketAcl");
    assert_eq!(op(Method::GET, "/b?acl="), "GetBucketAcl");
    assert_eq!(op(Method::GET, "/b?tagging"), "GetBucketTagging");
    assert_eq!(op(Method::DELETE, "/b?publicAccessBlock"), "DeletePublicAccessBlock");
    assert_eq!(op(Method::PUT, "/b"), "CreateBucket");
    assert_eq!(op(Method::GET, "/b?list-type=2&prefix=x"), "ListObjectsV2");
    assert_eq!(op(Method::GET, "/"), "ListBuckets");
    assert_eq!(op(Method::PUT, "/b/some/key"), "PutObject");
    assert_eq!(op(Method::GET, "/b/k?acl"), "GetObjectAcl");
    assert_eq!(op(Method::GET, "/b/k?x-id=GetObject"), "GetObject");
    assert!(call(Method::PUT, "/b?acl", auth("s3"), "").write);
    assert!(!call(Method::GET, "/b?acl", auth("s3"), "").write);
}

#[test]
fn requests_without_sigv4_are_not_aws_calls() {
    assert!(Call::parse(
        &Method::GET,
        &"/moto-api/data.json".parse().unwrap(),
        &HeaderMap::new(),
        b""
    )
    .is_none());
    let presigned = Call::parse(
        &Method::GET,
        &"/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=test%2F20250101%2Fus-east-1%2Fs3%2Faws4_request"
            .parse()
            .unwrap(),
        &HeaderMap::new(),
        b"",
    )
    .unwrap();
    assert_eq!(presigned.service, "s3");
}

#[test]
fn resources_match_as_whole_tokens_in_path_query_or_body() {
    let c = call(Method::GET, "/it-b-1?acl", auth("s3"), "");
    assert!(c.concerns("it-b-1"));
    assert!(!call(Method::GET, "/it-b-12?acl", auth("s3"), "").concerns("it-b-1"));
    let body = call(Method::POST, "/", form("ec2"), "Action=X&Filter.1.Value.1=sg-0abc&Y=1");
    assert!(body.concerns("sg-0abc"));
    assert!(!body.concerns("sg-0ab"));
    let encoded = call(
        Method::POST,
        "/",
        form("sns"),
        "Action=Publish&Message=%7B%22r%22%3A%22it-x%22%7D",
    );
    assert!(encoded.concerns("it-x"));
}

#[test]
fn a_rule_matches_on_service_operation_and_resource() {
    let f = rules(json!([
        {"id": "a", "service": "ec2", "operation": "DescribeSecurityGroups", "resource": "sg-1", "effect": "throttle"}
    ]));
    let hit = call(
        Method::POST,
        "/",
        form("ec2"),
        "Action=DescribeSecurityGroups&GroupId.1=sg-1",
    );
    let other_op = call(
        Method::POST,
        "/",
        form("ec2"),
        "Action=DescribeSecurityGroupRules&GroupId.1=sg-1",
    );
    let other_group = call(
        Method::POST,
        "/",
        form("ec2"),
        "Action=DescribeSecurityGroups&GroupId.1=sg-2",
    );
    let other_service = call(
        Method::POST,
        "/",
        form("sns"),
        "Action=DescribeSecurityGroups&GroupId.1=sg-1",
    );
    assert_eq!(f.decide(&hit).error, Some(ErrorEffect::Throttle));
    for miss in [other_op, other_group, other_service] {
        assert_eq!(f.decide(&miss).error, None);
    }
    assert_eq!(
        (f.list(None)[0]["matched"].clone(), f.list(None)[0]["injected"].clone()),
        (json!(1), json!(1))
    );
}

fn pattern(rate: f64, seed: u64, n: usize) -> Vec<bool> {
    let f = rules(json!([{"service": "ec2", "effect": "throttle", "rate": rate, "seed": seed}]));
    let c = call(Method::POST, "/", form("ec2"), "Action=DescribeSecurityGroups");
    (0..n).map(|_| f.decide(&c).error.is_some()).collect()
}

#[test]
fn the_rate_is_deterministic_per_seed_and_close_to_the_fraction() {
    assert_eq!(
        pattern(0.2, 7, 200),
        pattern(0.2, 7, 200),
        "same seed, same calls faulted"
    );
    assert_ne!(
        pattern(0.2, 7, 200),
        pattern(0.2, 8, 200),
        "another seed, another pattern"
    );
    let hits = pattern(0.2, 7, 10_000).iter().filter(|x| **x).count();
    assert!((1800..2200).contains(&hits), "{hits} of 10000 at 20%");
    assert!(pattern(0.0, 1, 100).iter().all(|x| !x));
    assert!(pattern(1.0, 1, 100).iter().all(|x| *x));
}

#[test]
fn latency_adds_up_and_the_first_error_wins() {
    let f = rules(json!([
        {"id": "slow", "service": "s3", "latency_ms": 50},
        {"id": "slower", "service": "s3", "latency_ms": 70},
        {"id": "5xx", "service": "s3", "effect": "server_error"},
        {"id": "throttle", "service": "s3", "effect": "throttle"}
    ]));
    let d = f.decide(&call(Method::GET, "/b?acl", auth("s3"), ""));
    assert_eq!(
        (d.delay, d.error),
        (Duration::from_millis(120), Some(ErrorEffect::ServerError))
    );
    assert_eq!(f.list(None)[3]["matched"], 0);
}

#[test]
fn latency_adds_up_to_at_most_a_minute_and_a_poisoned_lock_still_serves() {
    let f = rules(json!([
        {"id": "a", "service": "s3", "latency_ms": 60_000},
        {"id": "b", "service": "s3", "latency_ms": 60_000}
    ]));
    let get = call(Method::GET, "/b?acl", auth("s3"), "");
    assert_eq!(f.decide(&get).delay, MAX_LATENCY);
    let f = std::sync::Arc::new(f);
    let held = f.clone();
    let _ = std::thread::spawn(move || {
        let _guard = held.rules();
        panic!("a bug while the rules are held");
    })
    .join();
    assert!(f.rules.is_poisoned());
    assert_eq!(f.decide(&get).delay, MAX_LATENCY);
    assert_eq!(f.list(None).len(), 2);
}

#[test]
fn a_lost_write_answers_only_the_s3_writes_it_names_and_takes_them_from_crash_rules() {
    let f = rules(json!([
        {"id": "lost", "service": "s3", "operation": "PutBucketVersioning", "resource": "it-b-1", "effect": "lost_write"},
        {"id": "crash", "service": "s3", "resource": "it-b-1", "crash_after_writes": 1}
    ]));
    let put = |bucket: &str| {
        call(
            Method::PUT,
            &format!("/{bucket}?versioning"),
            auth("s3"),
            "<VersioningConfiguration/>",
        )
    };
    let read = f.decide(&call(Method::GET, "/it-b-1?versioning", auth("s3"), ""));
    assert!(!read.lost_write, "a read is served");
    let other = f.decide(&put("it-b-12"));
    assert!(!other.lost_write, "another bucket's write is applied");
    assert!(other.crash.is_none(), "another bucket is not the crash rule's either");
    let lost = f.decide(&put("it-b-1"));
    assert!(lost.lost_write && lost.error.is_none());
    assert!(
        lost.crash.is_none(),
        "a write that never reaches moto is no crash rule's write"
    );
    let acl = f.decide(&call(Method::PUT, "/it-b-1?acl", auth("s3"), ""));
    assert!(!acl.lost_write, "only the operation named");
    assert!(acl.crash.is_some(), "the first write forwarded is the crash rule's");
    let stats = f.list(None);
    assert_eq!(
        (stats[0]["matched"].clone(), stats[0]["injected"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(stats[0]["effect"], "lost_write");
    // S3 only (another service's success answer carries data), and scoped to a resource.
    let bad = |v: Value| {
        Faults::default()
            .replace(None, serde_json::from_value(v).unwrap())
            .unwrap_err()
    };
    assert!(bad(json!([{"service": "ec2", "resource": "sg-1", "effect": "lost_write"}])).contains("S3 writes only"));
    assert!(bad(json!([{"service": "s3", "effect": "lost_write"}])).contains("needs a `resource`"));
}

#[test]
fn a_crash_rule_fires_once_after_the_nth_write_and_ignores_reads() {
    let f = rules(json!([{"id": "c", "service": "ec2", "resource": "sg-1", "crash_after_writes": 2}]));
    let write = call(
        Method::POST,
        "/",
        form("ec2"),
        "Action=AuthorizeSecurityGroupIngress&GroupId=sg-1",
    );
    let read = call(
        Method::POST,
        "/",
        form("ec2"),
        "Action=DescribeSecurityGroups&GroupId.1=sg-1",
    );
    assert!(f.decide(&read).crash.is_none());
    assert!(f.decide(&write).crash.is_none());
    let crash = f.decide(&write).crash.expect("the second write crashes");
    assert_eq!(crash.resource, "sg-1");
    assert!(f.decide(&write).crash.is_none(), "one shot: the retry can finish");
    let stats = &f.list(None)[0];
    assert_eq!(
        (
            stats["matched"].clone(),
            stats["injected"].clone(),
            stats["armed"].clone()
        ),
        (json!(2), json!(1), json!(false))
    );
}

#[test]
fn a_throttled_write_does_not_count_towards_a_crash() {
    let f = rules(json!([
        {"id": "t", "service": "ec2", "resource": "sg-1", "effect": "throttle"},
        {"id": "c", "service": "ec2", "resource": "sg-1", "crash_after_writes": 1}
    ]));
    let write = call(
        Method::POST,
        "/",
        form("ec2"),
        "Action=AuthorizeSecurityGroupIngress&GroupId=sg-1",
    );
    assert!(f.decide(&write).crash.is_none());
    assert_eq!(f.list(None)[1]["matched"], 0);
}

#[test]
fn owners_replace_and_clear_only_their_own_rules() {
    let f = Faults::default();
    let spec = |id: &str| {
        serde_json::from_value::<RuleSpec>(json!({"id": id, "service": "ec2", "effect": "throttle"})).unwrap()
    };
    f.replace(Some("a"), vec![spec("x"), spec("y")]).unwrap();
    f.replace(Some("b"), vec![spec("x")]).unwrap();
    f.replace(Some("a"), vec![spec("z")]).unwrap();
    assert_eq!(f.list(Some("a")).len(), 1);
    assert_eq!(f.list(None).len(), 2);
    assert_eq!(f.clear(Some("b")), 1);
    assert!(f.active());
    assert_eq!(f.clear(None), 1);
    assert!(!f.active());
    assert!(
        f.replace(Some("a"), vec![spec("x"), spec("x")]).is_err(),
        "duplicate ids"
    );
}

#[test]
fn malformed_rules_are_refused_with_the_reason() {
    let bad = |v: Value| {
        Faults::default()
            .replace(None, serde_json::from_value(v).unwrap())
            .unwrap_err()
    };
    assert!(bad(json!([{"service": "ec2"}])).contains("exactly one"));
    assert!(bad(json!([{"service": "ec2", "effect": "throttle", "latency_ms": 5}])).contains("exactly one"));
    assert!(bad(json!([{"service": "ec2", "effect": "throttle", "rate": 1.5}])).contains("rate"));
    assert!(bad(json!([{"service": "ec2", "crash_after_writes": 1}])).contains("resource"));
    assert!(bad(json!([{"service": "ec2", "latency_ms": u64::MAX}])).contains("at most 60000"));
    assert!(bad(json!([{"service": "ec2", "latency_ms": 60_001}])).contains("latency_ms"));
    assert!(serde_json::from_value::<Vec<RuleSpec>>(json!([{"service": "ec2", "effct": "throttle"}])).is_err());
}

#[test]
fn errors_have_each_services_own_shape() {
    let (status, headers, body) = error_response(Protocol::Ec2Query, ErrorEffect::Throttle, "rid-1");
    assert_eq!(status, 503);
    assert!(
        body.contains("<Response><Errors><Error><Code>RequestLimitExceeded</Code>"),
        "{body}"
    );
    assert!(headers.contains(&("x-amzn-RequestId", "rid-1".to_string())));

    let (status, _, body) = error_response(Protocol::S3, ErrorEffect::Throttle, "rid-2");
    assert_eq!(status, 503);
    assert!(body.contains("<Error><Code>SlowDown</Code>"), "{body}");

    let (status, headers, body) = error_response(Protocol::AwsJson, ErrorEffect::Throttle, "rid-3");
    assert_eq!(status, 400);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["__type"],
        "ThrottlingException"
    );
    assert!(headers.iter().any(|(k, _)| *k == "x-amzn-RequestId"));

    let (status, _, body) = error_response(Protocol::Ec2Query, ErrorEffect::ServerError, "rid-4");
    assert_eq!(status, 500);
    assert!(body.contains("<Code>InternalError</Code>"));
    let (status, _, body) = error_response(Protocol::S3, ErrorEffect::ServerError, "rid-5");
    assert_eq!((status, body.contains("<Code>InternalError</Code>")), (500, true));
    let (status, _, body) = error_response(Protocol::AwsQuery, ErrorEffect::Throttle, "rid-6");
    assert_eq!((status, body.contains("<Code>Throttling</Code>")), (400, true));
}
