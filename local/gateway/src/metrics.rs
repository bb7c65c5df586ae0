//! What CloudWatch Logs does with a Lambda's Embedded Metric Format lines, for the handlers this
//! gateway hosts: each data point goes to moto's CloudWatch (PutMetricData), so
//! `aws cloudwatch get-metric-statistics --namespace AutoRemediate ...` answers on the local
//! stack as it would on AWS.

use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use serde_json::Value;

/// Forwards every metric line the handlers emit (`ar_core::metrics`) to moto's CloudWatch, in
/// order, from one task (a line is never lost to a full queue; PutMetricData errors are logged).
pub fn forward_to(moto: &str, region: &str) {
    let client = aws_sdk_cloudwatch::Client::new(&ar_core::aws::local_sdk_config(moto, region));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Value>();
    tokio::spawn(async move {
        while let Some(line) = rx.recv().await {
            for point in ar_core::metrics::data_points(&line) {
                let datum = MetricDatum::builder()
                    .metric_name(&point.name)
                    .value(point.value)
                    .unit(StandardUnit::from(point.unit.as_str()))
                    .set_dimensions(Some(
                        point
                            .dimensions
                            .iter()
                            .map(|(k, v)| Dimension::builder().name(k).value(v).build())
                            .collect(),
                    ))
                    .build();
                if let Err(e) = client
                    .put_metric_data()
                    .namespace(&point.namespace)
                    .metric_data(datum)
                    .send()
                    .await
                {
                    tracing::warn!(error = %aws_sdk_cloudwatch::error::DisplayErrorContext(&e), "PutMetricData to moto failed");
                }
            }
        }
    });
    ar_core::metrics::set_sink(move |line| {
        let _ = tx.send(line.clone());
    });
}
