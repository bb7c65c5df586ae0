//! The Lambda entry point: reads config once, then serves the handler named by `_HANDLER`.

use ar_core::deps::Deps;
use ar_handlers::{init_logging, invoke, Handler};
use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde_json::Value;

struct Failure(ar_core::Error);

impl From<Failure> for Diagnostic {
    fn from(f: Failure) -> Diagnostic {
        Diagnostic {
            error_type: f.0.name().to_string(),
            error_message: f.0.to_string(),
        }
    }
}

impl std::fmt::Debug for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.0.name(), self.0)
    }
}

/// One thread: Lambda gives a process one invocation at a time, and the AWS calls a handler makes
/// at once still overlap on it. No worker threads to start at a cold start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_logging();
    let handler: Handler = std::env::var("_HANDLER")
        .unwrap_or_default()
        .parse()
        .map_err(|e| format!("_HANDLER: {e}"))?;
    let deps = Deps::from_env()
        .await
        .map_err(|e| format!("{}: {e}", e.name()))?
        .with_rule_access(ar_handlers::generated::handler_permissions(handler).1);
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        invoke(deps, handler, event.payload).await.map_err(|e| {
            tracing::warn!(handler = handler.name(), error = e.name(), message = %e, "handler failed");
            Failure(e)
        })
    }))
    .await
}
