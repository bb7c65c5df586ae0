//! A person's path through the approval gate, in a real browser: open the e-mail, follow the
//! link, read the plan, click. Screenshots land in `target/browser/` for review.
//!
//! Pages are found by stable ids (`#status`, `button#approve`, `button#reject`) and every click
//! that leads to another page waits for it, so the tests neither race the browser nor depend on
//! the pages' wording beyond a few prefixes.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ar_tests::webdriver::with_browser;
use ar_tests::Stack;

use crate::approval::{gated, outbox};
use crate::ec2::ingress;

fn shots() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/browser")
}

/// The `.html` copy of the e-mail sent to `approver` about `resource`, once it is fully written
/// (the outbox gets the `.eml` first).
async fn email_html(stack: &Stack, resource: &str, approver: &str) -> PathBuf {
    let safe: String = approver
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let is_it = |p: &Path| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(&format!("-{safe}.html")))
            && std::fs::read_to_string(p)
                .is_ok_and(|html| html.contains(resource) && html.trim_end().ends_with("</html>"))
    };
    let start = Instant::now();
    loop {
        let found = std::fs::read_dir(outbox(stack))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .find(|p| is_it(p));
        if let Some(path) = found {
            return path.canonicalize().unwrap();
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no HTML e-mail to {approver} about {resource} in the outbox"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_person_approves_in_the_browser_and_the_group_heals() {
    let stack = Stack::connect();
    let g = gated(&stack, "EC2-004", 1521).await;
    let email = email_html(&stack, &g.sg, &g.links[0].approver).await;

    let (stack, g) = (&stack, &g);
    with_browser(|browser| async move {
        // The e-mail as the approver sees it; its link opens the confirmation page.
        browser.open(&format!("file://{}", email.display())).await;
        browser.find("a[href*='action=approve']").await;
        browser.screenshot(&shots().join("approval-email.png")).await;
        browser
            .click_through("a[href*='action=approve']", "button#approve")
            .await;
        assert!(browser.title().await.starts_with("Confirm: approve"));
        assert!(
            browser.text("body").await.contains("revoke ingress sgr-"),
            "the page shows the plan"
        );
        browser.screenshot(&shots().join("approval-confirm.png")).await;
        assert_eq!(ingress(stack, &g.sg).await.len(), 2, "opening the page changed nothing");

        browser.click_through("button#approve", "#status").await;
        assert!(browser.text("#status").await.starts_with("Approved."));
        browser.screenshot(&shots().join("approval-approved.png")).await;
    })
    .await;

    let run = stack.wait(&g.execution).await;
    assert_eq!(run.status, "SUCCEEDED", "{:?}", run.states());
    assert_eq!(run.output["approval"]["approver"], g.links[0].approver.as_str());
    let after = ingress(stack, &g.sg).await;
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].3, "10.0.0.0/8", "only the world-open rule went");
}

#[tokio::test]
async fn a_person_rejects_in_the_browser_and_nothing_changes() {
    let stack = Stack::connect();
    let g = gated(&stack, "EC2-004", 1521).await;
    let before = ingress(&stack, &g.sg).await;

    let g = &g;
    with_browser(|browser| async move {
        browser.open(&g.links[1].reject).await;
        browser.find("button#reject").await;
        assert!(browser.title().await.starts_with("Confirm: reject"));
        browser.click_through("button#reject", "#status").await;
        assert!(browser.text("#status").await.starts_with("Rejected."));
        browser.screenshot(&shots().join("approval-rejected.png")).await;
    })
    .await;

    let run = stack.wait(&g.execution).await;
    assert_eq!(run.states().last().unwrap(), "ApprovalRejected");
    assert_eq!(ingress(&stack, &g.sg).await, before);
}
