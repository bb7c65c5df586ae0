//! The gateway's state and its way to moto: what every connection shares ([`Gateway`]: the
//! hosted handlers' dependencies, the invocations in flight, the faults, the EventBridge targets
//! it hosts), the proxy to moto through the fault injector (`faults.rs`), and the replies and
//! handler runs every route uses. The routes themselves are `routes.rs`; the services moto lacks
//! (`eventbridge.rs`, `securityhub.rs`) stand between the two.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use ar_core::deps::Deps;
use ar_handlers::{invoke, Handler};

use crate::faults::{self, Call, Faults};
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};

pub type Body = Full<Bytes>;

const KEEP_DELIVERIES: usize = 5000;

/// State shared by every connection.
pub struct Gateway {
    pub deps: tokio::sync::OnceCell<Deps>,
    pub moto: String,
    client: Client<HttpConnector, Body>,
    pub(crate) deliveries: Mutex<VecDeque<Value>>,
    /// The handlers' EMF metrics, summed (`GET /_local/metrics`).
    pub metrics: crate::metrics::Metrics,
    pub(crate) request_ids: AtomicU64,
    pub faults: Faults,
    /// The Lambda invocations running now, so a crash rule can kill those concerning its resource.
    pub(crate) inflight: Mutex<HashMap<u64, InFlight>>,
    /// One DynamoDB write per item reaches moto at a time, as DynamoDB makes each atomic.
    dynamodb_writes: crate::ddb_locks::WriteLocks,
    /// EventBridge rules' targets that are functions hosted here (moto cannot deliver to them).
    pub(crate) lambda_targets: HostedTargets,
}

pub(crate) struct InFlight {
    pub(crate) function: String,
    pub(crate) request_id: String,
    pub(crate) payload: String,
    pub(crate) abort: tokio::task::AbortHandle,
}

/// Removes an invocation from the registry when it ends, however it ends; aborts it when the
/// caller goes away (as dropping the future did before invocations ran in their own task).
pub(crate) struct Registered {
    pub(crate) gw: Arc<Gateway>,
    pub(crate) key: u64,
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

    pub(crate) fn request_id(&self) -> String {
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

pub(crate) fn respond(status: StatusCode, request_id: &str, body: Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("x-amzn-RequestId", request_id)
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("static response parts")
}

/// Emulates the Lambda processes dying: aborts every running invocation whose payload concerns
/// `resource`. Returns what was killed.
pub(crate) fn kill_invocations(gw: &Gateway, resource: &str) -> Vec<Value> {
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

/// One hosted Lambda target of a rule: the rule's region, bus and name, and the target as
/// EventBridge lists it (`Id`, `Arn`, optional `Input`).
#[derive(Debug, Clone, PartialEq)]
struct HostedTarget {
    region: String,
    bus: String,
    rule: String,
    target: Value,
}

/// The rules' targets that are functions this gateway hosts.
#[derive(Default)]
pub struct HostedTargets {
    list: Mutex<Vec<HostedTarget>>,
}

impl HostedTargets {
    /// Adds or replaces (by `Id`) a target of the rule.
    pub fn put(&self, region: &str, bus: &str, rule: &str, target: Value) {
        let mut list = self.list.lock().expect("hosted targets");
        list.retain(|t| !(t.region == region && t.bus == bus && t.rule == rule && t.target["Id"] == target["Id"]));
        list.push(HostedTarget {
            region: region.into(),
            bus: bus.into(),
            rule: rule.into(),
            target,
        });
    }

    /// Removes the rule's targets of these ids; the ids it did not hold.
    pub fn remove(&self, region: &str, bus: &str, rule: &str, ids: &[String]) -> Vec<String> {
        let mut list = self.list.lock().expect("hosted targets");
        let mut missing = Vec::new();
        for id in ids {
            let before = list.len();
            list.retain(|t| !(t.region == region && t.bus == bus && t.rule == rule && t.target["Id"] == id.as_str()));
            if list.len() == before {
                missing.push(id.clone());
            }
        }
        missing
    }

    /// The rule's hosted targets.
    pub fn of(&self, region: &str, bus: &str, rule: &str) -> Vec<Value> {
        self.list
            .lock()
            .expect("hosted targets")
            .iter()
            .filter(|t| t.region == region && t.bus == bus && t.rule == rule)
            .map(|t| t.target.clone())
            .collect()
    }
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
}
