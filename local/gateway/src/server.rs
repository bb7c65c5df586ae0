//! The gateway's HTTP front: the Lambda Invoke API served by our handlers in-process, SNS http
//! deliveries to the trigger, and everything else proxied to moto, through the fault injector
//! (`faults.rs`, managed at `/_local/faults`).

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use ar_core::deps::Deps;
use ar_handlers::{invoke, Handler};

use crate::faults::{self, Call, Faults};
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{json, Value};
use tokio::net::TcpListener;

pub type Body = Full<Bytes>;

const INVOKE_PREFIX: &str = "/2015-03-31/functions/";
const SNS_PATH: &str = "/_local/sns/trigger";
const DELIVERIES_PATH: &str = "/_local/deliveries";
const FAULTS_PATH: &str = "/_local/faults";
const METRICS_PATH: &str = "/_local/metrics";
const MAX_BODY: usize = 8 * 1024 * 1024;
const KEEP_DELIVERIES: usize = 5000;

/// State shared by every connection.
pub struct Gateway {
    pub deps: tokio::sync::OnceCell<Deps>,
    pub moto: String,
    client: Client<HttpConnector, Body>,
    deliveries: Mutex<VecDeque<Value>>,
    /// The handlers' EMF metrics, summed (`GET /_local/metrics`).
    pub metrics: crate::metrics::Metrics,
    request_ids: AtomicU64,
    pub faults: Faults,
    /// The Lambda invocations running now, so a crash rule can kill those concerning its resource.
    inflight: Mutex<HashMap<u64, InFlight>>,
    /// One DynamoDB write per item reaches moto at a time, as DynamoDB makes each atomic.
    dynamodb_writes: crate::ddb_locks::WriteLocks,
    /// EventBridge rules' targets that are functions hosted here (moto cannot deliver to them).
    pub(crate) lambda_targets: crate::eventbridge::HostedTargets,
}

struct InFlight {
    function: String,
    request_id: String,
    payload: String,
    abort: tokio::task::AbortHandle,
}

/// Removes an invocation from the registry when it ends, however it ends; aborts it when the
/// caller goes away (as dropping the future did before invocations ran in their own task).
struct Registered {
    gw: Arc<Gateway>,
    key: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        if let Some(inv) = self.gw.inflight.lock().expect("inflight lock").remove(&self.key) {
            inv.abort.abort();
        }
    }
}

impl Gateway {
    pub fn new(moto: String) -> Arc<Gateway> {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Arc::new(Gateway {
            deps: tokio::sync::OnceCell::new(),
            moto,
            client: Client::builder(TokioExecutor::new()).build(connector),
            deliveries: Mutex::new(VecDeque::new()),
            metrics: Default::default(),
            request_ids: AtomicU64::new(1),
            faults: Faults::default(),
            inflight: Mutex::new(HashMap::new()),
            dynamodb_writes: Default::default(),
            lambda_targets: Default::default(),
        })
    }

    fn request_id(&self) -> String {
        format!("local-{:016x}", self.request_ids.fetch_add(1, Ordering::Relaxed))
    }

    pub(crate) fn next_request_id(&self) -> String {
        self.request_id()
    }

    /// The client the gateway reaches moto with.
    pub(crate) fn moto_client(&self) -> &Client<HttpConnector, Body> {
        &self.client
    }

    /// Keeps a delivery's record for `GET /_local/deliveries` (the oldest go past 5,000).
    pub(crate) fn keep_delivery(&self, record: Value) {
        let mut d = self.deliveries.lock().expect("deliveries lock");
        if d.len() >= KEEP_DELIVERIES {
            d.pop_front();
        }
        d.push_back(record);
    }
}

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

pub(crate) fn respond(status: StatusCode, request_id: &str, body: Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("x-amzn-RequestId", request_id)
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("static response parts")
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

/// Emulates the Lambda processes dying: aborts every running invocation whose payload concerns
/// `resource`. Returns what was killed.
fn kill_invocations(gw: &Gateway, resource: &str) -> Vec<Value> {
    let inflight = gw.inflight.lock().expect("inflight lock");
    inflight
        .values()
        .filter(|inv| faults::contains_token(&inv.payload, resource))
        .map(|inv| {
            inv.abort.abort();
            tracing::warn!(
                function = inv.function,
                request_id = inv.request_id,
                resource,
                "fault: invocation killed"
            );
            json!({"function": inv.function, "request_id": inv.request_id})
        })
        .collect()
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

pub(crate) async fn run_handler(deps: &Deps, handler: Handler, payload: Value) -> Result<Value, ar_core::Error> {
    // One process hosts every handler here: each invocation gets its own handler's rule access
    // (as its Lambda function's cold start does), so each assumes its own member role.
    let deps = deps
        .clone()
        .with_rule_access(ar_handlers::generated::handler_permissions(handler).1);
    let result = invoke(&deps, handler, payload).await;
    match &result {
        Ok(_) => tracing::info!(handler = handler.name(), "invocation succeeded"),
        Err(e) => tracing::warn!(handler = handler.name(), error = e.name(), message = %e, "invocation failed"),
    }
    result
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

/// A request already read, to moto (through the fault injector and the corrections below).
pub(crate) async fn proxy_parts(gw: Arc<Gateway>, parts: http::request::Parts, body: Bytes) -> Response<Body> {
    let request_id = gw.request_id();
    let mut crash = None;
    if gw.faults.active() {
        if let Some(call) = Call::parse(&parts.method, &parts.uri, &parts.headers, &body) {
            let decision = gw.faults.decide(&call);
            if !decision.delay.is_zero() {
                tokio::time::sleep(decision.delay).await;
            }
            if let Some(effect) = decision.error {
                tracing::info!(
                    service = call.service,
                    operation = call.operation,
                    ?effect,
                    "fault: injected error"
                );
                let (status, headers, text) = faults::error_response(call.protocol, effect, &request_id);
                let mut resp = Response::builder().status(status);
                for (k, v) in headers {
                    resp = resp.header(k, v);
                }
                return resp.body(Full::new(Bytes::from(text))).expect("static response parts");
            }
            if decision.lost_write {
                // Answered as S3 answers a write that succeeded; moto never sees it.
                tracing::info!(
                    service = call.service,
                    operation = call.operation,
                    "fault: write answered but not applied"
                );
                return Response::builder()
                    .status(StatusCode::OK)
                    .header("x-amz-request-id", &request_id)
                    .header("x-amzn-RequestId", &request_id)
                    .header(http::header::CONTENT_LENGTH, 0)
                    .body(Full::new(Bytes::new()))
                    .expect("static response parts");
            }
            crash = decision.crash;
        }
    }
    let path_and_query = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let versioning_read = parts.method == Method::GET
        && parts
            .uri
            .query()
            .is_some_and(|q| q.split('&').any(|p| p == "versioning"));
    // Where moto's answer differs from AWS's, the answer AWS gives.
    let correct: Option<fn(Bytes) -> Bytes> = if versioning_read {
        Some(aws_shaped_versioning)
    } else if crate::kms_usage::concerns(&parts.headers) {
        Some(crate::kms_usage::aws_shaped)
    } else {
        None
    };
    let uri: http::Uri = match format!("{}{}", gw.moto, path_and_query).parse() {
        Ok(u) => u,
        Err(e) => return respond(StatusCode::BAD_REQUEST, &request_id, json!({"message": e.to_string()})),
    };
    let mut out = Request::builder()
        .method(parts.method)
        .uri(uri)
        .version(http::Version::HTTP_11);
    for (k, v) in parts.headers.iter() {
        out = out.header(k, v);
    }
    let held = gw.dynamodb_writes.hold(&parts.headers, &body).await;
    let out = match out.body(Full::new(body)) {
        Ok(r) => r,
        Err(e) => return respond(StatusCode::BAD_REQUEST, &request_id, json!({"message": e.to_string()})),
    };
    let resp = match gw.client.request(out).await {
        Ok(resp) => {
            let (parts, body) = resp.into_parts();
            match (body.collect().await, correct.filter(|_| parts.status.is_success())) {
                (Ok(b), Some(correct)) => {
                    let body = correct(b.to_bytes());
                    let mut parts = parts;
                    parts
                        .headers
                        .insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(body.len()));
                    Response::from_parts(parts, Full::new(body))
                }
                (Ok(b), None) => Response::from_parts(parts, Full::new(b.to_bytes())),
                (Err(e), _) => respond(
                    StatusCode::BAD_GATEWAY,
                    &request_id,
                    json!({"message": format!("moto: {e}")}),
                ),
            }
        }
        Err(e) => respond(
            StatusCode::BAD_GATEWAY,
            &request_id,
            json!({"message": format!("moto unreachable: {e}")}),
        ),
    };
    drop(held);
    if let Some(crash) = crash {
        // The write has happened; the processes that asked for it die before they see the answer.
        let killed = kill_invocations(&gw, &crash.resource);
        tracing::warn!(
            rule = crash.id,
            resource = crash.resource,
            killed = killed.len(),
            "fault: crash after write"
        );
        gw.faults.note_killed(&crash, killed);
    }
    resp
}

/// moto answers GetBucketVersioning for a bucket never versioned with a
/// `<GetBucketVersioningResponse/>` root, which the Rust SDK (rightly) cannot parse; AWS answers
/// an empty `<VersioningConfiguration/>`. The gateway gives what AWS gives.
fn aws_shaped_versioning(body: Bytes) -> Bytes {
    const MOTO: &[u8] = b"<GetBucketVersioningResponse ";
    match body.windows(MOTO.len()).position(|w| w == MOTO) {
        Some(_) => Bytes::from(
            String::from_utf8_lossy(&body)
                .replacen("<GetBucketVersioningResponse ", "<VersioningConfiguration ", 1)
                .replacen("</GetBucketVersioningResponse>", "</VersioningConfiguration>", 1),
        ),
        None => body,
    }
}

/// A path segment percent-decoded (`+` stays a `+`; a malformed escape stays as is).
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_empty_versioning_answer_gets_the_root_aws_gives() {
        let moto = bytes::Bytes::from_static(
            b"<?xml version=\"1.0\"?>\n<GetBucketVersioningResponse xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>",
        );
        let out = super::aws_shaped_versioning(moto);
        assert!(std::str::from_utf8(&out)
            .unwrap()
            .contains("<VersioningConfiguration xmlns="));
        let aws =
            bytes::Bytes::from_static(b"<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>");
        assert_eq!(super::aws_shaped_versioning(aws.clone()), aws);
    }

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
