//! The approval pages. `GET /approvals/{id}?approver&action&expires&sig` shows the finding, the
//! plan and the confirm buttons and changes nothing; `POST` to the same path with those fields as
//! a form decides. Every refusal is a page with the right HTTP status, and changes nothing.
//!
//! By concern, each tested on its own: [`parse`] (route, method and fields into a typed request),
//! [`decide`] (what the request leads to, behind the store, clock, live-read and resume ports),
//! [`pages`] (each outcome as its page) and [`live`] (those ports on AWS). This module only wires
//! them together.

mod decide;
mod live;
mod pages;
pub(crate) mod parse;

use ar_core::deps::Deps;
use ar_core::Error;
use serde_json::Value;

use crate::store::Store;
use crate::{dynamodb, Details, Gate};
use decide::{Policy, Ports};
use live::{LiveResources, StepFunctions, SystemClock};

/// An HTTP request, whether from API Gateway or the local stack.
#[derive(Debug, Clone, Default)]
pub struct HttpRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub body: String,
}

#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// Serves one request to the approval pages.
pub async fn handle(deps: &Deps, req: HttpRequest) -> HttpResponse {
    match serve(deps, req).await {
        Ok(resp) => resp,
        Err(e) => {
            tracing::warn!(error = e.name(), message = %e, "approval page failed");
            pages::failed(&e)
        }
    }
}

async fn serve(deps: &Deps, req: HttpRequest) -> Result<HttpResponse, Error> {
    let gate = Gate::load(deps).await?;
    let request = match parse::parse(&req) {
        Ok(request) => request,
        Err(refused) => return Ok(pages::refused(&refused)),
    };
    let ddb = dynamodb(deps);
    let store = Store {
        client: &ddb,
        table: gate.table,
    };
    let ports = Ports {
        store: &store,
        clock: &SystemClock,
        inspect: &LiveResources(deps),
        resume: &StepFunctions(deps),
    };
    let policy = Policy {
        keys: &gate.keys,
        approvers: &deps.settings.config.approval.approvers,
    };
    let outcome = decide::decide(&ports, &policy, &request).await?;
    let details = outcome
        .view()
        .map(|v| Details::of(deps, &v.records, &v.combined, v.deadline));
    let signer = pages::Signer {
        base_url: gate.base_url,
        key: gate.key(),
    };
    Ok(pages::render(&outcome, details, &signer))
}

/// An API Gateway HTTP API (payload format 2.0) event in, its response out: how the approval
/// pages are served on AWS, and on the local stack (its gateway wraps each request the same way).
pub async fn handle_apigw(deps: &Deps, event: Value) -> Result<Value, Error> {
    use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
    use aws_lambda_events::encodings::Body;
    use base64::Engine;

    let event: ApiGatewayV2httpRequest = serde_json::from_value(event)
        .map_err(|e| Error::InvalidInput(format!("not an API Gateway HTTP API event: {e}")))?;
    let raw_body = event.body.unwrap_or_default();
    let body = if event.is_base64_encoded {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(raw_body.trim())
            .map_err(|_| Error::InvalidInput("the body is not base64".into()))?;
        String::from_utf8(bytes).map_err(|_| Error::InvalidInput("the body is not UTF-8".into()))?
    } else {
        raw_body
    };
    let resp = handle(
        deps,
        HttpRequest {
            method: event.request_context.http.method.as_str().to_string(),
            path: event.raw_path.unwrap_or_else(|| "/".into()),
            query: event.raw_query_string.unwrap_or_default(),
            body,
        },
    )
    .await;
    let mut out = ApiGatewayV2httpResponse::default();
    out.status_code = resp.status as i64;
    for (k, v) in resp.headers {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::try_from(k.as_str()),
            http::HeaderValue::try_from(v.as_str()),
        ) {
            out.headers.insert(name, value);
        }
    }
    out.body = Some(Body::Text(resp.body));
    serde_json::to_value(out).map_err(|e| Error::InvalidInput(format!("response: {e}")))
}
