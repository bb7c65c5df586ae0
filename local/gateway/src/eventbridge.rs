//! EventBridge delivery on the local stack (issue 20): `AWSEvents.PutEvents` goes to moto (which
//! records it and gives the event ids), and each event is then delivered, as EventBridge does, to
//! the Lambda targets this gateway hosts of every enabled rule on the event's bus whose event
//! pattern matches it. moto keeps the rules (`PutRule`; the stack provisions the two rules
//! `infra/main.tf` creates when subscribed, [`source_rules`], with the trigger as their target)
//! and every other target; the gateway keeps the Lambda targets it hosts ([`HostedTargets`]):
//! moto 5.2.5 cannot deliver to a Lambda target, and its `PutEvents` answers 500
//! (`NotImplementedError`) once an event matches a rule that has one. `PutTargets`,
//! `ListTargetsByRule` and `RemoveTargets` through the gateway therefore keep the hosted
//! functions here and pass every other target to moto, and a listing shows both.
//!
//! Delivery is asynchronous, as EventBridge's to Lambda is: `PutEvents` is answered once moto
//! has recorded the events, the handler runs after, and each delivery is kept at
//! `GET /_local/deliveries?message_id=<event id>` (`source: eventbridge`, the rule, and the
//! trigger's records: each acted on, acknowledged or rejected, and why).
//!
//! No event-pattern crate is in the registries this project uses, so [`matches`] is a small
//! matcher of the documented pattern language, for the subset the rules use and a little more:
//! exact values (strings, numbers, booleans, null), nested objects, arrays of allowed values
//! (an event array matches when any element does, arrays flattened as EventBridge does),
//! `prefix`, `suffix`, `equals-ignore-case`, `anything-but` (a value, a list, or a `prefix`) and
//! `exists`. Anything else (`numeric`, `cidr`, `wildcard`, `$or`) is refused by name rather than
//! half-evaluated: the rule then matches nothing and the gateway logs why.

use std::sync::Arc;

use ar_handlers::Handler;
use bytes::Bytes;
use http::Method;
use http_body_util::BodyExt;
use serde_json::{json, Map, Value};

use crate::server::{Body, Gateway};

pub const PUT_EVENTS: &str = "AWSEvents.PutEvents";

/// Whether a request is EventBridge's `PutEvents`.
pub fn is_put_events(headers: &http::HeaderMap) -> bool {
    headers
        .get("x-amz-target")
        .is_some_and(|t| t.as_bytes() == PUT_EVENTS.as_bytes())
}

// ---------------------------------------------------------------------------------------------
// The rules infra/main.tf creates when `subscribe_security_hub` and `subscribe_config_rules` are on.

/// `(name suffix, description, pattern)` of each rule, as `local.source_rules` in infra/main.tf
/// builds them (the Security Hub controls from `catalog/sources.json`).
pub fn source_rules() -> Vec<(&'static str, &'static str, Value)> {
    let controls: Vec<&String> = ar_core::catalog::sources::sources().securityhub.keys().collect();
    vec![
        (
            "security-hub",
            "Security Hub control findings auto-remediate heals, to its trigger",
            json!({
                "source": ["aws.securityhub"],
                "detail-type": ["Security Hub Findings - Imported"],
                "detail": {"findings": {
                    "Compliance": {"Status": ["FAILED"], "SecurityControlId": controls},
                    "RecordState": ["ACTIVE"],
                    "Workflow": {"Status": ["NEW", "NOTIFIED"]},
                }},
            }),
        ),
        (
            "config-rules",
            "AWS Config non-compliance of the managed rules auto-remediate heals, to its trigger",
            json!({
                "source": ["aws.config"],
                "detail-type": ["Config Rules Compliance Change"],
                "detail": {"newEvaluationResult": {"complianceType": ["NON_COMPLIANT"]}},
            }),
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// Event patterns.

/// Whether `event` matches `pattern`; an error names a pattern construct not supported here.
pub fn matches(pattern: &Value, event: &Value) -> Result<bool, String> {
    let p = pattern.as_object().ok_or("an event pattern is a JSON object")?;
    match_object(p, &[event], "")
}

/// `values`: every value at this path in the event (arrays flattened).
fn match_object(pattern: &Map<String, Value>, values: &[&Value], path: &str) -> Result<bool, String> {
    for (key, want) in pattern {
        if key.starts_with('$') {
            return Err(format!("{path}{key}: not supported by the local matcher"));
        }
        let here = format!("{path}{key}.");
        let children = children(values, key);
        let ok = match want {
            Value::Object(o) => match_object(o, &children, &here)?,
            Value::Array(allowed) => match_leaf(allowed, &children, &here)?,
            _ => return Err(format!("{here}: a pattern's leaf must be an array")),
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

fn children<'a>(values: &[&'a Value], key: &str) -> Vec<&'a Value> {
    let mut out = Vec::new();
    for v in values {
        match v.get(key) {
            Some(Value::Array(a)) => out.extend(a.iter()),
            Some(c) => out.push(c),
            None => {}
        }
    }
    out
}

fn match_leaf(allowed: &[Value], values: &[&Value], path: &str) -> Result<bool, String> {
    for m in allowed {
        if let Some(exists) = m.get("exists") {
            let exists = exists
                .as_bool()
                .ok_or_else(|| format!("{path}: exists takes a boolean"))?;
            if exists != values.is_empty() {
                return Ok(true);
            }
            continue;
        }
        for v in values {
            if matcher(m, v, path)? {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// One allowed value (or content filter) against one event value.
fn matcher(m: &Value, v: &Value, path: &str) -> Result<bool, String> {
    let Value::Object(filter) = m else {
        return Ok(scalar_eq(m, v));
    };
    let (name, arg) = match filter.iter().next() {
        Some(one) if filter.len() == 1 => one,
        _ => return Err(format!("{path}: a content filter has exactly one key")),
    };
    let text = v.as_str();
    let arg_str = || arg.as_str().ok_or_else(|| format!("{path}: {name} takes a string"));
    Ok(match name.as_str() {
        "prefix" => {
            let a = arg_str()?;
            text.is_some_and(|t| t.starts_with(a))
        }
        "suffix" => {
            let a = arg_str()?;
            text.is_some_and(|t| t.ends_with(a))
        }
        "equals-ignore-case" => {
            let a = arg_str()?;
            text.is_some_and(|t| t.eq_ignore_ascii_case(a))
        }
        "anything-but" => match arg {
            Value::Array(list) => !list.iter().any(|x| scalar_eq(x, v)),
            Value::Object(o) => match o.get("prefix").and_then(Value::as_str) {
                Some(p) if o.len() == 1 => text.is_some_and(|t| !t.starts_with(p)),
                _ => return Err(format!("{path}: anything-but takes a value, a list or a prefix here")),
            },
            x => !scalar_eq(x, v),
        },
        other => return Err(format!("{path}: {other} is not supported by the local matcher")),
    })
}

fn scalar_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Object(_) | Value::Array(_), _) | (_, Value::Object(_) | Value::Array(_)) => false,
        _ => a == b,
    }
}

// ---------------------------------------------------------------------------------------------
// The Lambda targets hosted here.

/// The EventBridge target calls the gateway takes part in.
pub fn is_target_call(headers: &http::HeaderMap) -> bool {
    headers.get("x-amz-target").is_some_and(|t| {
        [
            "AWSEvents.PutTargets",
            "AWSEvents.ListTargetsByRule",
            "AWSEvents.RemoveTargets",
        ]
        .iter()
        .any(|x| t.as_bytes() == x.as_bytes())
    })
}

/// A bus named by name or ARN, as EventBridge takes either.
fn bus_name(v: &Value) -> String {
    let b = v.as_str().unwrap_or("default");
    b.rsplit('/').next().unwrap_or(b).to_string()
}

/// `PutTargets`, `ListTargetsByRule` and `RemoveTargets`: the hosted functions here, the rest
/// in moto.
pub async fn target_call(gw: Arc<Gateway>, parts: http::request::Parts, body: Bytes) -> http::Response<Body> {
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|t| t.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let Ok(mut req) = serde_json::from_slice::<Value>(&body) else {
        return crate::server::proxy_parts(gw, parts, body).await;
    };
    let region = signed_region(&parts.headers).unwrap_or_else(|| "us-east-1".into());
    let bus = bus_name(&req["EventBusName"]);
    let rule = req["Rule"].as_str().unwrap_or_default().to_string();
    match target.as_str() {
        "AWSEvents.PutTargets" => {
            let (hosted, others): (Vec<Value>, Vec<Value>) = req["Targets"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .partition(|t| t["Arn"].as_str().and_then(hosted_handler).is_some());
            if hosted.is_empty() {
                return crate::server::proxy_parts(gw, parts, body).await;
            }
            // The rule must exist, as EventBridge requires.
            let mut headers = parts.headers.clone();
            headers.insert("x-amz-target", http::HeaderValue::from_static("AWSEvents.DescribeRule"));
            let describe = json!({"Name": rule, "EventBusName": bus});
            if let Err(e) = crate::securityhub::moto_json(&gw, &headers, Method::POST, "/", &describe).await {
                let mut r = crate::server::respond(
                    http::StatusCode::BAD_REQUEST,
                    &gw.next_request_id(),
                    json!({"__type": "ResourceNotFoundException", "message": format!("Rule {rule} does not exist on EventBus {bus}: {e}")}),
                );
                r.headers_mut().insert(
                    "x-amzn-ErrorType",
                    http::HeaderValue::from_static("ResourceNotFoundException"),
                );
                return r;
            }
            for t in hosted {
                gw.lambda_targets.put(&region, &bus, &rule, t);
            }
            if others.is_empty() {
                return crate::server::respond(
                    http::StatusCode::OK,
                    &gw.next_request_id(),
                    json!({"FailedEntryCount": 0, "FailedEntries": []}),
                );
            }
            req["Targets"] = Value::Array(others);
            forward(gw, parts, &req).await
        }
        "AWSEvents.RemoveTargets" => {
            let ids: Vec<String> = req["Ids"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect();
            let missing = gw.lambda_targets.remove(&region, &bus, &rule, &ids);
            if missing.len() == ids.len() {
                return crate::server::proxy_parts(gw, parts, body).await;
            }
            if missing.is_empty() {
                return crate::server::respond(
                    http::StatusCode::OK,
                    &gw.next_request_id(),
                    json!({"FailedEntryCount": 0, "FailedEntries": []}),
                );
            }
            req["Ids"] = json!(missing);
            forward(gw, parts, &req).await
        }
        _ => {
            // ListTargetsByRule: moto's, then the hosted ones (on the last page).
            let resp = crate::server::proxy_parts(gw.clone(), parts, body).await;
            if !resp.status().is_success() {
                return resp;
            }
            let (mut rparts, rbody) = resp.into_parts();
            let Ok(collected) = rbody.collect().await;
            let mut out: Value = serde_json::from_slice(&collected.to_bytes()).unwrap_or_else(|_| json!({}));
            if out["NextToken"].as_str().is_none_or(str::is_empty) {
                let mut all = out["Targets"].as_array().cloned().unwrap_or_default();
                all.extend(gw.lambda_targets.of(&region, &bus, &rule));
                out["Targets"] = Value::Array(all);
            }
            let bytes = Bytes::from(out.to_string());
            rparts
                .headers
                .insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(bytes.len()));
            http::Response::from_parts(rparts, http_body_util::Full::new(bytes))
        }
    }
}

/// The request with a new body, to moto.
async fn forward(gw: Arc<Gateway>, mut parts: http::request::Parts, req: &Value) -> http::Response<Body> {
    let bytes = Bytes::from(req.to_string());
    parts
        .headers
        .insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(bytes.len()));
    crate::server::proxy_parts(gw, parts, bytes).await
}

// ---------------------------------------------------------------------------------------------
// PutEvents and delivery.

/// The region of a SigV4-signed request (its credential scope), if any.
fn signed_region(headers: &http::HeaderMap) -> Option<String> {
    let auth = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let scope = auth.split("Credential=").nth(1)?.split(',').next()?;
    scope.split('/').nth(2).map(str::to_string)
}

/// The handler a Lambda target's ARN names, when this gateway hosts it.
pub fn hosted_handler(arn: &str) -> Option<Handler> {
    let (_, rest) = arn.split_once(":function:")?;
    let name = rest.split(':').next()?;
    name.strip_prefix(crate::provision::FUNCTION_PREFIX)?
        .strip_prefix('-')?
        .parse()
        .ok()
}

/// The event a target receives for one `PutEvents` entry, as EventBridge builds it.
pub fn event_of(entry: &Value, id: &str, account: &str, region: &str) -> Result<Value, String> {
    let detail: Value = serde_json::from_str(entry["Detail"].as_str().ok_or("no Detail")?)
        .map_err(|e| format!("Detail is not JSON: {e}"))?;
    if !detail.is_object() {
        return Err("Detail is not a JSON object".into());
    }
    let time = match &entry["Time"] {
        Value::Number(n) => crate::securityhub::iso(n.as_f64().unwrap_or(0.0) as u64),
        Value::String(s) => s.clone(),
        _ => crate::securityhub::iso(ar_core::ledger::now_epoch()),
    };
    Ok(json!({
        "version": "0",
        "id": id,
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "account": account,
        "time": time,
        "region": region,
        "resources": entry.get("Resources").cloned().unwrap_or_else(|| json!([])),
        "detail": detail,
    }))
}

/// `AWSEvents.PutEvents`: to moto, then to the matching rules' hosted Lambda targets.
pub async fn put_events(gw: Arc<Gateway>, parts: http::request::Parts, body: Bytes) -> http::Response<Body> {
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let resp = crate::server::proxy_parts(gw.clone(), parts.clone(), body).await;
    if !resp.status().is_success() {
        return resp;
    }
    let (rparts, rbody) = resp.into_parts();
    let rbytes = match rbody.collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => match e {},
    };
    let answer: Value = serde_json::from_slice(&rbytes).unwrap_or(Value::Null);
    let region = signed_region(&parts.headers).unwrap_or_else(|| "us-east-1".into());
    let entries = request["Entries"].as_array().cloned().unwrap_or_default();
    let ids = answer["Entries"].as_array().cloned().unwrap_or_default();
    for (entry, out) in entries.iter().zip(ids.iter()) {
        let Some(id) = out["EventId"].as_str() else {
            continue;
        };
        let bus = entry["EventBusName"].as_str().unwrap_or("default").to_string();
        let event = match event_of(entry, id, crate::provision::ACCOUNT_ID, &region) {
            Ok(e) => e,
            Err(e) => {
                gw.keep_delivery(
                    json!({"message_id": id, "source": "eventbridge", "delivery": "NotDelivered", "reason": e}),
                );
                continue;
            }
        };
        let gw = gw.clone();
        let headers = parts.headers.clone();
        tokio::spawn(async move { deliver(gw, headers, bus, event).await });
    }
    http::Response::from_parts(rparts, http_body_util::Full::new(rbytes))
}

/// Delivers one event to the hosted targets of every matching rule on its bus.
async fn deliver(gw: Arc<Gateway>, headers: http::HeaderMap, bus: String, event: Value) {
    let id = event["id"].as_str().unwrap_or_default().to_string();
    let rules = match list(
        &gw,
        &headers,
        "AWSEvents.ListRules",
        json!({"EventBusName": bus}),
        "Rules",
    )
    .await
    {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = e, "EventBridge rules not listed");
            gw.keep_delivery(
                json!({"message_id": id, "source": "eventbridge", "delivery": "NotDelivered", "reason": e}),
            );
            return;
        }
    };
    for rule in rules {
        let name = rule["Name"].as_str().unwrap_or_default().to_string();
        if rule["State"].as_str() != Some("ENABLED") {
            continue;
        }
        let Some(pattern) = rule["EventPattern"]
            .as_str()
            .and_then(|p| serde_json::from_str::<Value>(p).ok())
        else {
            continue;
        };
        match matches(&pattern, &event) {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                tracing::warn!(rule = name, error = e, "event pattern not evaluated");
                continue;
            }
        }
        let region = event["region"].as_str().unwrap_or_default();
        let targets = gw.lambda_targets.of(region, &bus, &name);
        for target in targets {
            let Some(handler) = target["Arn"].as_str().and_then(hosted_handler) else {
                continue;
            };
            let payload = match target["Input"].as_str() {
                Some(input) => serde_json::from_str(input).unwrap_or(Value::Null),
                None => event.clone(),
            };
            let record = match gw.deps.get().cloned() {
                None => json!({"message_id": id, "source": "eventbridge", "rule": name, "delivery": "Failed",
                               "reason": "Unavailable"}),
                Some(deps) => match crate::server::run_handler(&deps, handler, payload).await {
                    Ok(v) => json!({"message_id": id, "source": "eventbridge", "rule": name,
                                    "delivery": v["records"][0]["delivery"], "reason": v["records"][0]["reason"],
                                    "result": v}),
                    Err(e) => json!({"message_id": id, "source": "eventbridge", "rule": name, "delivery": "Failed",
                                     "reason": e.name(), "error": {"errorType": e.name(), "errorMessage": e.to_string()}}),
                },
            };
            tracing::info!(
                rule = name,
                event = id,
                handler = handler.name(),
                "EventBridge event delivered"
            );
            gw.keep_delivery(record);
        }
    }
}

/// A paginated EventBridge list call to moto with the caller's signature headers.
async fn list(
    gw: &Gateway,
    headers: &http::HeaderMap,
    target: &str,
    req: Value,
    key: &str,
) -> Result<Vec<Value>, String> {
    let mut headers = headers.clone();
    headers.insert(
        "x-amz-target",
        http::HeaderValue::from_str(target).map_err(|e| e.to_string())?,
    );
    let mut out = Vec::new();
    let mut req = req;
    loop {
        let page = crate::securityhub::moto_json(gw, &headers, Method::POST, "/", &req).await?;
        out.extend(page[key].as_array().cloned().unwrap_or_default());
        match page["NextToken"].as_str() {
            Some(t) if !t.is_empty() => req["NextToken"] = json!(t),
            _ => return Ok(out),
        }
    }
}

/// Creates the two source rules on the default bus (idempotent); their target, the trigger, is
/// for the gateway to keep ([`HostedTargets`]): (rule name, target).
pub async fn provision_rules(
    events: &aws_sdk_eventbridge::Client,
    region: &str,
) -> Result<Vec<(String, Value)>, String> {
    let mut targets = Vec::new();
    for (suffix, description, pattern) in source_rules() {
        let name = format!("{}-{suffix}", crate::provision::FUNCTION_PREFIX);
        events
            .put_rule()
            .name(&name)
            .description(description)
            .event_pattern(pattern.to_string())
            .send()
            .await
            .map_err(|e| format!("PutRule {name}: {e:?}"))?;
        targets.push((
            name,
            json!({"Id": "trigger", "Arn": crate::provision::function_arn(region, "trigger")}),
        ));
    }
    Ok(targets)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding_event(status: &str, control: &str, workflow: &str) -> Value {
        json!({"version": "0", "id": "e", "detail-type": "Security Hub Findings - Imported", "source": "aws.securityhub",
               "account": "123456789012", "time": "2026-12-05T10:00:00Z", "region": "us-east-1", "resources": [],
               "detail": {"findings": [{"Compliance": {"Status": status, "SecurityControlId": control},
                                         "RecordState": "ACTIVE", "Workflow": {"Status": workflow}}]}})
    }

    #[test]
    fn the_security_hub_rule_takes_failed_findings_of_mapped_controls_only() {
        let (_, _, pattern) = &source_rules()[0];
        assert!(matches(pattern, &finding_event("FAILED", "S3.2", "NEW")).unwrap());
        assert!(matches(pattern, &finding_event("FAILED", "EC2.13", "NOTIFIED")).unwrap());
        assert!(!matches(pattern, &finding_event("PASSED", "S3.2", "NEW")).unwrap());
        assert!(!matches(pattern, &finding_event("FAILED", "S3.1", "NEW")).unwrap());
        // The update back resolves the finding; Security Hub's event about that is not taken again.
        assert!(!matches(pattern, &finding_event("FAILED", "S3.2", "RESOLVED")).unwrap());
        let mut other = finding_event("FAILED", "S3.2", "NEW");
        other["source"] = json!("aws.config");
        assert!(!matches(pattern, &other).unwrap());
        let mut archived = finding_event("FAILED", "S3.2", "NEW");
        archived["detail"]["findings"][0]["RecordState"] = json!("ARCHIVED");
        assert!(!matches(pattern, &archived).unwrap());
    }

    #[test]
    fn the_config_rule_takes_non_compliance_only() {
        let (_, _, pattern) = &source_rules()[1];
        let event = |t: &str| {
            json!({"source": "aws.config", "detail-type": "Config Rules Compliance Change",
                   "detail": {"newEvaluationResult": {"complianceType": t}}})
        };
        assert!(matches(pattern, &event("NON_COMPLIANT")).unwrap());
        assert!(!matches(pattern, &event("COMPLIANT")).unwrap());
        assert!(!matches(pattern, &json!({"source": "aws.config"})).unwrap());
    }

    #[test]
    fn content_filters_and_arrays() {
        let e = json!({"a": "alpha", "n": 5, "list": ["x", "y"], "o": {"b": true, "none": null}});
        let t = |p: Value| matches(&p, &e).unwrap();
        assert!(t(json!({"a": ["beta", "alpha"]})));
        assert!(!t(json!({"a": ["beta"]})));
        assert!(t(json!({"n": [5.0]})));
        assert!(!t(json!({"n": ["5"]})));
        assert!(t(json!({"list": ["y"]})));
        assert!(t(json!({"o": {"b": [true], "none": [null]}})));
        assert!(t(json!({"a": [{"prefix": "al"}]})));
        assert!(!t(json!({"a": [{"prefix": "be"}]})));
        assert!(t(json!({"a": [{"suffix": "pha"}]})));
        assert!(t(json!({"a": [{"equals-ignore-case": "ALPHA"}]})));
        assert!(t(json!({"a": [{"anything-but": "beta"}]})));
        assert!(!t(json!({"a": [{"anything-but": ["alpha", "beta"]}]})));
        assert!(!t(json!({"a": [{"anything-but": {"prefix": "al"}}]})));
        assert!(t(json!({"a": [{"anything-but": {"prefix": "be"}}]})));
        // A missing field matches neither a value nor anything-but, only exists: false.
        assert!(!t(json!({"missing": [{"anything-but": "x"}]})));
        assert!(t(json!({"missing": [{"exists": false}]})));
        assert!(!t(json!({"a": [{"exists": false}]})));
        assert!(t(json!({"a": [{"exists": true}]})));
        // A nested pattern against a scalar matches nothing.
        assert!(!t(json!({"a": {"b": ["x"]}})));
        for unsupported in [
            json!({"n": [{"numeric": [">", 1]}]}),
            json!({"$or": [{"a": ["alpha"]}]}),
            json!({"a": "alpha"}),
            json!({"a": [{"wildcard": "a*"}]}),
        ] {
            assert!(matches(&unsupported, &e).is_err(), "{unsupported}");
        }
    }

    #[test]
    fn hosted_targets_are_kept_per_rule_replaced_by_id_and_removed() {
        let t = crate::server::HostedTargets::default();
        t.put("us-east-1", "default", "r", json!({"Id": "a", "Arn": "x"}));
        t.put("us-east-1", "default", "r", json!({"Id": "a", "Arn": "y"}));
        t.put("us-east-1", "default", "other", json!({"Id": "a", "Arn": "z"}));
        t.put("eu-west-1", "default", "r", json!({"Id": "b", "Arn": "w"}));
        assert_eq!(t.of("us-east-1", "default", "r"), vec![json!({"Id": "a", "Arn": "y"})]);
        assert_eq!(
            t.remove("us-east-1", "default", "r", &["a".into(), "b".into()]),
            vec!["b".to_string()]
        );
        assert!(t.of("us-east-1", "default", "r").is_empty());
        assert_eq!(t.of("us-east-1", "default", "other").len(), 1);
        assert_eq!(t.of("eu-west-1", "default", "r").len(), 1);
        assert_eq!(
            bus_name(&json!("arn:aws:events:us-east-1:123456789012:event-bus/custom")),
            "custom"
        );
        assert_eq!(bus_name(&Value::Null), "default");
    }

    #[test]
    fn hosted_targets_and_the_event_as_a_target_receives_it() {
        assert_eq!(
            hosted_handler("arn:aws:lambda:us-east-1:123456789012:function:auto-remediate-trigger"),
            Some(Handler::Trigger)
        );
        assert_eq!(
            hosted_handler("arn:aws:lambda:us-east-1:123456789012:function:auto-remediate-trigger:live"),
            Some(Handler::Trigger)
        );
        assert_eq!(
            hosted_handler("arn:aws:lambda:us-east-1:123456789012:function:other"),
            None
        );
        assert_eq!(hosted_handler("arn:aws:sqs:us-east-1:123456789012:q"), None);
        let entry = json!({"Source": "aws.securityhub", "DetailType": "Security Hub Findings - Imported",
                           "Detail": "{\"findings\": []}", "Resources": ["arn:x"]});
        let e = event_of(&entry, "id-1", "123456789012", "eu-west-1").unwrap();
        assert_eq!(e["detail-type"], "Security Hub Findings - Imported");
        assert_eq!(e["detail"], json!({"findings": []}));
        assert_eq!(e["region"], "eu-west-1");
        assert_eq!(e["resources"], json!(["arn:x"]));
        assert!(event_of(&json!({"Detail": "[1]"}), "i", "a", "r").is_err());
        assert!(event_of(&json!({"Detail": "{"}), "i", "a", "r").is_err());
    }
}
