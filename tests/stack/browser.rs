//! A person's path through the approval gate, in a real browser: open the e-mail, follow the
//! link, read the plan, click. Screenshots land in `target/browser/` for review.

use std::path::PathBuf;

use ar_tests::webdriver::Browser;
use ar_tests::Stack;

use crate::approval::{gated, outbox};
use crate::ec2::ingress;

fn shots() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/browser")
}

/// The `.html` copy of the e-mail sent to `approver` about `resource`.
fn email_html(stack: &Stack, resource: &str, approver: &str) -> PathBuf {
    let safe: String = approver
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    std::fs::read_dir(outbox(stack))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.extension().and_then(|e| e.to_str()) == Some("html")
                && p.file_name()
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .ends_with(&format!("-{safe}.html"))
                && std::fs::read_to_string(p).unwrap_or_default().contains(resource)
        })
        .expect("the HTML e-mail in the outbox")
}

#[tokio::test]
async fn a_person_approves_in_the_browser_and_the_group_heals() {
    let stack = Stack::connect();
    let g = gated(&stack, "EC2-004", 1521).await;
    let browser = Browser::start().await;

    // The e-mail as the approver sees it; its link opens the confirmation page.
    let email = email_html(&stack, &g.sg, &g.links[0].approver);
    browser
        .open(&format!("file://{}", email.canonicalize().unwrap().display()))
        .await;
    browser.screenshot(&shots().join("approval-email.png")).await;
    browser.click("a[href*='action=approve']").await;
    assert!(browser.title().await.starts_with("Confirm: approve"));
    assert!(
        browser.text("body").await.contains("revoke ingress sgr-"),
        "the page shows the plan"
    );
    browser.screenshot(&shots().join("approval-confirm.png")).await;
    assert_eq!(
        ingress(&stack, &g.sg).await.len(),
        2,
        "opening the page changed nothing"
    );

    browser.click("button#approve").await;
    assert!(browser.text("#status").await.starts_with("Approved."));
    browser.screenshot(&shots().join("approval-approved.png")).await;

    let run = stack.wait(&g.execution).await;
    assert_eq!(run.status, "SUCCEEDED", "{:?}", run.states());
    assert_eq!(run.output["approval"]["approver"], g.links[0].approver.as_str());
    let after = ingress(&stack, &g.sg).await;
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].3, "10.0.0.0/8", "only the world-open rule went");
}

#[tokio::test]
async fn a_person_rejects_in_the_browser_and_nothing_changes() {
    let stack = Stack::connect();
    let g = gated(&stack, "EC2-004", 1521).await;
    let before = ingress(&stack, &g.sg).await;
    let browser = Browser::start().await;

    browser.open(&g.links[1].reject).await;
    assert!(browser.title().await.starts_with("Confirm: reject"));
    browser.click("button#reject").await;
    assert!(browser.text("#status").await.starts_with("Rejected."));
    browser.screenshot(&shots().join("approval-rejected.png")).await;

    let run = stack.wait(&g.execution).await;
    assert_eq!(run.states().last().unwrap(), "ApprovalRejected");
    assert_eq!(ingress(&stack, &g.sg).await, before);
}
