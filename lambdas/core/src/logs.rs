//! The fields that tie every log line to its run: each handler invocation runs in a span with
//! `execution` (the execution's name), `rule_id` and `resource` (see `ar_handlers::invoke`).
//! Handlers that learn them only from their input (the trigger, the approval pages) record them here.

use tracing::Span;

/// Records what is known on `span` (an execution ARN is shortened to its name).
pub fn record_on(span: &Span, execution: Option<&str>, rule_id: Option<&str>, resource: Option<&str>) {
    if let Some(e) = execution {
        span.record("execution", crate::state::execution_name(e));
    }
    if let Some(r) = rule_id {
        span.record("rule_id", r);
    }
    if let Some(r) = resource {
        span.record("resource", r);
    }
}

/// Records them on the current invocation's span.
pub fn record(execution: Option<&str>, rule_id: Option<&str>, resource: Option<&str>) {
    record_on(&Span::current(), execution, rule_id, resource);
}
