//! The one artefact for every handler: dispatch on the handler name.
//!
//! Lambda gives each function's handler name in `_HANDLER`; the local gateway gives it from the
//! function name it was invoked by. Both call [`invoke`], so the same code path runs on AWS,
//! locally and in tests. The SDK crates are compiled and linked once, into one binary.

pub mod generated;

use std::str::FromStr;

use ar_core::deps::{parse_input, Deps};
use ar_core::Error;
use serde_json::Value;

/// The handlers this binary hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handler {
    Trigger,
    Classify,
    Remediate,
    Verify,
    RequestApproval,
    ApprovalCallback,
}

impl Handler {
    pub const ALL: [Handler; 6] = [
        Handler::Trigger,
        Handler::Classify,
        Handler::Remediate,
        Handler::Verify,
        Handler::RequestApproval,
        Handler::ApprovalCallback,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Handler::Trigger => "trigger",
            Handler::Classify => "classify",
            Handler::Remediate => "remediate",
            Handler::Verify => "verify",
            Handler::RequestApproval => "request-approval",
            Handler::ApprovalCallback => "approval-callback",
        }
    }
}

impl FromStr for Handler {
    type Err = Error;

    /// Accepts `classify`, a function name ending in `-classify` (`auto-remediate-classify`), or
    /// a function ARN with either, optionally qualified (`...:function:auto-remediate-classify:live`).
    fn from_str(s: &str) -> Result<Self, Error> {
        let name = match s.split_once(":function:") {
            Some((_, rest)) => rest.split(':').next().unwrap_or(rest),
            None => s,
        };
        Handler::ALL
            .into_iter()
            .find(|h| {
                name == h.name()
                    || name
                        .strip_suffix(h.name())
                        .is_some_and(|rest| rest.ends_with('-') || rest.ends_with('.'))
            })
            .ok_or_else(|| Error::ConfigInvalid(format!("no handler named {s:?}")))
    }
}

fn to_value<T: serde::Serialize>(out: T) -> Result<Value, Error> {
    serde_json::to_value(out).map_err(|e| Error::InvalidInput(format!("unserializable output: {e}")))
}

/// Runs one handler on one payload.
pub async fn invoke(deps: &Deps, handler: Handler, payload: Value) -> Result<Value, Error> {
    match handler {
        Handler::Trigger => to_value(ar_trigger::handle(deps, payload).await?),
        Handler::Classify => to_value(ar_classify::handle(deps, parse_input(payload)?).await?),
        Handler::Remediate => to_value(ar_remediate::handle(deps, parse_input(payload)?).await?),
        Handler::Verify => to_value(ar_verify::handle(deps, parse_input(payload)?).await?),
        Handler::RequestApproval => to_value(ar_approval::request::handle(deps, parse_input(payload)?).await?),
        Handler::ApprovalCallback => ar_approval::callback::handle_apigw(deps, payload).await,
    }
}

/// JSON logs on stdout (CloudWatch), one line per event; level from `RUST_LOG`, default `info`.
pub fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_current_span(false)
        .without_time()
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handler_names_resolve_from_names_and_arns() {
        assert_eq!("classify".parse::<Handler>().unwrap(), Handler::Classify);
        assert_eq!("auto-remediate-verify".parse::<Handler>().unwrap(), Handler::Verify);
        assert_eq!(
            "arn:aws:lambda:us-east-1:123456789012:function:auto-remediate-remediate:live"
                .parse::<Handler>()
                .unwrap(),
            Handler::Remediate
        );
        assert_eq!("bootstrap.trigger".parse::<Handler>().unwrap(), Handler::Trigger);
        assert_eq!(
            "auto-remediate-request-approval".parse::<Handler>().unwrap(),
            Handler::RequestApproval
        );
        assert_eq!(
            "approval-callback".parse::<Handler>().unwrap(),
            Handler::ApprovalCallback
        );
        assert!("auto-remediate-approval".parse::<Handler>().is_err());
        assert_eq!(
            "auto-remediate-delete".parse::<Handler>().unwrap_err().name(),
            "ConfigInvalid"
        );
    }
}
