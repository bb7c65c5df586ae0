//! The approval pages. `GET /approvals/{id}?approver&action&expires&sig` shows the finding, the
//! plan and the confirm buttons and changes nothing; `POST` to the same path with those fields as
//! a form decides. Every refusal is a page with the right HTTP status, and changes nothing.

use ar_core::deps::Deps;
use ar_core::rules::{self, Tags};
use ar_core::Error;
use askama::Template;
use serde_json::{json, Value};

use crate::signing::{parse_form, Action, LinkClaims};
use crate::store::{ApprovalRecord, Store};
use crate::{dynamodb, now_epoch, rfc3339, Details, Gate};

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

pub struct Field {
    pub name: String,
    pub value: String,
}

pub struct Button {
    pub id: &'static str,
    pub label: String,
    pub action_url: String,
    pub fields: Vec<Field>,
}

#[derive(Template)]
#[template(path = "page.html")]
struct Page {
    title: String,
    heading: String,
    kind: &'static str,
    message: String,
    details: Option<Details>,
    forms: Vec<Button>,
}

fn page(
    status: u16,
    heading: &str,
    kind: &'static str,
    message: String,
    details: Option<Details>,
    forms: Vec<Button>,
) -> HttpResponse {
    let body = Page {
        title: heading.to_string(),
        heading: heading.to_string(),
        kind,
        message,
        details,
        forms,
    }
    .render()
    .unwrap_or_else(|_| "auto-remediate: the page could not be rendered".into());
    HttpResponse {
        status,
        headers: vec![
            ("content-type".into(), "text/html; charset=utf-8".into()),
            ("cache-control".into(), "no-store".into()),
            ("referrer-policy".into(), "no-referrer".into()),
            ("x-frame-options".into(), "DENY".into()),
            (
                "content-security-policy".into(),
                "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'".into(),
            ),
        ],
        body,
    }
}

fn refuse(status: u16, heading: &str, message: impl Into<String>) -> HttpResponse {
    page(status, heading, "error", message.into(), None, Vec::new())
}

/// The checked claims of a request, or the page that refuses it.
fn claims(
    approval_id: &str,
    fields: &[(String, String)],
    gate: &Gate<'_>,
    now: u64,
) -> Result<(LinkClaims, String), HttpResponse> {
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let (Some(approver), Some(action), Some(expires), Some(kid), Some(sig)) =
        (get("approver"), get("action"), get("expires"), get("kid"), get("sig"))
    else {
        return Err(refuse(
            400,
            "Incomplete link",
            "This link is missing some of its parts. Open the link from the e-mail as it is.",
        ));
    };
    let (Some(action), Ok(expires)) = (Action::parse(action), expires.parse::<u64>()) else {
        return Err(refuse(
            400,
            "Malformed link",
            "This link is malformed. Open the link from the e-mail as it is.",
        ));
    };
    let claims = LinkClaims {
        approval_id: approval_id.to_string(),
        approver: approver.to_string(),
        action,
        expires,
    };
    if !claims.verify(&gate.keys, kid, sig) {
        return Err(refuse(
            403,
            "Invalid link",
            "This link's signature does not match: it was altered or is not for this approval. Nothing was changed.",
        ));
    }
    if now >= expires {
        return Err(refuse(
            410,
            "Link expired",
            format!("This link expired at {}. Nothing was changed.", rfc3339(expires)),
        ));
    }
    Ok((claims, sig.to_string()))
}

fn buttons(gate: &Gate<'_>, claims: &LinkClaims) -> Vec<Button> {
    [claims.action, claims.action.other()]
        .into_iter()
        .map(|action| {
            let c = LinkClaims {
                action,
                ..claims.clone()
            };
            Button {
                id: action.as_str(),
                label: match action {
                    Action::Approve => "Approve and apply the fix".into(),
                    Action::Reject => "Reject: change nothing".into(),
                },
                action_url: format!("{}/approvals/{}", gate.base_url, c.approval_id),
                fields: vec![
                    Field {
                        name: "approver".into(),
                        value: c.approver.clone(),
                    },
                    Field {
                        name: "action".into(),
                        value: action.as_str().into(),
                    },
                    Field {
                        name: "expires".into(),
                        value: c.expires.to_string(),
                    },
                    Field {
                        name: "kid".into(),
                        value: gate.key().kid().into(),
                    },
                    Field {
                        name: "sig".into(),
                        value: c.sign(gate.key()),
                    },
                ],
            }
        })
        .collect()
}

/// The page for a decision made earlier: who decided is named only to that approver themselves
/// (a link can be forwarded; other approvers' addresses are not its reader's business).
fn already_decided(record: &ApprovalRecord, reader: &str) -> HttpResponse {
    let who = match record.decided_by.as_deref() {
        Some(by) if by == reader => "by you",
        Some(_) => "by another approver",
        None => "earlier",
    };
    let when = record.decided_at.as_deref().unwrap_or("earlier");
    let message = match record.status.as_str() {
        "expired" => "This approval expired without a decision. Nothing was changed.".to_string(),
        status => {
            format!("This approval was already decided ({status}) {who} at {when}. Only the first decision counts.")
        }
    };
    refuse(409, "Already decided", message)
}

/// Serves one request to the approval pages.
pub async fn handle(deps: &Deps, req: HttpRequest) -> HttpResponse {
    match serve(deps, req).await {
        Ok(resp) => resp,
        Err(e) => {
            tracing::warn!(error = e.name(), message = %e, "approval page failed");
            refuse(
                502,
                "Something went wrong",
                format!(
                    "The decision could not be processed ({}). Try again in a moment.",
                    e.name()
                ),
            )
        }
    }
}

async fn serve(deps: &Deps, req: HttpRequest) -> Result<HttpResponse, Error> {
    let gate = Gate::load(deps).await?;
    let Some(approval_id) = req
        .path
        .strip_prefix("/approvals/")
        .filter(|id| id.len() == 32 && id.bytes().all(|c| c.is_ascii_hexdigit()))
    else {
        return Ok(refuse(404, "Not found", "There is no approval at this address."));
    };
    let form = match req.method.as_str() {
        "GET" | "HEAD" => parse_form(&req.query),
        "POST" => parse_form(&req.body),
        _ => {
            let mut r = refuse(
                405,
                "Method not allowed",
                "Open the link from the e-mail, then confirm with the button.",
            );
            r.headers.push(("allow".into(), "GET, POST".into()));
            return Ok(r);
        }
    };
    let fields = match form {
        Ok(fields) => fields,
        Err(e) => {
            return Ok(refuse(
                400,
                "Malformed link",
                format!("This link is malformed ({e}). Open the link from the e-mail as it is."),
            ))
        }
    };
    let now = now_epoch();
    let (claims, _) = match claims(approval_id, &fields, &gate, now) {
        Ok(c) => c,
        Err(page) => return Ok(page),
    };
    let ddb = dynamodb(deps);
    let store = Store {
        client: &ddb,
        table: gate.table,
    };
    let Some(batch) = store
        .batch(approval_id)
        .await?
        .filter(|b| b.status == "sending" || b.status == "sent")
    else {
        return Ok(refuse(
            404,
            "Unknown approval",
            "There is no such approval (it may have been removed after its deadline).",
        ));
    };
    let records = store.members(&batch).await?;
    let Some(first) = records.first().cloned() else {
        return Ok(refuse(404, "Unknown approval", "This approval has no findings left."));
    };
    // One resource per batch; its executions (one per finding), its rules.
    let joined =
        |f: &dyn Fn(&crate::store::ApprovalRecord) -> String| records.iter().map(f).collect::<Vec<_>>().join(",");
    ar_core::logs::record(
        Some(&joined(&|r| {
            ar_core::state::execution_name(&r.execution_arn).to_string()
        })),
        Some(&joined(&|r| r.finding.rule_id.clone())),
        Some(&first.finding.resource),
    );
    if !first.approvers.contains(&claims.approver) {
        return Ok(refuse(
            403,
            "Not an approver",
            "This address is not among the approvers of this fix. Nothing was changed.",
        ));
    }
    // The approvers as configured now: an address removed since the e-mail went out decides nothing.
    if !deps.settings.config.approval.approvers.contains(&claims.approver) {
        tracing::warn!(
            batch_id = batch.batch_id,
            "a link of an address no longer among the configured approvers was refused"
        );
        return Ok(refuse(
            403,
            "No longer an approver",
            "This address was an approver when the e-mail was sent, but is no longer in auto-remediate's configuration. Nothing was changed.",
        ));
    }
    if records.iter().all(|r| r.status != "pending") {
        return Ok(already_decided(&first, &claims.approver));
    }
    let deadline = batch.deadline.unwrap_or(first.deadline);
    if now >= deadline {
        for r in &records {
            store.expire(&r.approval_id).await?;
        }
        return Ok(refuse(
            410,
            "Approval expired",
            "The deadline for this decision has passed. Nothing was changed.",
        ));
    }
    let combined = batch.combined.clone().unwrap_or_default();
    let details = || Some(Details::of(deps, &records, &combined, deadline));
    if req.method != "POST" {
        let verb = match claims.action {
            Action::Approve => "approve",
            Action::Reject => "reject",
        };
        let what = match records.as_slice() {
            [one] => format!("the fix of {}", one.finding.rule_id),
            many => format!("{} fixes", many.len()),
        };
        return Ok(page(
            200,
            &format!("Confirm: {verb} {what} on {}", first.finding.resource),
            "info",
            format!(
                "You are {}. Nothing has changed yet: confirm with a button below. Only the first decision counts.",
                claims.approver
            ),
            details(),
            buttons(&gate, &claims),
        ));
    }

    // POST: decide every finding still pending. For an approval, look at the live resource first.
    let decided_at = rfc3339(now);
    let mut decisions = Vec::new();
    let mut failure = None;
    for record in records.iter().filter(|r| r.status == "pending") {
        let decision = match claims.action {
            Action::Reject => "rejected",
            Action::Approve => {
                let spec = deps.catalog.require(&record.finding.rule_id)?;
                let clients = deps.ctx(&record.finding, spec).await?;
                match rules::inspect(&clients, spec, &record.finding, Tags::Skip).await? {
                    Some(live) if live.compliant() => "already-compliant",
                    Some(_) => "approved",
                    None => "resource-gone",
                }
            }
        };
        if !store
            .decide(
                &record.approval_id,
                decision,
                &claims.approver,
                &decided_at,
                now,
                &combined.removes,
            )
            .await?
        {
            continue; // someone else decided this one first
        }
        let output = json!({
            "decision": decision,
            "approver": claims.approver,
            "decided_at": decided_at,
            "approval_id": record.approval_id,
            "batch_id": batch.batch_id,
            "approved_removes": combined.removes,
        });
        match deps
            .aws
            .sfn()
            .send_task_success()
            .task_token(&record.token)
            .output(output.to_string())
            .send()
            .await
        {
            Ok(_) => decisions.push(decision),
            Err(e) => {
                let err = Error::from_sdk("states:SendTaskSuccess", e);
                if matches!(
                    err.aws_code(),
                    Some("TaskTimedOut") | Some("InvalidToken") | Some("TaskDoesNotExist")
                ) {
                    // The execution stopped waiting: the record must not say it was decided.
                    store.undecide(&record.approval_id, decision, &claims.approver).await?;
                    store.expire(&record.approval_id).await?;
                } else {
                    // Not resumed: take the decision back, so the same link can simply be retried.
                    store.undecide(&record.approval_id, decision, &claims.approver).await?;
                    failure = Some(err);
                }
            }
        }
    }
    if let Some(err) = failure {
        return Err(err);
    }
    if decisions.is_empty() {
        let latest = store.get(&first.approval_id).await?.unwrap_or(first);
        return Ok(match latest.status.as_str() {
            "expired" => refuse(410, "Approval expired", "The execution is no longer waiting for this decision (it timed out or was stopped). Nothing was changed."),
            _ => already_decided(&latest, &claims.approver),
        });
    }
    tracing::info!(batch_id = batch.batch_id, decisions = ?decisions, approver = claims.approver, "approval decided");
    let (heading, kind, message) = if decisions.iter().all(|d| *d == "rejected") {
        ("Rejected", "ok", "Rejected. Nothing will be changed.")
    } else if decisions.iter().all(|d| *d == "already-compliant") {
        ("Already compliant", "info", "The resource already passes the rule, so nothing will be applied. The execution ends as already compliant.")
    } else if decisions.iter().all(|d| *d == "resource-gone") {
        (
            "Resource gone",
            "info",
            "The resource no longer exists, so nothing will be applied.",
        )
    } else {
        (
            "Approved",
            "ok",
            "Approved. The fix is being applied now and will be verified against the live resource.",
        )
    };
    let executions: Vec<&str> = records.iter().map(|r| r.execution_arn.as_str()).collect();
    Ok(page(
        200,
        heading,
        kind,
        format!(
            "{message} Decided by {} at {decided_at}. Execution: {}",
            claims.approver,
            executions.join(", ")
        ),
        details(),
        Vec::new(),
    ))
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
