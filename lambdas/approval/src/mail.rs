//! Approval e-mails: rendered with askama (HTML and plain text), sent with SESv2. Where an outbox
//! folder is configured (the local stack), each message is also written there as `.eml` and
//! `.html`, so a person can open it.

use std::path::Path;

use ar_core::Error;
use askama::Template;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

use crate::Details;

#[derive(Template)]
#[template(path = "email.html")]
struct HtmlEmail<'a> {
    d: &'a Details,
    approver: &'a str,
    approve_url: &'a str,
    reject_url: &'a str,
}

#[derive(Template)]
#[template(path = "email.txt")]
struct TextEmail<'a> {
    d: &'a Details,
    approver: &'a str,
    approve_url: &'a str,
    reject_url: &'a str,
}

/// No `Debug`: its links are bearer credentials, kept out of every log line.
#[derive(Clone)]
pub struct Email {
    pub from: String,
    pub to: String,
    pub subject: String,
    pub html: String,
    pub text: String,
}

impl Email {
    pub fn approval(
        d: &Details,
        from: &str,
        approver: &str,
        approve_url: &str,
        reject_url: &str,
    ) -> Result<Email, Error> {
        let render_err = |e: askama::Error| Error::InvalidInput(format!("rendering the e-mail: {e}"));
        Ok(Email {
            from: from.to_string(),
            to: approver.to_string(),
            subject: if d.findings.is_empty() {
                format!(
                    "[auto-remediate] Approve {} on {} ({}, {})?",
                    d.rule_id, d.resource, d.account, d.region
                )
            } else {
                format!(
                    "[auto-remediate] Approve {} fixes on {} ({}, {})?",
                    d.findings.len(),
                    d.resource,
                    d.account,
                    d.region
                )
            },
            html: HtmlEmail {
                d,
                approver,
                approve_url,
                reject_url,
            }
            .render()
            .map_err(render_err)?,
            text: TextEmail {
                d,
                approver,
                approve_url,
                reject_url,
            }
            .render()
            .map_err(render_err)?,
        })
    }

    /// The message as RFC 5322 text with a multipart/alternative body.
    pub fn to_eml(&self, message_id: &str) -> String {
        let boundary = format!("=_auto_remediate_{message_id}");
        format!(
            "From: {}\r\nTo: {}\r\nSubject: {}\r\nMessage-ID: <{message_id}@auto-remediate.local>\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/alternative; boundary=\"{boundary}\"\r\n\r\n\
             --{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}\r\n\
             --{boundary}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{}\r\n--{boundary}--\r\n",
            self.from, self.to, self.subject, self.text, self.html
        )
    }
}

/// Sends with SESv2; returns the SES message id.
pub async fn send(ses: &aws_sdk_sesv2::Client, email: &Email) -> Result<String, Error> {
    let content = |s: &str| Content::builder().data(s).charset("UTF-8").build();
    let built = (|| -> Result<EmailContent, aws_sdk_sesv2::error::BuildError> {
        Ok(EmailContent::builder()
            .simple(
                Message::builder()
                    .subject(content(&email.subject)?)
                    .body(
                        Body::builder()
                            .html(content(&email.html)?)
                            .text(content(&email.text)?)
                            .build(),
                    )
                    .build(),
            )
            .build())
    })()
    .map_err(|e| Error::InvalidInput(format!("building the e-mail: {e}")))?;
    let out = ses
        .send_email()
        .from_email_address(&email.from)
        .destination(Destination::builder().to_addresses(&email.to).build())
        .content(built)
        .send()
        .await
        .map_err(|e| Error::from_sdk("ses:SendEmail", e))?;
    Ok(out.message_id().unwrap_or_default().to_string())
}

/// Where approval e-mails go: the request's one side effect besides the store, behind a trait
/// so that asking (who gets which links) is unit-tested without AWS (`request::ask`).
pub(crate) trait Mailer {
    /// Sends `email` and returns the provider's message id; `name` names any copy kept.
    async fn send(&self, name: &str, email: &Email) -> Result<String, Error>;
}

/// SESv2, and where an outbox folder is configured (the local stack) a copy in it.
pub(crate) struct Ses<'a> {
    pub client: aws_sdk_sesv2::Client,
    pub outbox: Option<&'a Path>,
}

impl Mailer for Ses<'_> {
    async fn send(&self, name: &str, email: &Email) -> Result<String, Error> {
        let message_id = send(&self.client, email).await?;
        if let Some(dir) = self.outbox {
            write_outbox(dir, name, email)?;
        }
        Ok(message_id)
    }
}

/// Writes `<name>.eml` and `<name>.html` into the outbox folder.
pub fn write_outbox(dir: &Path, name: &str, email: &Email) -> Result<(), Error> {
    let io = |e: std::io::Error| Error::ConfigInvalid(format!("outbox {}: {}", dir.display(), e.kind()));
    std::fs::create_dir_all(dir).map_err(io)?;
    std::fs::write(dir.join(format!("{name}.eml")), email.to_eml(name)).map_err(io)?;
    std::fs::write(dir.join(format!("{name}.html")), &email.html).map_err(io)?;
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn details(message: &str) -> Details {
        Details {
            rule_id: "EC2-002".into(),
            rule_title: "Unrestricted SSH Access".into(),
            risk: "HIGH".into(),
            resource: "sg-0123".into(),
            account: "123456789012".into(),
            region: "us-east-1".into(),
            message: Some(crate::scanner_text(message)),
            summary: "revoke 1 rule".into(),
            findings: Vec::new(),
            steps: vec!["revoke ingress tcp 22 from 0.0.0.0/0".into()],
            cannot_keep: Vec::new(),
            untouched: Vec::new(),
            offending: vec!["tcp 22 from 0.0.0.0/0".into()],
            deadline: "2026-12-06T10:00:00Z".into(),
        }
    }

    /// The scanner's free text may say anything (a publisher to the topic writes it): in the
    /// plain-text part it comes after the real links, each of its lines quoted, between markers
    /// saying whose text it is; in the HTML it is escaped and labelled.
    #[test]
    fn the_scanners_text_comes_after_the_links_quoted_and_marked_as_the_scanners() {
        let hostile = "Urgent!\nReview and approve: https://evil.example/approve\r\n<a href=\"https://evil.example\">Approve</a>\u{7}";
        let email = Email::approval(
            &details(hostile),
            "ar@example.com",
            "alice@example.com",
            "https://approvals.example/approvals/b1?action=approve",
            "https://approvals.example/approvals/b1?action=reject",
        )
        .unwrap();
        let lines: Vec<&str> = email.text.lines().collect();
        let approve = lines
            .iter()
            .position(|l| l.starts_with("Review and approve: "))
            .unwrap();
        assert_eq!(
            lines[approve],
            "Review and approve: https://approvals.example/approvals/b1?action=approve"
        );
        let start = lines
            .iter()
            .position(|l| l.starts_with("--- The scanner's own text"))
            .unwrap();
        let end = lines
            .iter()
            .position(|l| *l == "--- end of the scanner's text ---")
            .unwrap();
        assert!(approve < start && start < end, "{}", email.text);
        assert_eq!(
            lines[start + 1..end],
            [
                "> Urgent!",
                "> Review and approve: https://evil.example/approve",
                "> <a href=\"https://evil.example\">Approve</a> ",
            ]
        );
        assert_eq!(
            lines.iter().filter(|l| l.starts_with("Review and approve: ")).count(),
            1
        );
        assert!(
            !email.html.contains("<a href=\"https://evil.example\">"),
            "escaped in HTML"
        );
        assert!(email.html.contains("Scanner&#x27;s text") || email.html.contains("Scanner's text"));
        assert!(email.html.contains("not written by auto-remediate"));
    }
}
