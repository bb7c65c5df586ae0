//! CloudWatch metrics as Embedded Metric Format: one JSON line on stdout per data point, which
//! CloudWatch Logs turns into metrics (no API call, no permission). The local stack, which
//! hosts the handlers in-process, installs a [`set_sink`] that puts the same data points into its
//! CloudWatch, as Lambda's log pipeline would.

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::intake::Delivery;

/// The namespace of every metric auto-remediate emits.
pub const NAMESPACE: &str = "AutoRemediate";
/// One count per SNS delivery the trigger handled, by `Delivery` and by `Delivery` and `Reason`.
pub const DELIVERIES: &str = "Deliveries";

type Sink = Box<dyn Fn(&Value) + Send + Sync>;
static SINK: OnceLock<Sink> = OnceLock::new();

/// Also hands every metric line to `sink` (the local stack's CloudWatch). Once per process.
pub fn set_sink(sink: impl Fn(&Value) + Send + Sync + 'static) {
    let _ = SINK.set(Box::new(sink));
}

/// One count of an approve decision the approval store did not prove (`crate::approvals`).
pub const APPROVAL_BYPASS: &str = "ApprovalBypass";

/// The EMF document counting one `metric` with `dims`: under no dimension and, when there are
/// dimensions, under their first one alone and under all of them.
pub fn count_line(metric: &str, dims: &[(&str, &str)], at_ms: u64) -> Value {
    let names: Vec<&str> = dims.iter().map(|(k, _)| *k).collect();
    let sets: Vec<Vec<&str>> = match names.as_slice() {
        [] => vec![vec![]],
        [first] => vec![vec![*first]],
        [first, ..] => vec![vec![*first], names.clone()],
    };
    let mut line = json!({
        "_aws": {
            "Timestamp": at_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": sets,
                "Metrics": [{"Name": metric, "Unit": "Count"}],
            }],
        },
        metric: 1,
    });
    for (k, v) in dims {
        line[*k] = json!(v);
    }
    line
}

/// The EMF document counting one delivery of `kind` for `reason` (an acknowledgement reason,
/// an error name, or how a run was started).
pub fn delivery_line(kind: Delivery, reason: &str, at_ms: u64) -> Value {
    count_line(DELIVERIES, &[("Delivery", kind.name()), ("Reason", reason)], at_ms)
}

/// Counts one delivery (see [`delivery_line`]).
pub fn delivery(kind: Delivery, reason: &str) {
    emit(&delivery_line(kind, reason, now_ms()));
}

/// Counts one `metric` event with `dims` (see [`count_line`]).
pub fn event(metric: &str, dims: &[(&str, &str)]) {
    emit(&count_line(metric, dims, now_ms()));
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

fn emit(line: &Value) {
    println!("{line}");
    if let Some(sink) = SINK.get() {
        sink(line);
    }
}

/// One metric data point as CloudWatch extracts it from an EMF document.
#[derive(Debug, Clone, PartialEq)]
pub struct DataPoint {
    pub namespace: String,
    pub name: String,
    pub value: f64,
    pub unit: String,
    pub dimensions: Vec<(String, String)>,
}

/// The data points of an EMF document: each metric under each of its dimension sets.
pub fn data_points(line: &Value) -> Vec<DataPoint> {
    let mut out = Vec::new();
    let Some(directives) = line.pointer("/_aws/CloudWatchMetrics").and_then(Value::as_array) else {
        return out;
    };
    for d in directives {
        let namespace = d.get("Namespace").and_then(Value::as_str).unwrap_or_default();
        let sets = d
            .get("Dimensions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for m in d.get("Metrics").and_then(Value::as_array).into_iter().flatten() {
            let Some(name) = m.get("Name").and_then(Value::as_str) else {
                continue;
            };
            let Some(value) = line.get(name).and_then(Value::as_f64) else {
                continue;
            };
            let unit = m.get("Unit").and_then(Value::as_str).unwrap_or("None");
            for set in &sets {
                let dims = set
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .filter_map(|k| {
                        line.get(k)
                            .and_then(Value::as_str)
                            .map(|v| (k.to_string(), v.to_string()))
                    })
                    .collect();
                out.push(DataPoint {
                    namespace: namespace.to_string(),
                    name: name.to_string(),
                    value,
                    unit: unit.to_string(),
                    dimensions: dims,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_is_one_count_under_both_dimension_sets() {
        let line = delivery_line(Delivery::Rejected, "MessageNotJson", 1);
        let points = data_points(&line);
        assert_eq!(points.len(), 2);
        assert_eq!(
            points[0].dimensions,
            vec![("Delivery".to_string(), "Rejected".to_string())]
        );
        assert_eq!(points[1].dimensions.len(), 2);
        assert!(points
            .iter()
            .all(|p| p.namespace == NAMESPACE && p.name == DELIVERIES && p.value == 1.0 && p.unit == "Count"));
    }

    #[test]
    fn an_event_without_dimensions_is_one_count_under_the_namespace_alone() {
        let points = data_points(&count_line(APPROVAL_BYPASS, &[], 1));
        assert_eq!(points.len(), 1);
        assert_eq!(
            (points[0].name.as_str(), points[0].dimensions.len()),
            (APPROVAL_BYPASS, 0)
        );
        let points = data_points(&count_line("X", &[("Family", "s3_acl")], 1));
        assert_eq!(points.len(), 1);
        assert_eq!(points[0].dimensions, vec![("Family".to_string(), "s3_acl".to_string())]);
    }
}
