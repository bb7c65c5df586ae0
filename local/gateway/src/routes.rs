//! The gateway's routes: what arrives on its port and on the approvals port, and which part of
//! the gateway answers it (a hosted Lambda invocation, an SNS delivery, the local admin API, the
//! EventBridge and Security Hub calls moto lacks, or moto behind the proxy in `server.rs`).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use ar_handlers::Handler;

use crate::faults::{self};
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;

use crate::server::{proxy_parts, respond, run_handler, Body, Gateway, InFlight, Registered};

const INVOKE_PREFIX: &str = "/2015-03-31/functions/";

const SNS_PATH: &str = "/_local/sns/trigger";

const DELIVERIES_PATH: &str = "/_local/deliveries";

const FAULTS_PATH: &str = "/_local/faults";

const METRICS_PATH: &str = "/_local/metrics";

const MAX_BODY: usize = 8 * 1024 * 1024;

/// Serves until the process ends.
pub async fn serve(listener: TcpListener, gw: Arc<Gateway>) {
    loop {
        let (stream, _peer): (_, SocketAddr) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let gw = gw.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| {
                let gw = gw.clone();
                async move { Ok::<_, Infallible>(route(gw, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

/// The approval pages (API Gateway's part on AWS), on their own port.
pub async fn serve_approvals(listener: TcpListener, gw: Arc<Gateway>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let gw = gw.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req: Request<Incoming>| {
                let gw = gw.clone();
                async move { Ok::<_, Infallible>(approval_page(gw, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

/// One approval page request: wrapped into the API Gateway HTTP API (payload 2.0) event AWS would
/// send, given to the approval-callback handler exactly as Lambda gives it, and its response
/// unwrapped as API Gateway does. (The event's shape: tests/fixtures/apigw/.)
async fn approval_page(gw: Arc<Gateway>, req: Request<Incoming>) -> Response<Body> {
    let request_id = gw.request_id();
    let Some(deps) = gw.deps.get().cloned() else {
        return respond(
            StatusCode::SERVICE_UNAVAILABLE,
            &request_id,
            json!({"message": "the stack is still starting"}),
        );
    };
    let (parts, body) = match read_body(req).await {
        Ok(b) => b,
        Err(e) => return respond(StatusCode::BAD_REQUEST, &request_id, json!({"message": e})),
    };
    let event = apigw_event(&parts, &body, &request_id);
    let result = run_handler(&deps, Handler::ApprovalCallback, event).await;
    let out = match result {
        Ok(v) => v,
        // API Gateway answers a failed integration with 500 and this body.
        Err(_) => {
            return respond(
                StatusCode::INTERNAL_SERVER_ERROR,
                &request_id,
                json!({"message": "Internal Server Error"}),
            )
        }
    };
    tracing::info!(status = %out["statusCode"], "approval page");
    apigw_response(&out).unwrap_or_else(|| {
        respond(
            StatusCode::INTERNAL_SERVER_ERROR,
            &request_id,
            json!({"message": "Internal Server Error"}),
        )
    })
}

/// The HTTP API payload 2.0 event for a request, as API Gateway builds it: headers lower-cased
/// and comma-joined, cookies apart, a body base64-encoded unless it is text API Gateway passes
/// as is (form posts are encoded).
fn apigw_event(parts: &http::request::Parts, body: &[u8], request_id: &str) -> Value {
    use base64::Engine;
    let mut headers = serde_json::Map::new();
    let mut cookies = Vec::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if name == http::header::COOKIE {
            cookies.extend(value.split("; ").map(|c| Value::String(c.to_string())));
            continue;
        }
        match headers.get_mut(name.as_str()) {
            Some(Value::String(prev)) => {
                prev.push(',');
                prev.push_str(&value);
            }
            _ => {
                headers.insert(name.as_str().to_string(), Value::String(value));
            }
        }
    }
    let content_type = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let text = content_type.starts_with("text/") || content_type.starts_with("application/json");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let path = parts.uri.path();
    let mut event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": parts.uri.query().unwrap_or(""),
        "headers": headers,
        "requestContext": {
            "accountId": crate::provision::ACCOUNT_ID,
            "apiId": "local",
            "domainName": parts.headers.get(http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost"),
            "domainPrefix": "local",
            "http": {
                "method": parts.method.as_str(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": parts.headers.get(http::header::USER_AGENT).and_then(|h| h.to_str().ok()).unwrap_or(""),
            },
            "requestId": request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": "",
            "timeEpoch": now.as_millis() as u64,
        },
        "isBase64Encoded": false,
    });
    if !cookies.is_empty() {
        event["cookies"] = Value::Array(cookies);
    }
    if !body.is_empty() {
        event["body"] = if text {
            Value::String(String::from_utf8_lossy(body).into_owned())
        } else {
            event["isBase64Encoded"] = Value::Bool(true);
            Value::String(base64::engine::general_purpose::STANDARD.encode(body))
        };
    }
    event
}

/// An HTTP API payload 2.0 response, as API Gateway turns it into HTTP.
fn apigw_response(out: &Value) -> Option<Response<Body>> {
    use base64::Engine;
    let status = StatusCode::from_u16(u16::try_from(out["statusCode"].as_u64()?).ok()?).ok()?;
    let mut resp = Response::builder().status(status);
    for (k, v) in out["headers"].as_object().into_iter().flatten() {
        resp = resp.header(k.as_str(), v.as_str()?);
    }
    for c in out["cookies"].as_array().into_iter().flatten() {
        resp = resp.header(http::header::SET_COOKIE, c.as_str()?);
    }
    let body = out["body"].as_str().unwrap_or("");
    let bytes = if out["isBase64Encoded"].as_bool() == Some(true) {
        base64::engine::general_purpose::STANDARD.decode(body).ok()?
    } else {
        body.as_bytes().to_vec()
    };
    resp.body(Full::new(Bytes::from(bytes))).ok()
}

async fn route(gw: Arc<Gateway>, req: Request<Incoming>) -> Response<Body> {
    let path = req.uri().path().to_string();
    if req.method() == Method::POST && path.starts_with(INVOKE_PREFIX) && path.ends_with("/invocations") {
        let name = path[INVOKE_PREFIX.len()..path.len() - "/invocations".len()].to_string();
        return lambda_invoke(gw, req, &name).await;
    }
    if req.method() == Method::POST && path == SNS_PATH {
        return sns_delivery(gw, req).await;
    }
    if req.method() == Method::GET && path == DELIVERIES_PATH {
        // `?message_id=<id>`: only that delivery's records (SNS message ids need no decoding).
        let only = req
            .uri()
            .query()
            .and_then(|q| q.split('&').find_map(|p| p.strip_prefix("message_id=")))
            .map(str::to_string);
        let list: Vec<Value> = gw
            .deliveries
            .lock()
            .expect("deliveries lock")
            .iter()
            .filter(|d| only.as_deref().is_none_or(|id| d["message_id"] == id))
            .cloned()
            .collect();
        return respond(StatusCode::OK, &gw.request_id(), Value::Array(list));
    }
    if req.method() == Method::GET && path == METRICS_PATH {
        return respond(StatusCode::OK, &gw.request_id(), gw.metrics.list());
    }
    if path == FAULTS_PATH {
        return faults_api(gw, req).await;
    }
    if req.method() == Method::GET && path == "/_local/health" {
        return respond(StatusCode::OK, &gw.request_id(), json!({"ok": gw.deps.get().is_some()}));
    }
    // What moto lacks: Security Hub's BatchUpdateFindings, and EventBridge's delivery to Lambda.
    let batch_update = crate::securityhub::is_batch_update(req.method(), &path);
    let put_events = crate::eventbridge::is_put_events(req.headers());
    let targets = crate::eventbridge::is_target_call(req.headers());
    if batch_update || put_events || targets {
        let (parts, body) = match read_body(req).await {
            Ok(b) => b,
            Err(e) => return respond(StatusCode::BAD_REQUEST, &gw.request_id(), json!({"message": e})),
        };
        return if batch_update {
            crate::securityhub::batch_update(gw, parts, body).await
        } else if put_events {
            crate::eventbridge::put_events(gw, parts, body).await
        } else {
            crate::eventbridge::target_call(gw, parts, body).await
        };
    }
    proxy(gw, req).await
}

async fn read_body(req: Request<Incoming>) -> Result<(http::request::Parts, Bytes), String> {
    let (parts, body) = req.into_parts();
    let bytes = http_body_util::Limited::new(body, MAX_BODY)
        .collect()
        .await
        .map_err(|e| format!("reading the request body: {e}"))?
        .to_bytes();
    Ok((parts, bytes))
}

/// `POST /2015-03-31/functions/{name}/invocations`, as Lambda answers it: 200 with the result,
/// or 200 with `X-Amz-Function-Error: Unhandled` and `{errorType, errorMessage}`.
async fn lambda_invoke(gw: Arc<Gateway>, req: Request<Incoming>, name: &str) -> Response<Body> {
    let request_id = gw.request_id();
    let name = percent_decode(name);
    if is_noop(&name) {
        return match read_body(req).await {
            Ok((_, body)) => respond(StatusCode::OK, &request_id, noop_result(&body)),
            Err(e) => respond(StatusCode::BAD_REQUEST, &request_id, json!({"message": e})),
        };
    }
    let handler: Handler = match name.parse() {
        Ok(h) => h,
        Err(_) => {
            return respond(
                StatusCode::NOT_FOUND,
                &request_id,
                json!({"Type": "User", "message": format!("Function not found: {name}")}),
            )
        }
    };
    let asynchronous = req
        .headers()
        .get("x-amz-invocation-type")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"Event"));
    let (_, body) = match read_body(req).await {
        Ok(b) => b,
        Err(e) => return respond(StatusCode::BAD_REQUEST, &request_id, json!({"message": e})),
    };
    let payload: Value = if body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                return respond(
                    StatusCode::BAD_REQUEST,
                    &request_id,
                    json!({"Type": "User", "message": format!("Could not parse request body into json: {e}")}),
                )
            }
        }
    };
    let Some(deps) = gw.deps.get().cloned() else {
        return respond(
            StatusCode::SERVICE_UNAVAILABLE,
            &request_id,
            json!({"message": "the stack is still starting"}),
        );
    };
    let payload_text = body_text(&body);
    let function = name.rsplit(':').next().unwrap_or(&name).to_string();
    let task = tokio::spawn(async move { run_handler(&deps, handler, payload).await });
    let key = gw.request_ids.fetch_add(1, Ordering::Relaxed);
    gw.inflight.lock().expect("inflight lock").insert(
        key,
        InFlight {
            function,
            request_id: request_id.clone(),
            payload: payload_text,
            abort: task.abort_handle(),
        },
    );
    let registered = Registered { gw: gw.clone(), key };
    if asynchronous {
        tokio::spawn(async move {
            let _registered = registered;
            let _ = task.await;
        });
        return respond(StatusCode::ACCEPTED, &request_id, json!({}));
    }
    let result = task.await;
    drop(registered);
    match result {
        Ok(Ok(v)) => respond(StatusCode::OK, &request_id, v),
        Ok(Err(e)) => function_error(
            &request_id,
            json!({"errorType": e.name(), "errorMessage": e.to_string()}),
        ),
        // Killed by a crash rule: what Lambda answers when the runtime process dies mid-invocation.
        Err(e) if e.is_cancelled() => function_error(
            &request_id,
            json!({
                "errorType": "Runtime.ExitError",
                "errorMessage": format!("RequestId: {request_id} Error: Runtime exited with error: signal: killed"),
            }),
        ),
        Err(e) => function_error(
            &request_id,
            json!({"errorType": "Runtime.ExitError", "errorMessage": format!("RequestId: {request_id} Error: Runtime exited with error: {e}")}),
        ),
    }
}

/// `make bench`'s no-op floor workflow (bench/noop_asl.py) invokes functions named `bench-noop-*`:
/// they do nothing and answer at once with the payload's `bench_noop_result` (`{}` without one).
const NOOP_PREFIX: &str = "bench-noop-";

fn is_noop(name: &str) -> bool {
    let function = match name.split_once(":function:") {
        Some((_, rest)) => rest.split(':').next().unwrap_or(rest),
        None => name,
    };
    function.starts_with(NOOP_PREFIX)
}

fn noop_result(body: &[u8]) -> Value {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|mut v| v.get_mut("bench_noop_result").map(Value::take))
        .unwrap_or_else(|| json!({}))
}

/// Lambda's answer for a failed invocation: 200, `X-Amz-Function-Error: Unhandled`.
fn function_error(request_id: &str, body: Value) -> Response<Body> {
    let mut resp = respond(StatusCode::OK, request_id, body);
    resp.headers_mut()
        .insert("X-Amz-Function-Error", http::HeaderValue::from_static("Unhandled"));
    resp
}

fn body_text(body: &Bytes) -> String {
    String::from_utf8_lossy(body).into_owned()
}

/// `/_local/faults[?owner=O]`: `PUT` a JSON array replaces the rules (of that owner), `GET` lists
/// them with their counters, `DELETE` clears them.
async fn faults_api(gw: Arc<Gateway>, req: Request<Incoming>) -> Response<Body> {
    let request_id = gw.request_id();
    let owner = req.uri().query().and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "owner")
            .map(|(_, v)| v.into_owned())
    });
    let owner = owner.as_deref().filter(|o| !o.is_empty());
    let method = req.method().clone();
    match method {
        Method::GET => respond(StatusCode::OK, &request_id, Value::Array(gw.faults.list(owner))),
        Method::DELETE => respond(StatusCode::OK, &request_id, json!({"removed": gw.faults.clear(owner)})),
        Method::PUT => {
            let (_, body) = match read_body(req).await {
                Ok(b) => b,
                Err(e) => return respond(StatusCode::BAD_REQUEST, &request_id, json!({"message": e})),
            };
            let specs = match serde_json::from_slice::<Vec<faults::RuleSpec>>(&body) {
                Ok(s) => s,
                Err(e) => {
                    return respond(
                        StatusCode::BAD_REQUEST,
                        &request_id,
                        json!({"message": format!("a JSON array of fault rules: {e}")}),
                    )
                }
            };
            match gw.faults.replace(owner, specs) {
                Ok(rules) => {
                    tracing::info!(owner, rules = rules.len(), "fault rules set");
                    respond(StatusCode::OK, &request_id, Value::Array(rules))
                }
                Err(e) => respond(StatusCode::BAD_REQUEST, &request_id, json!({"message": e})),
            }
        }
        _ => respond(
            StatusCode::METHOD_NOT_ALLOWED,
            &request_id,
            json!({"message": "GET, PUT or DELETE"}),
        ),
    }
}

/// An SNS http delivery: wrapped into the Lambda SNS event AWS would send the trigger.
/// Always answered 200, as SNS → Lambda is asynchronous on AWS; the outcome is kept at
/// `GET /_local/deliveries` and in the gateway log.
async fn sns_delivery(gw: Arc<Gateway>, req: Request<Incoming>) -> Response<Body> {
    let request_id = gw.request_id();
    let topic_subscription = req
        .headers()
        .get("x-amz-sns-subscription-arn")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let (_, body) = match read_body(req).await {
        Ok(b) => b,
        Err(e) => return respond(StatusCode::BAD_REQUEST, &request_id, json!({"message": e})),
    };
    let notification: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let message_id = notification.get("MessageId").cloned().unwrap_or(Value::Null);
    let event = json!({
        "Records": [{
            "EventSource": "aws:sns",
            "EventVersion": "1.0",
            "EventSubscriptionArn": topic_subscription,
            "Sns": notification,
        }]
    });
    let record = match gw.deps.get().cloned() {
        None => {
            json!({"message_id": message_id, "error": {"errorType": "Unavailable", "errorMessage": "the stack is still starting"}})
        }
        Some(deps) => match run_handler(&deps, Handler::Trigger, event).await {
            Ok(v) => {
                // One record per SNS delivery: its kind (ActedOn, Acknowledged, Rejected) and why.
                let record = &v["records"][0];
                json!({"message_id": message_id, "delivery": record["delivery"], "reason": record["reason"], "result": v})
            }
            Err(e) => json!({
                "message_id": message_id, "delivery": "Failed", "reason": e.name(),
                "error": {"errorType": e.name(), "errorMessage": e.to_string()},
            }),
        },
    };
    gw.keep_delivery(record);
    respond(StatusCode::OK, &request_id, json!({}))
}

/// Everything else goes to moto unchanged (method, path, query, headers, body).
async fn proxy(gw: Arc<Gateway>, req: Request<Incoming>) -> Response<Body> {
    let (parts, body) = match read_body(req).await {
        Ok(b) => b,
        Err(e) => return respond(StatusCode::BAD_REQUEST, &gw.request_id(), json!({"message": e})),
    };
    proxy_parts(gw, parts, body).await
}

/// A path segment percent-decoded (`+` stays a `+`; a malformed escape stays as is).
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn bench_noop_functions_answer_their_canned_result_and_nothing_else_is_one() {
        assert!(super::is_noop("bench-noop-Classify"));
        assert!(super::is_noop(
            "arn:aws:lambda:us-east-1:123456789012:function:bench-noop-Verify:live"
        ));
        assert!(!super::is_noop("auto-remediate-classify"));
        assert!(!super::is_noop(
            "arn:aws:lambda:us-east-1:123456789012:function:auto-remediate-verify"
        ));
        assert_eq!(
            super::noop_result(br#"{"state": {}, "bench_noop_result": {"decision": "auto"}}"#),
            serde_json::json!({"decision": "auto"})
        );
        assert_eq!(super::noop_result(br#"{"state": {}}"#), serde_json::json!({}));
        assert_eq!(super::noop_result(b"not json"), serde_json::json!({}));
    }

    #[test]
    fn function_arns_in_the_path_are_decoded() {
        assert_eq!(
            super::percent_decode("arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Aauto-remediate-verify"),
            "arn:aws:lambda:us-east-1:123456789012:function:auto-remediate-verify"
        );
        assert_eq!(super::percent_decode("abc%"), "abc%");
    }
}
