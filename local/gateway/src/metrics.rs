//! What CloudWatch does with a Lambda's Embedded Metric Format lines, for the handlers this
//! gateway hosts: each data point is summed here, by namespace, metric and dimensions, and
//! `GET /_local/metrics` lists the sums. (moto 5.2.5 does not take the Rust SDK's CloudWatch
//! protocol, RPC v2 CBOR, so the points are not put into moto's CloudWatch.)

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

/// (namespace, metric, dimensions) → sum.
type Key = (String, String, Vec<(String, String)>);

#[derive(Default, Clone)]
pub struct Metrics(Arc<Mutex<BTreeMap<Key, f64>>>);

impl Metrics {
    /// Collects every metric line the handlers of this process emit (`ar_core::metrics`).
    pub fn install(&self) {
        let sums = self.0.clone();
        ar_core::metrics::set_sink(move |line| {
            let mut sums = sums.lock().expect("metrics lock");
            for p in ar_core::metrics::data_points(line) {
                *sums.entry((p.namespace, p.name, p.dimensions)).or_default() += p.value;
            }
        });
    }

    /// Every sum, as `[{namespace, metric, dimensions: {name: value}, sum}]`.
    pub fn list(&self) -> Value {
        let sums = self.0.lock().expect("metrics lock");
        Value::Array(
            sums.iter()
                .map(|((namespace, metric, dims), sum)| {
                    let dims: serde_json::Map<String, Value> = dims
                        .iter()
                        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                        .collect();
                    json!({"namespace": namespace, "metric": metric, "dimensions": dims, "sum": sum})
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ar_core::intake::Delivery;

    #[test]
    fn data_points_are_summed_per_dimension_set() {
        let m = Metrics::default();
        let sums = m.0.clone();
        for line in [
            ar_core::metrics::delivery_line(Delivery::Rejected, "MessageNotJson", 1),
            ar_core::metrics::delivery_line(Delivery::Rejected, "InvalidField", 2),
        ] {
            let mut s = sums.lock().unwrap();
            for p in ar_core::metrics::data_points(&line) {
                *s.entry((p.namespace, p.name, p.dimensions)).or_default() += p.value;
            }
        }
        let list = m.list();
        let by_kind = list
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["dimensions"].as_object().unwrap().len() == 1)
            .unwrap();
        assert_eq!(by_kind["sum"], 2.0);
        assert_eq!(list.as_array().unwrap().len(), 3);
    }
}
