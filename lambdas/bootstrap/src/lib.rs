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
use tracing::Instrument;

/// The handlers this binary hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handler {
    Trigger,
    Classify,
    Remediate,
    Verify,
    RequestApproval,
    ApprovalCallback,
    Notify,
}

impl Handler {
    pub const ALL: [Handler; 7] = [
        Handler::Trigger,
        Handler::Classify,
        Handler::Remediate,
        Handler::Verify,
        Handler::RequestApproval,
        Handler::ApprovalCallback,
        Handler::Notify,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Handler::Trigger => "trigger",
            Handler::Classify => "classify",
            Handler::Remediate => "remediate",
            Handler::Verify => "verify",
            Handler::RequestApproval => "request-approval",
            Handler::ApprovalCallback => "approval-callback",
            Handler::Notify => "notify",
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

/// Runs one handler on one payload, every log line of it carrying the handler, the execution,
/// the rule and the resource (see [`invocation_span`]).
///
/// `deps` must have been given this handler's rule access (`Deps::with_rule_access` with
/// [`generated::handler_permissions`], the declaration its IAM role is generated from): the
/// member role it assumes follows from it. Dependencies given another handler's access are
/// refused (`UndeclaredAction`), so a read-only handler never runs with the write role.
pub async fn invoke(deps: &Deps, handler: Handler, payload: Value) -> Result<Value, Error> {
    let declared = generated::handler_permissions(handler).1;
    if deps.rule_access() != declared {
        return Err(Error::UndeclaredAction(format!(
            "{} declares rule access {declared:?} but runs with {:?}",
            handler.name(),
            deps.rule_access()
        )));
    }
    let span = invocation_span(handler, &payload);
    run(deps, handler, payload).instrument(span).await
}

/// The span of one invocation: the execution (its name), the rule and the resource, as far as
/// the payload tells them. The trigger and the approval pages learn them later and record them
/// with [`ar_core::logs::record`].
pub fn invocation_span(handler: Handler, payload: &Value) -> tracing::Span {
    let span = tracing::info_span!(
        "invocation",
        handler = handler.name(),
        execution = tracing::field::Empty,
        rule_id = tracing::field::Empty,
        resource = tracing::field::Empty,
    );
    fn text(v: Option<&Value>) -> Option<&str> {
        v.and_then(Value::as_str)
    }
    let execution = text(payload.get("execution")).or_else(|| text(payload.get("execution_arn")));
    let finding = payload.get("finding").or_else(|| payload.pointer("/state/finding"));
    ar_core::logs::record_on(
        &span,
        execution,
        text(finding.and_then(|f| f.get("rule_id"))),
        text(finding.and_then(|f| f.get("resource"))),
    );
    span
}

async fn run(deps: &Deps, handler: Handler, payload: Value) -> Result<Value, Error> {
    match handler {
        Handler::Trigger => to_value(ar_trigger::handle(deps, payload).await?),
        Handler::Classify => to_value(ar_classify::handle(deps, parse_input(payload)?).await?),
        Handler::Remediate => to_value(ar_remediate::handle(deps, parse_input(payload)?).await?),
        Handler::Verify => to_value(ar_verify::handle(deps, parse_input(payload)?).await?),
        Handler::RequestApproval => to_value(ar_approval::request::handle(deps, parse_input(payload)?).await?),
        Handler::ApprovalCallback => ar_approval::callback::handle_apigw(deps, payload).await,
        Handler::Notify => to_value(ar_notify::handle(deps, parse_input(payload)?).await?),
    }
}

/// Logs on stdout (CloudWatch), one line per event, following Lambda's log-format settings:
/// JSON unless `AWS_LAMBDA_LOG_FORMAT` is `Text`; the level from `AWS_LAMBDA_LOG_LEVEL` (Lambda's
/// application log level), else `RUST_LOG`, else `info`. In JSON each line has the event's
/// fields at the top level and the invocation's (`handler`, `execution`, `rule_id`,
/// `resource`) under `span`. No time: CloudWatch stamps every line.
pub fn init_logging() {
    let get = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let filter = log_filter(get("AWS_LAMBDA_LOG_LEVEL").as_deref(), get("RUST_LOG").as_deref());
    if get("AWS_LAMBDA_LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("text")) {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .without_time()
            .try_init();
    } else {
        let _ = tracing::subscriber::set_global_default(json_subscriber(filter, std::io::stdout));
    }
}

/// The JSON lines: the event's fields at the top level, the invocation's span under `span`.
fn json_subscriber<W>(filter: tracing_subscriber::EnvFilter, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .without_time()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(false)
        .with_writer(writer)
        .finish()
}

/// Lambda's level names (`TRACE` … `FATAL`) first, then a `RUST_LOG` directive, then `info`.
fn log_filter(lambda_level: Option<&str>, rust_log: Option<&str>) -> tracing_subscriber::EnvFilter {
    let lambda = lambda_level.map(|l| match l.to_ascii_uppercase().as_str() {
        "FATAL" => "error".to_string(),
        other => other.to_ascii_lowercase(),
    });
    lambda
        .as_deref()
        .or(rust_log)
        .and_then(|d| tracing_subscriber::EnvFilter::try_new(d).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new("info"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The JSON lines `f` logs.
    fn capture(f: impl FnOnce()) -> Vec<Value> {
        use std::sync::{Arc, Mutex};
        #[derive(Clone)]
        struct Sink(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Sink {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let sink = Sink(Arc::default());
        let writer = sink.clone();
        let subscriber = json_subscriber(tracing_subscriber::EnvFilter::new("info"), move || writer.clone());
        tracing::subscriber::with_default(subscriber, f);
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    #[test]
    fn lambdas_log_level_comes_first_then_rust_log() {
        assert_eq!(log_filter(Some("FATAL"), Some("debug")).to_string(), "error");
        assert_eq!(log_filter(Some("WARN"), None).to_string(), "warn");
        assert_eq!(log_filter(None, Some("ar_core=debug")).to_string(), "ar_core=debug");
        assert_eq!(log_filter(None, None).to_string(), "info");
    }

    #[test]
    fn an_invocation_span_names_the_execution_rule_and_resource_from_the_payload() {
        use serde_json::json;
        let finding = json!({"rule_id": "EC2-002", "resource": "sg-1"});
        let arn = "arn:aws:states:us-east-1:123456789012:execution:auto-remediate:EC2-002-sg-1-abc";
        for (h, payload) in [
            (
                Handler::Remediate,
                json!({"execution": arn, "state": {"finding": finding}}),
            ),
            (Handler::Verify, json!({"execution": arn, "finding": finding})),
            (
                Handler::RequestApproval,
                json!({"execution_arn": arn, "state": {"finding": finding}}),
            ),
        ] {
            let fields = capture(|| {
                let span = invocation_span(h, &payload);
                let _g = span.enter();
                tracing::info!("hello");
            });
            assert_eq!(fields.len(), 1, "{fields:?}");
            let line = &fields[0];
            assert_eq!(line["span"]["execution"], "EC2-002-sg-1-abc", "{line}");
            assert_eq!(line["span"]["rule_id"], "EC2-002", "{line}");
            assert_eq!(line["span"]["resource"], "sg-1", "{line}");
            assert_eq!(line["span"]["handler"], h.name(), "{line}");
        }
    }

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
