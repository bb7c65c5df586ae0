//! The pages: each [`Outcome`] and [`RequestError`] as the HTML page (askama, `page.html`) with
//! its HTTP status. Nothing here reads or writes anything.

use ar_core::config::SigningKey;
use ar_core::Error;
use askama::Template;

use super::decide::{DecidedBy, Outcome};
use super::parse::RequestError;
use super::HttpResponse;
use crate::signing::{Action, LinkClaims};
use crate::status::ApprovalStatus;
use crate::{rfc3339, Details};

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

/// Where the confirm buttons post to, and the key that signs their fields.
pub struct Signer<'a> {
    pub base_url: &'a str,
    pub key: &'a SigningKey,
}

/// The two confirm buttons: the link's own action first, then the other one, each a form whose
/// fields are signed for its action.
fn buttons(signer: &Signer<'_>, claims: &LinkClaims) -> Vec<Button> {
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
                action_url: format!("{}/approvals/{}", signer.base_url, c.approval_id),
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
                        value: signer.key.kid().into(),
                    },
                    Field {
                        name: "sig".into(),
                        value: c.sign(signer.key),
                    },
                ],
            }
        })
        .collect()
}

/// The page refusing a request that is not well formed.
pub fn refused(error: &RequestError) -> HttpResponse {
    match error {
        RequestError::NotFound => refuse(404, "Not found", "There is no approval at this address."),
        RequestError::MethodNotAllowed => {
            let mut r = refuse(
                405,
                "Method not allowed",
                "Open the link from the e-mail, then confirm with the button.",
            );
            r.headers.push(("allow".into(), "GET, POST".into()));
            r
        }
        RequestError::BadForm(e) => refuse(
            400,
            "Malformed link",
            format!("This link is malformed ({e}). Open the link from the e-mail as it is."),
        ),
        RequestError::Incomplete => refuse(
            400,
            "Incomplete link",
            "This link is missing some of its parts. Open the link from the e-mail as it is.",
        ),
        RequestError::BadField => refuse(
            400,
            "Malformed link",
            "This link is malformed. Open the link from the e-mail as it is.",
        ),
    }
}

/// The page of a request that failed on the way (a store, live read or resume error): nothing was
/// decided, so the same link can be tried again.
pub fn failed(error: &Error) -> HttpResponse {
    refuse(
        502,
        "Something went wrong",
        format!(
            "The decision could not be processed ({}). Try again in a moment.",
            error.name()
        ),
    )
}

/// The page of an outcome; `details` is what it shows of the approval (for [`Outcome::view`]).
pub fn render(outcome: &Outcome, details: Option<Details>, signer: &Signer<'_>) -> HttpResponse {
    match outcome {
        Outcome::InvalidSignature => refuse(
            403,
            "Invalid link",
            "This link's signature does not match: it was altered or is not for this approval. Nothing was changed.",
        ),
        Outcome::LinkExpired { expires } => refuse(
            410,
            "Link expired",
            format!("This link expired at {}. Nothing was changed.", rfc3339(*expires)),
        ),
        Outcome::UnknownApproval => refuse(
            404,
            "Unknown approval",
            "There is no such approval (it may have been removed after its deadline).",
        ),
        Outcome::NoFindingsLeft => refuse(404, "Unknown approval", "This approval has no findings left."),
        Outcome::NotAnApprover => refuse(
            403,
            "Not an approver",
            "This address is not among the approvers of this fix. Nothing was changed.",
        ),
        Outcome::NoLongerAnApprover => refuse(
            403,
            "No longer an approver",
            "This address was an approver when the e-mail was sent, but is no longer in auto-remediate's configuration. Nothing was changed.",
        ),
        Outcome::AlreadyDecided { status, by, at } => {
            let who = match by {
                DecidedBy::You => "by you",
                DecidedBy::AnotherApprover => "by another approver",
                DecidedBy::Unknown => "earlier",
            };
            let when = at.as_deref().unwrap_or("earlier");
            let message = match status {
                ApprovalStatus::Expired => "This approval expired without a decision. Nothing was changed.".to_string(),
                status => format!(
                    "This approval was already decided ({status}) {who} at {when}. Only the first decision counts."
                ),
            };
            refuse(409, "Already decided", message)
        }
        Outcome::ApprovalExpired => refuse(
            410,
            "Approval expired",
            "The deadline for this decision has passed. Nothing was changed.",
        ),
        Outcome::NoLongerWaiting => refuse(
            410,
            "Approval expired",
            "The execution is no longer waiting for this decision (it timed out or was stopped). Nothing was changed.",
        ),
        Outcome::Confirm { claims, view } => {
            let verb = match claims.action {
                Action::Approve => "approve",
                Action::Reject => "reject",
            };
            let what = match view.records.as_slice() {
                [one] => format!("the fix of {}", one.finding.rule_id),
                many => format!("{} fixes", many.len()),
            };
            let resource = view.records.first().map(|r| r.finding.resource.as_str()).unwrap_or("?");
            page(
                200,
                &format!("Confirm: {verb} {what} on {resource}"),
                "info",
                format!(
                    "You are {}. Nothing has changed yet: confirm with a button below. Only the first decision counts.",
                    claims.approver
                ),
                details,
                buttons(signer, claims),
            )
        }
        Outcome::Decided {
            approver,
            decided_at,
            decisions,
            executions,
            ..
        } => {
            let all = |s: ApprovalStatus| decisions.iter().all(|d| *d == s);
            let (heading, kind, message) = if all(ApprovalStatus::Rejected) {
                ("Rejected", "ok", "Rejected. Nothing will be changed.")
            } else if all(ApprovalStatus::AlreadyCompliant) {
                ("Already compliant", "info", "The resource already passes the rule, so nothing will be applied. The execution ends as already compliant.")
            } else if all(ApprovalStatus::ResourceGone) {
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
            page(
                200,
                heading,
                kind,
                format!(
                    "{message} Decided by {approver} at {decided_at}. Execution: {}",
                    executions.join(", ")
                ),
                details,
                Vec::new(),
            )
        }
    }
}

#[cfg(test)]
#[path = "pages_tests.rs"]
mod tests;
