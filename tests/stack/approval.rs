//! The approval gate end to end: e-mails in the outbox, links followed over HTTP, the execution
//! resumed, and the security group re-read.

use std::time::{Duration, Instant};

use ar_approval::signing::{Action, LinkClaims};
use ar_core::config::SigningKey;
use ar_tests::{http, stack_dir, Stack};

use crate::ec2::{allow, group, ingress};

pub struct Link {
    pub approver: String,
    pub approve: String,
    pub reject: String,
}

pub struct Gated {
    pub sg: String,
    pub execution: String,
    pub links: Vec<Link>,
}

/// Opens `port` to the world on a new group, publishes `rule_id`, and waits for the e-mails.
pub async fn gated(stack: &Stack, rule_id: &str, port: i32) -> Gated {
    let sg = group(stack).await;
    allow(stack, &sg, "tcp", port, port, "0.0.0.0/0", "world").await;
    allow(stack, &sg, "tcp", port, port, "10.0.0.0/8", "office").await;
    let message = stack.message(rule_id, &sg);
    let execution = stack.execution_name(&message);
    stack.watch_outcome(&execution).await;
    stack.publish(&message.to_string()).await;
    let start = Instant::now();
    loop {
        let links = links_for(stack, &sg);
        if links.len() == 2 {
            return Gated { sg, execution, links };
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no approval e-mails for {sg}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The links of every e-mail in the outbox about `resource`, from the plain-text part.
pub fn links_for(stack: &Stack, resource: &str) -> Vec<Link> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir(outbox(stack)) else {
        return out;
    };
    for entry in dir.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("eml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if !text.contains("Subject: [auto-remediate] Approve ") || !text.contains(resource) {
            continue;
        }
        let line = |prefix: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(prefix))
                .map(|u| u.trim().to_string())
                .expect("a link line")
        };
        let approver = text
            .lines()
            .find_map(|l| l.strip_prefix("To: "))
            .unwrap()
            .trim()
            .to_string();
        out.push(Link {
            approver,
            approve: line("Review and approve: "),
            reject: line("Review and reject:  "),
        });
    }
    out.sort_by(|a, b| a.approver.cmp(&b.approver));
    out
}

/// The signing key the stack's approval pages use (`signing.key` in the stack's folder).
fn stack_key_text() -> String {
    std::fs::read_to_string(stack_dir().join("signing.key"))
        .unwrap()
        .trim()
        .to_string()
}

pub fn outbox(stack: &Stack) -> std::path::PathBuf {
    std::path::PathBuf::from(&stack.info.outbox_dir)
}

/// Splits a link into (path URL, query): a browser's form posts the query fields to the path.
fn split(url: &str) -> (String, String) {
    let (base, query) = url.split_once('?').unwrap();
    (base.to_string(), query.to_string())
}

async fn post(url: &str) -> (u16, String) {
    let (base, query) = split(url);
    http("POST", &base, &query).await
}

async fn status(stack: &Stack, name: &str) -> String {
    let d = stack
        .sfn
        .describe_execution()
        .execution_arn(stack.execution_arn(name))
        .send()
        .await
        .unwrap();
    d.status().as_str().to_string()
}

#[tokio::test]
async fn approving_by_link_resumes_the_execution_and_heals_the_group() {
    let stack = Stack::connect();
    let g = gated(&stack, "EC2-004", 1521).await;
    assert_eq!(g.links.len(), 2, "one e-mail per approver");
    let before = ingress(&stack, &g.sg).await;

    // Following the link (as a mail scanner would) changes nothing.
    let (code, page) = http("GET", &g.links[0].approve, "").await;
    assert_eq!(code, 200);
    assert!(page.contains("revoke ingress sgr-"), "the page shows the plan");
    assert!(page.contains(&g.sg));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(status(&stack, &g.execution).await, "RUNNING");
    assert_eq!(ingress(&stack, &g.sg).await, before);

    let (code, page) = post(&g.links[0].approve).await;
    assert_eq!(code, 200, "{page}");
    assert!(page.contains("Approved"));

    let run = stack.wait(&g.execution).await;
    assert_eq!(run.status, "SUCCEEDED", "{:?} {:?}", run.states(), run.task_errors());
    for state in [
        "Classify",
        "RequestApproval",
        "AfterApproval",
        "Remediate",
        "Verify",
        "Healed",
    ] {
        assert!(
            run.states().contains(&state.to_string()),
            "{state} missing from {:?}",
            run.states()
        );
    }
    assert_eq!(run.output["approval"]["decision"], "approved");
    assert_eq!(run.output["approval"]["approver"], g.links[0].approver.as_str());
    let after = ingress(&stack, &g.sg).await;
    assert_eq!(
        after,
        vec![(
            "tcp".to_string(),
            1521,
            1521,
            "10.0.0.0/8".to_string(),
            "office".to_string()
        )]
    );

    // A second decision, even by the other approver, is refused and changes nothing; the page
    // does not tell the other approver (or whoever holds their link) who decided.
    let (code, page) = post(&g.links[1].reject).await;
    assert_eq!(code, 409, "{page}");
    assert!(page.contains("by another approver"), "{page}");
    assert!(!page.contains(g.links[0].approver.as_str()), "{page}");
    let (code, page) = post(&g.links[0].approve).await;
    assert_eq!(code, 409);
    assert!(page.contains("by you"), "{page}");
}

#[tokio::test]
async fn rejecting_by_link_ends_in_the_rejected_state_and_changes_nothing() {
    let stack = Stack::connect();
    let g = gated(&stack, "EC2-004", 1521).await;
    let before = ingress(&stack, &g.sg).await;

    let (code, page) = post(&g.links[1].reject).await;
    assert_eq!(code, 200, "{page}");
    assert!(page.contains("Rejected"));

    let run = stack.wait(&g.execution).await;
    assert_eq!(run.status, "SUCCEEDED");
    assert_eq!(run.states().last().unwrap(), "ApprovalRejected");
    assert_eq!(run.output["approval"]["decision"], "rejected");
    assert_eq!(run.output["approval"]["approver"], g.links[1].approver.as_str());
    assert!(!run.states().contains(&"Remediate".to_string()));
    assert_eq!(ingress(&stack, &g.sg).await, before);
}

#[tokio::test]
async fn no_decision_before_the_deadline_ends_expired_and_untouched() {
    // tests/config.json gives EC2-006 a 3-second deadline.
    let stack = Stack::connect();
    let g = gated(&stack, "EC2-006", 5432).await;
    let before = ingress(&stack, &g.sg).await;

    let run = stack.wait(&g.execution).await;

    assert_eq!(run.status, "FAILED");
    assert_eq!(run.failure().as_deref(), Some("ApprovalExpired"));
    assert_eq!(ingress(&stack, &g.sg).await, before);
    let (code, _) = post(&g.links[0].approve).await;
    assert_eq!(code, 410, "the link died with the deadline");
    assert_eq!(ingress(&stack, &g.sg).await, before);
}

#[tokio::test]
async fn tampered_foreign_expired_swapped_and_wrong_method_requests_change_nothing() {
    let stack = Stack::connect();
    let g = gated(&stack, "EC2-004", 1521).await;
    let other = gated(&stack, "EC2-004", 1521).await;
    let before = ingress(&stack, &g.sg).await;
    let link = &g.links[0].approve;

    // One character of the signature changed.
    let mut tampered = link.clone().into_bytes();
    let last = tampered.len() - 1;
    tampered[last] = if tampered[last] == b'a' { b'b' } else { b'a' };
    let tampered = String::from_utf8(tampered).unwrap();
    assert_eq!(http("GET", &tampered, "").await.0, 403);
    assert_eq!(post(&tampered).await.0, 403);

    // A valid link's fields sent to another approval.
    let (base, query) = split(link);
    let (other_base, _) = split(&other.links[0].approve);
    assert_ne!(base, other_base);
    assert_eq!(http("POST", &other_base, &query).await.0, 403);

    // The action swapped, signature kept.
    let swapped = query.replace("action=approve", "action=reject");
    assert_eq!(http("POST", &base, &swapped).await.0, 403);

    // A correctly signed link whose expiry has passed.
    let key = SigningKey::new(stack_key_text().into_bytes()).unwrap();
    let approval_id = base.rsplit('/').next().unwrap().to_string();
    let expired = LinkClaims {
        approval_id,
        approver: g.links[0].approver.clone(),
        action: Action::Approve,
        expires: ar_tests::now_ms() / 1000 - 60,
    };
    assert_eq!(http("POST", &base, &expired.query(&key)).await.0, 410);

    // An id that does not exist, and methods other than GET and POST.
    let unknown = LinkClaims {
        approval_id: "0".repeat(32),
        ..expired.clone()
    };
    let unknown_base = format!("{}/approvals/{}", stack.info.approval_url, "0".repeat(32));
    let unknown_claims = LinkClaims {
        expires: expired.expires + 3600,
        ..unknown
    };
    assert_eq!(http("POST", &unknown_base, &unknown_claims.query(&key)).await.0, 404);
    assert_eq!(http("PUT", link, "").await.0, 405);
    assert_eq!(http("DELETE", link, "").await.0, 405);
    assert_eq!(
        http(
            "GET",
            &format!("{}/approvals/../../etc/passwd", stack.info.approval_url),
            ""
        )
        .await
        .0,
        404
    );

    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        status(&stack, &g.execution).await,
        "RUNNING",
        "still waiting for a real decision"
    );
    assert_eq!(ingress(&stack, &g.sg).await, before, "nothing was changed");

    // Clean up: reject both, so they do not linger.
    assert_eq!(post(&g.links[0].reject).await.0, 200);
    assert_eq!(post(&other.links[0].reject).await.0, 200);
}

/// An address that was an approver when the e-mail went out (it is on the approval's record)
/// but is not in the configuration now: its correctly signed link decides nothing.
#[tokio::test]
async fn a_link_of_an_approver_removed_from_the_config_since_the_e_mail_decides_nothing() {
    let stack = Stack::connect();
    let g = gated(&stack, "EC2-004", 1521).await;
    let before = ingress(&stack, &g.sg).await;
    let former = "former-approver@example.com";
    assert!(!stack.config.approval.approvers.iter().any(|a| a == former));
    // The record as it would be had `former` been configured when the request was sent.
    let arn = stack.execution_arn(&g.execution);
    let (member, _) = approval_record_of(&stack, &arn).await;
    let mut approvers: Vec<String> = g.links.iter().map(|l| l.approver.clone()).collect();
    approvers.push(former.to_string());
    aws_sdk_dynamodb::Client::new(&stack.sdk)
        .update_item()
        .table_name(&stack.info.approval_table)
        .key("approval_id", aws_sdk_dynamodb::types::AttributeValue::S(member))
        .update_expression("SET approvers = :a")
        .expression_attribute_values(
            ":a",
            aws_sdk_dynamodb::types::AttributeValue::S(serde_json::to_string(&approvers).unwrap()),
        )
        .send()
        .await
        .expect("UpdateItem");

    let key = SigningKey::new(stack_key_text().into_bytes()).unwrap();
    let (base, _) = split(&g.links[0].approve);
    let claims = LinkClaims {
        approval_id: approval_id_of(&g.links[0].approve),
        approver: former.to_string(),
        action: Action::Approve,
        expires: ar_tests::now_ms() / 1000 + 3600,
    };
    for method in ["GET", "POST"] {
        let (code, page) = match method {
            "GET" => http("GET", &format!("{base}?{}", claims.query(&key)), "").await,
            _ => http("POST", &base, &claims.query(&key)).await,
        };
        assert_eq!(code, 403, "{method}: {page}");
        assert!(page.contains("no longer"), "{method}: {page}");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(status(&stack, &g.execution).await, "RUNNING");
    assert_eq!(ingress(&stack, &g.sg).await, before, "nothing was changed");
    assert_eq!(
        post(&g.links[0].reject).await.0,
        200,
        "a configured approver still decides"
    );
}

#[tokio::test]
async fn oversized_ambiguous_or_malformed_forms_get_a_400_page_and_change_nothing() {
    let stack = Stack::connect();
    let g = gated(&stack, "EC2-004", 1521).await;
    let before = ingress(&stack, &g.sg).await;
    let (base, query) = split(&g.links[0].approve);
    assert!(query.contains("&kid="), "links carry their key id: {query}");

    let oversized = format!("{query}&pad={}", "x".repeat(5000));
    let doubled = format!("{query}&action=reject");
    let crowded = format!("{query}{}", "&utm=1".repeat(16));
    let lowercase_hex = query.replace("%40", "%4a");
    let without_kid: String = query
        .split('&')
        .filter(|p| !p.starts_with("kid="))
        .collect::<Vec<_>>()
        .join("&");
    for (what, form, status) in [
        ("oversized", &oversized, 400),
        ("a signed field twice", &doubled, 400),
        ("too many fields", &crowded, 400),
        ("malformed encoding", &lowercase_hex, 400),
        ("no key id", &without_kid, 400),
    ] {
        let (got, page) = http("POST", &base, form).await;
        assert_eq!(got, status, "{what}: {page}");
        assert_eq!(
            http("GET", &format!("{base}?{form}"), "").await.0,
            status,
            "{what} (GET)"
        );
    }
    let (_, page) = http("POST", &base, &oversized).await;
    assert!(page.contains("more than the 4096 accepted"), "{page}");

    assert_eq!(status(&stack, &g.execution).await, "RUNNING");
    assert_eq!(ingress(&stack, &g.sg).await, before, "nothing was changed");
    assert_eq!(post(&g.links[0].reject).await.0, 200);
}

#[tokio::test]
async fn no_task_token_or_signing_key_appears_in_logs_mail_or_pages() {
    let stack = Stack::connect();
    let g = gated(&stack, "EC2-004", 1521).await;
    let (_, page) = http("GET", &g.links[0].approve, "").await;
    let (_, decided) = post(&g.links[0].reject).await;
    let run = stack.wait(&g.execution).await;

    // The token as Step Functions handed it to the request task.
    let token = token_in(&run.events).expect("the approval task was scheduled with a token");
    assert!(token.len() > 8);
    let key = stack_key_text();
    assert!(key.len() >= 32);

    let mut haystacks = vec![
        ("confirmation page".to_string(), page),
        ("decision page".to_string(), decided),
    ];
    for name in ["gateway.log", "moto.log"] {
        haystacks.push((
            name.to_string(),
            std::fs::read_to_string(stack_dir().join(name)).unwrap_or_default(),
        ));
    }
    for entry in std::fs::read_dir(outbox(&stack)).unwrap().flatten() {
        haystacks.push((
            entry.path().display().to_string(),
            std::fs::read_to_string(entry.path()).unwrap(),
        ));
    }
    for link in &g.links {
        haystacks.push((
            format!("links of {}", link.approver),
            format!("{} {}", link.approve, link.reject),
        ));
    }
    for (name, text) in &haystacks {
        assert!(!text.contains(&token), "the task token appears in {name}");
        assert!(!text.contains(&key), "the signing key appears in {name}");
    }
}

/// The task token as Step Functions handed it to the approval request (in the history, which
/// anyone with `states:GetExecutionHistory` reads).
fn token_in(events: &[aws_sdk_sfn::types::HistoryEvent]) -> Option<String> {
    events
        .iter()
        .filter_map(|e| e.task_scheduled_event_details())
        .find_map(|d| {
            let p: serde_json::Value = serde_json::from_str(d.parameters()).ok()?;
            p["Payload"]["token"].as_str().map(str::to_string)
        })
}

/// The approval record of an execution, read straight from the approvals table (as a reader of
/// the table could): its id and status.
async fn approval_record_of(stack: &Stack, execution_arn: &str) -> (String, String) {
    let ddb = aws_sdk_dynamodb::Client::new(&stack.sdk);
    let items = ddb
        .scan()
        .table_name(&stack.info.approval_table)
        .send()
        .await
        .expect("Scan")
        .items
        .unwrap_or_default();
    let s = |i: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>, k: &str| {
        i.get(k).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default()
    };
    items
        .iter()
        .find(|i| s(i, "execution_arn") == execution_arn)
        .map(|i| (s(i, "approval_id"), s(i, "status")))
        .expect("the execution's approval record")
}

/// Item 2 of the trust issue: a principal who can read the history and call SendTaskSuccess
/// (which IAM cannot scope to one token) resumes a waiting execution with a well-formed approve
/// decision naming a real approver and the real approval id. The approval store has no such
/// decision, so Remediate refuses before assuming any role: the run ends in `ApprovalBypass`,
/// the group is unchanged, the attempt is counted, and the approver's link then says the
/// execution no longer waits.
#[tokio::test]
async fn a_forged_send_task_success_with_the_token_from_the_history_ends_in_approval_bypass_and_changes_nothing() {
    let stack = Stack::connect();
    let g = gated(&stack, "EC2-004", 1521).await;
    let before = ingress(&stack, &g.sg).await;
    let bypasses = stack.metric_sum("ApprovalBypass", serde_json::json!({})).await;
    let arn = stack.execution_arn(&g.execution);
    let token = token_in(&stack.history(&arn).await).expect("the approval task was scheduled with a token");
    let (approval_id, status_before) = approval_record_of(&stack, &arn).await;
    assert_eq!(status_before, "pending");

    let forged = serde_json::json!({
        "decision": "approved",
        "approver": g.links[0].approver,
        "decided_at": "2026-12-05T10:00:00Z",
        "approval_id": approval_id,
        "approved_removes": before.iter().map(|r| format!("{r:?}")).collect::<Vec<_>>(),
    });
    stack
        .sfn
        .send_task_success()
        .task_token(&token)
        .output(forged.to_string())
        .send()
        .await
        .expect("Step Functions accepts any holder of the token");

    let run = stack.wait(&g.execution).await;
    assert_eq!(run.status, "FAILED", "{:?}", run.states());
    assert_eq!(
        run.states().last().map(String::as_str),
        Some("ApprovalBypass"),
        "{:?}",
        run.states()
    );
    assert!(
        run.task_errors().iter().any(|e| e == "ApprovalBypass"),
        "{:?}",
        run.task_errors()
    );
    assert_eq!(ingress(&stack, &g.sg).await, before, "nothing was changed");
    assert_eq!(
        stack.metric_sum("ApprovalBypass", serde_json::json!({})).await - bypasses,
        1.0,
        "the attempt is counted once"
    );
    // The record never said approved; the real approver's link finds the execution gone.
    assert_eq!(approval_record_of(&stack, &arn).await.1, "pending");
    let (code, page) = post(&g.links[0].approve).await;
    assert_eq!(code, 410, "{page}");
    assert_eq!(ingress(&stack, &g.sg).await, before, "still nothing was changed");
}

/// The approval (batch) id of a link: `<base>/approvals/<id>?...`.
pub fn approval_id_of(link: &str) -> String {
    link.split("/approvals/")
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_decision_the_execution_did_not_receive_is_taken_back_and_the_same_link_works_again() {
    let stack = Stack::connect();
    let g = gated(&stack, "EC2-004", 1521).await;
    let id = approval_id_of(&g.links[0].approve);
    // Step Functions refuses SendTaskSuccess for this approval (every retry of the SDK too).
    let faults = stack
        .faults(
            serde_json::json!([{"id": "sfn-down", "service": "states", "operation": "SendTaskSuccess",
                                     "resource": id, "effect": "server_error"}]),
        )
        .await;
    let (code, page) = post(&g.links[0].approve).await;
    assert_eq!(code, 502, "{page}");
    assert!(faults.injected().await > 0);
    drop(faults);
    // The record does not say "approved": the confirmation page is offered again, not a 409.
    let (code, page) = http("GET", &g.links[0].approve, "").await;
    assert_eq!(code, 200, "{page}");
    assert_eq!(status(&stack, &g.execution).await, "RUNNING");
    let (code, page) = post(&g.links[0].approve).await;
    assert_eq!(code, 200, "{page}");
    let run = stack.wait(&g.execution).await;
    assert_eq!(run.states().last().map(String::as_str), Some("Healed"));
    assert_eq!(run.output["approval"]["approver"], g.links[0].approver);
}

#[tokio::test]
async fn links_expire_with_the_task_counted_from_when_the_approval_state_was_entered() {
    let stack = Stack::connect();
    let sg = group(&stack).await;
    allow(&stack, &sg, "tcp", 1521, 1521, "0.0.0.0/0", "world").await;
    let message = stack.message("EC2-004", &sg);
    let finding = stack.finding(&message).expect("a failure to act on");
    let classification = stack
        .invoke("auto-remediate-classify", &serde_json::json!({ "finding": finding }))
        .await
        .unwrap();
    let timeout = classification["approval_timeout_seconds"].as_u64().unwrap();
    // The state was entered 100 s ago (a retried request, say): the links may not outlive the task.
    let entered = ar_approval::now_epoch() - 100;
    let payload = serde_json::json!({
        "token": format!("test-token-{}", ar_tests::unique("t")),
        "execution_arn": stack.execution_arn(&ar_tests::unique("not-a-run")),
        "entered_time": ar_approval::rfc3339(entered),
        "state": { "finding": finding, "classification": classification },
    });
    stack.invoke("auto-remediate-request-approval", &payload).await.unwrap();
    let links = links_for(&stack, &sg);
    assert_eq!(links.len(), 2);
    let expires: u64 = links[0]
        .approve
        .split("expires=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(expires, entered + timeout);
}

/// The approval callback as API Gateway's HTTP API invokes it on AWS: committed payload 2.0 events
/// (tests/fixtures/apigw) of a link whose signature was tampered with, a GET and a form POST
/// (base64-encoded, as API Gateway sends forms), each answered with the refusal page in the
/// payload 2.0 response shape. (Every other approval test reaches the callback through the same
/// path: the local gateway wraps each request of the approval pages into such an event.)
#[tokio::test]
async fn the_callback_answers_api_gateway_http_api_events_and_refuses_a_tampered_link() {
    let stack = Stack::connect();
    for fixture in ["approval-get.json", "approval-post.json"] {
        let path = format!("{}/fixtures/apigw/{fixture}", env!("CARGO_MANIFEST_DIR"));
        let event: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let out = stack
            .invoke("auto-remediate-approval-callback", &event)
            .await
            .unwrap_or_else(|e| panic!("{fixture}: {e:?}"));
        assert_eq!(out["statusCode"], 403, "{fixture}: {out}");
        assert!(
            out["headers"]["content-type"]
                .as_str()
                .unwrap()
                .starts_with("text/html"),
            "{out}"
        );
        assert!(out["body"].as_str().unwrap().contains("Invalid link"), "{fixture}");
        assert_eq!(out["isBase64Encoded"], false);
    }
}
