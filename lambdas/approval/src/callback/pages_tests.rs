//! Each outcome's page: its status, its words, its buttons, and what it never shows.

use ar_core::config::{KeyRing, SigningKey};
use serde_json::json;

use super::*;
use crate::callback::decide::View;
use crate::signing::{parse_form, FormError};
use crate::store::ApprovalRecord;
use crate::Combined;

const BATCH: &str = "0123456789abcdef0123456789abcdef";

fn key() -> SigningKey {
    SigningKey::new(vec![7u8; 32]).unwrap()
}

fn render_with(outcome: &Outcome, details: Option<Details>) -> HttpResponse {
    let key = key();
    render(
        outcome,
        details,
        &Signer {
            base_url: "https://approvals.example",
            key: &key,
        },
    )
}

fn header<'a>(resp: &'a HttpResponse, name: &str) -> Option<&'a str> {
    resp.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// The banner's text, as the browser tests read it (`#status`).
fn banner(resp: &HttpResponse) -> &str {
    let start = resp.body.find("id=\"status\">").expect("a banner") + "id=\"status\">".len();
    let end = start + resp.body[start..].find("</div>").unwrap();
    &resp.body[start..end]
}

fn heading(resp: &HttpResponse) -> &str {
    let start = resp.body.find("<h1>").unwrap() + 4;
    let end = resp.body.find("</h1>").unwrap();
    &resp.body[start..end]
}

fn record(n: u8, rule_id: &str) -> ApprovalRecord {
    let finding = json!({
        "source": "conformity", "check_id": format!("ccc:{rule_id}"), "rule_id": rule_id,
        "service": "EC2", "status": "FAILURE", "account_id": "123456789012", "region": "us-east-1",
        "reported_region": "us-east-1", "resource": "sg-0123",
    });
    let plan = json!({
        "rule_id": rule_id, "resource": "sg-0123", "region": "us-east-1",
        "summary": "revoke 1 rule", "changes": [], "steps": [],
    });
    ApprovalRecord {
        approval_id: format!("record-{n}"),
        token: format!("secret-token-{n}"),
        execution_arn: format!("arn:aws:states:us-east-1:123456789012:execution:sm:run-{n}"),
        finding: serde_json::from_value(finding).unwrap(),
        plan: serde_json::from_value(plan).unwrap(),
        rule_title: "Unrestricted SSH Access".into(),
        offending: Vec::new(),
        approvers: vec!["alice@example.com".into()],
        deadline: 1_800_003_600,
        status: ApprovalStatus::Pending,
        decided_by: None,
        decided_at: None,
    }
}

fn view(records: Vec<ApprovalRecord>) -> View {
    View {
        records,
        combined: Combined::default(),
        deadline: 1_800_003_600,
    }
}

fn details() -> Details {
    Details {
        rule_id: "EC2-002".into(),
        rule_title: "Unrestricted SSH Access".into(),
        risk: "HIGH".into(),
        resource: "sg-0123".into(),
        account: "123456789012".into(),
        region: "us-east-1".into(),
        message: None,
        summary: "revoke 1 rule".into(),
        findings: Vec::new(),
        steps: vec!["revoke ingress tcp 22 from 0.0.0.0/0".into()],
        cannot_keep: Vec::new(),
        untouched: Vec::new(),
        offending: vec!["tcp 22 from 0.0.0.0/0".into()],
        deadline: "2027-01-15T09:00:00Z".into(),
    }
}

fn claims(action: Action) -> LinkClaims {
    LinkClaims {
        approval_id: BATCH.into(),
        approver: "alice@example.com".into(),
        action,
        expires: 1_800_003_600,
    }
}

#[test]
fn every_page_is_uncached_unframed_and_sends_no_referrer() {
    for resp in [
        render_with(&Outcome::InvalidSignature, None),
        refused(&RequestError::NotFound),
        failed(&Error::InvalidInput("x".into())),
    ] {
        assert_eq!(header(&resp, "content-type"), Some("text/html; charset=utf-8"));
        assert_eq!(header(&resp, "cache-control"), Some("no-store"));
        assert_eq!(header(&resp, "referrer-policy"), Some("no-referrer"));
        assert_eq!(header(&resp, "x-frame-options"), Some("DENY"));
        assert!(header(&resp, "content-security-policy")
            .unwrap()
            .contains("frame-ancestors 'none'"));
    }
}

#[test]
fn each_refused_request_has_its_status_and_heading() {
    let cases = [
        (RequestError::NotFound, 404, "Not found"),
        (RequestError::MethodNotAllowed, 405, "Method not allowed"),
        (RequestError::BadForm(FormError::BadEncoding), 400, "Malformed link"),
        (RequestError::Incomplete, 400, "Incomplete link"),
        (RequestError::BadField, 400, "Malformed link"),
    ];
    for (error, status, title) in cases {
        let resp = refused(&error);
        assert_eq!((resp.status, heading(&resp)), (status, title), "{error:?}");
    }
    assert_eq!(
        header(&refused(&RequestError::MethodNotAllowed), "allow"),
        Some("GET, POST")
    );
    assert_eq!(
        banner(&refused(&RequestError::BadForm(FormError::Duplicate("sig")))),
        "This link is malformed (the field `sig` is given more than once). Open the link from the e-mail as it is."
    );
}

#[test]
fn each_refusing_outcome_has_its_status_and_says_nothing_was_changed() {
    let cases = [
        (Outcome::InvalidSignature, 403, "Invalid link"),
        (Outcome::LinkExpired { expires: 1_800_000_000 }, 410, "Link expired"),
        (Outcome::NotAnApprover, 403, "Not an approver"),
        (Outcome::NoLongerAnApprover, 403, "No longer an approver"),
        (Outcome::ApprovalExpired, 410, "Approval expired"),
        (Outcome::NoLongerWaiting, 410, "Approval expired"),
    ];
    for (outcome, status, title) in cases {
        let resp = render_with(&outcome, None);
        assert_eq!((resp.status, heading(&resp)), (status, title), "{outcome:?}");
        assert!(banner(&resp).ends_with("Nothing was changed."), "{}", banner(&resp));
        assert!(!resp.body.contains("<form"), "{outcome:?}");
    }
    assert_eq!(render_with(&Outcome::UnknownApproval, None).status, 404);
    assert_eq!(render_with(&Outcome::NoFindingsLeft, None).status, 404);
    assert!(
        banner(&render_with(&Outcome::LinkExpired { expires: 1_800_000_000 }, None)).contains("2027-01-15T08:00:00Z")
    );
}

#[test]
fn an_earlier_decision_names_its_decider_only_to_that_approver() {
    let page = |status, by| {
        render_with(
            &Outcome::AlreadyDecided {
                status,
                by,
                at: Some("2027-01-15T08:00:00Z".into()),
            },
            None,
        )
    };
    let mine = page(ApprovalStatus::Approved, DecidedBy::You);
    assert_eq!((mine.status, heading(&mine)), (409, "Already decided"));
    assert_eq!(
        banner(&mine),
        "This approval was already decided (approved) by you at 2027-01-15T08:00:00Z. Only the first decision counts."
    );
    let theirs = page(ApprovalStatus::AlreadyCompliant, DecidedBy::AnotherApprover);
    assert_eq!(
        banner(&theirs),
        "This approval was already decided (already-compliant) by another approver at 2027-01-15T08:00:00Z. Only the first decision counts."
    );
    assert_eq!(
        banner(&page(ApprovalStatus::Expired, DecidedBy::Unknown)),
        "This approval expired without a decision. Nothing was changed."
    );
    let unknown = render_with(
        &Outcome::AlreadyDecided {
            status: ApprovalStatus::Rejected,
            by: DecidedBy::Unknown,
            at: None,
        },
        None,
    );
    assert!(banner(&unknown).contains("(rejected) earlier at earlier"));
}

#[test]
fn the_confirmation_shows_the_plan_and_two_buttons_whose_forms_are_signed_for_their_action() {
    let outcome = Outcome::Confirm {
        claims: claims(Action::Reject),
        view: view(vec![record(1, "EC2-002")]),
    };
    let resp = render_with(&outcome, Some(details()));
    assert_eq!(resp.status, 200);
    assert_eq!(heading(&resp), "Confirm: reject the fix of EC2-002 on sg-0123");
    assert!(banner(&resp).starts_with("You are alice@example.com. Nothing has changed yet"));
    assert!(resp.body.contains("revoke ingress tcp 22 from 0.0.0.0/0"));
    assert!(resp.body.contains("2027-01-15T09:00:00Z"), "the deadline");
    // The link's own action first, each button a form posting its own signed fields.
    let reject = resp.body.find("id=\"reject\"").unwrap();
    let approve = resp.body.find("id=\"approve\"").unwrap();
    assert!(reject < approve);
    let forms: Vec<&str> = resp.body.split("<form ").skip(1).collect();
    assert_eq!(forms.len(), 2);
    let ring = KeyRing::new(key(), []);
    for (form, action) in forms.iter().zip([Action::Reject, Action::Approve]) {
        assert!(form.starts_with(&format!(
            "method=\"post\" action=\"https://approvals.example/approvals/{BATCH}\""
        )));
        let fields: Vec<(String, String)> = form
            .split("<input type=\"hidden\" ")
            .skip(1)
            .map(|input| {
                let attr = |a: &str| {
                    let start = input.find(&format!("{a}=\"")).unwrap() + a.len() + 2;
                    input[start..start + input[start..].find('"').unwrap()].replace("&#64;", "@")
                };
                (attr("name"), attr("value"))
            })
            .collect();
        let body: Vec<String> = fields
            .iter()
            .map(|(n, v)| format!("{n}={}", crate::signing::url_encode(v)))
            .collect();
        let posted = parse_form(&body.join("&")).unwrap();
        let get = |k: &str| posted.iter().find(|(n, _)| n == k).unwrap().1.clone();
        assert_eq!(get("action"), action.as_str());
        assert!(claims(action).verify(&ring, &get("kid"), &get("sig")), "{action:?}");
    }
    assert!(!resp.body.contains("secret-token"), "never the task token");
}

#[test]
fn a_batch_is_confirmed_as_its_number_of_fixes() {
    let outcome = Outcome::Confirm {
        claims: claims(Action::Approve),
        view: view(vec![record(1, "EC2-002"), record(2, "EC2-003")]),
    };
    assert_eq!(
        heading(&render_with(&outcome, Some(details()))),
        "Confirm: approve 2 fixes on sg-0123"
    );
}

#[test]
fn a_decision_page_says_what_happens_next_by_who_and_when_with_no_buttons() {
    let decided = |decisions: Vec<ApprovalStatus>| Outcome::Decided {
        approver: "alice@example.com".into(),
        decided_at: "2027-01-15T08:00:00Z".into(),
        decisions,
        executions: vec!["arn:run-1".into(), "arn:run-2".into()],
        view: view(vec![record(1, "EC2-002")]),
    };
    let cases = [
        (
            vec![ApprovalStatus::Rejected],
            "Rejected",
            "Rejected. Nothing will be changed.",
        ),
        (
            vec![ApprovalStatus::AlreadyCompliant],
            "Already compliant",
            "The resource already passes the rule",
        ),
        (
            vec![ApprovalStatus::ResourceGone, ApprovalStatus::ResourceGone],
            "Resource gone",
            "The resource no longer exists",
        ),
        (
            vec![ApprovalStatus::Approved],
            "Approved",
            "Approved. The fix is being applied now",
        ),
        (
            vec![ApprovalStatus::AlreadyCompliant, ApprovalStatus::Approved],
            "Approved",
            "Approved.",
        ),
    ];
    for (decisions, title, says) in cases {
        let resp = render_with(&decided(decisions.clone()), Some(details()));
        assert_eq!((resp.status, heading(&resp)), (200, title), "{decisions:?}");
        assert!(banner(&resp).starts_with(says), "{}", banner(&resp));
        assert!(
            banner(&resp)
                .ends_with("Decided by alice@example.com at 2027-01-15T08:00:00Z. Execution: arn:run-1, arn:run-2"),
            "{}",
            banner(&resp)
        );
        assert!(!resp.body.contains("<form"));
    }
}

#[test]
fn what_an_approver_or_the_scanner_wrote_is_escaped() {
    let mut c = claims(Action::Approve);
    c.approver = "<script>alert(1)</script>@example.com".into();
    let mut d = details();
    d.message = Some("<img src=x onerror=alert(1)>".into());
    let resp = render_with(
        &Outcome::Confirm {
            claims: c,
            view: view(vec![record(1, "EC2-002")]),
        },
        Some(d),
    );
    assert!(!resp.body.contains("<script>"));
    assert!(!resp.body.contains("<img"));
}

#[test]
fn a_failure_on_the_way_names_the_error_and_asks_to_try_again() {
    let resp = failed(&Error::Aws {
        operation: "states:SendTaskSuccess",
        code: "ThrottlingException".into(),
        message: "slow down".into(),
    });
    assert_eq!((resp.status, heading(&resp)), (502, "Something went wrong"));
    assert!(banner(&resp).ends_with("Try again in a moment."));
    assert!(!resp.body.contains("slow down"), "the error's name, not its text");
}
