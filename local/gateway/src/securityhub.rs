//! Security Hub's `BatchUpdateFindings` (`PATCH /findings/batchupdate`), which moto 5.2.5 lacks
//! (its Security Hub has `BatchImportFindings` and `GetFindings`, without filters, and no
//! `BatchUpdateFindings` route).
//!
//! Answered as AWS answers it, `{"ProcessedFindings": [{Id, ProductArn}], "UnprocessedFindings":
//! [{FindingIdentifier, ErrorCode, ErrorMessage}]}`, and recorded in moto itself: the named
//! findings are read with moto's `GetFindings` (in the caller's account and region, the request's
//! own signature headers reused), the update applied to each as AWS applies it (`Note` with
//! `UpdatedAt`, `Workflow.Status`, `Severity`, `VerificationState`, `Confidence`, `Criticality`,
//! `Types`, `UserDefinedFields`, `RelatedFindings`; `UpdatedAt` left alone, as AWS does), and the
//! finding imported back with `BatchImportFindings`, which replaces the fields given. A test
//! therefore imports its finding into moto first and reads the update back with the ordinary
//! `GetFindings` call; a finding moto does not hold is `FindingNotFound`, as in AWS.

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Map, Value};

use crate::server::{respond, Body, Gateway};

pub const PATH: &str = "/findings/batchupdate";

/// Whether a request is `BatchUpdateFindings` (the SDK sends PATCH; POST is taken too).
pub fn is_batch_update(method: &Method, path: &str) -> bool {
    (method == Method::PATCH || method == Method::POST) && path == PATH
}

const WORKFLOW_STATUSES: [&str; 4] = ["NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED"];
/// The fields `BatchUpdateFindings` may set besides `Note` and `Workflow`.
const PLAIN_FIELDS: [&str; 5] = [
    "VerificationState",
    "Confidence",
    "Criticality",
    "Types",
    "RelatedFindings",
];

/// Security Hub's error for a request it refuses whole.
fn invalid(request_id: &str, message: &str) -> http::Response<Body> {
    let mut r = respond(
        StatusCode::BAD_REQUEST,
        request_id,
        json!({"Code": "InvalidInputException", "Message": message}),
    );
    r.headers_mut().insert(
        "x-amzn-ErrorType",
        http::HeaderValue::from_static("InvalidInputException"),
    );
    r
}

/// What the request asks, validated as Security Hub validates it.
#[derive(Debug, PartialEq)]
pub struct Update {
    pub identifiers: Vec<(String, String)>,
    pub fields: Map<String, Value>,
}

pub fn parse(body: &[u8]) -> Result<Update, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let ids = v
        .get("FindingIdentifiers")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or("FindingIdentifiers: at least one finding is required")?;
    if ids.len() > 100 {
        return Err("FindingIdentifiers: at most 100 findings".into());
    }
    let mut identifiers = Vec::new();
    for i in ids {
        let (Some(id), Some(product)) = (
            i.get("Id").and_then(Value::as_str),
            i.get("ProductArn").and_then(Value::as_str),
        ) else {
            return Err("FindingIdentifiers: each needs Id and ProductArn".into());
        };
        identifiers.push((id.to_string(), product.to_string()));
    }
    let mut fields = Map::new();
    if let Some(note) = v.get("Note") {
        let (Some(text), Some(by)) = (
            note.get("Text").and_then(Value::as_str),
            note.get("UpdatedBy").and_then(Value::as_str),
        ) else {
            return Err("Note: Text and UpdatedBy are required".into());
        };
        if text.chars().count() > 512 || by.chars().count() > 512 {
            return Err("Note: Text and UpdatedBy are at most 512 characters".into());
        }
        fields.insert(
            "Note".into(),
            json!({"Text": text, "UpdatedBy": by, "UpdatedAt": now_iso()}),
        );
    }
    if let Some(w) = v.get("Workflow") {
        let status = w.get("Status").and_then(Value::as_str).unwrap_or_default();
        if !WORKFLOW_STATUSES.contains(&status) {
            return Err(format!(
                "Workflow.Status: {status:?} is not one of {WORKFLOW_STATUSES:?}"
            ));
        }
        fields.insert("Workflow".into(), json!({"Status": status}));
    }
    if let Some(s) = v.get("Severity") {
        fields.insert("Severity".into(), s.clone());
    }
    if let Some(u) = v.get("UserDefinedFields") {
        fields.insert("UserDefinedFields".into(), u.clone());
    }
    for k in PLAIN_FIELDS {
        if let Some(x) = v.get(k) {
            fields.insert(k.into(), x.clone());
        }
    }
    if fields.is_empty() {
        return Err("nothing to update".into());
    }
    Ok(Update { identifiers, fields })
}

/// The finding as AWS leaves it after the update.
pub fn apply(finding: &mut Value, fields: &Map<String, Value>) {
    for (k, v) in fields {
        match k.as_str() {
            // Merged into what the finding has (a label alone keeps the rest), as AWS does.
            "Severity" | "UserDefinedFields" => {
                let slot = &mut finding[k.as_str()];
                if !slot.is_object() {
                    *slot = json!({});
                }
                for (sk, sv) in v.as_object().into_iter().flatten() {
                    slot[sk.as_str()] = sv.clone();
                }
            }
            _ => finding[k.as_str()] = v.clone(),
        }
    }
}

fn now_iso() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    iso(secs)
}

/// RFC 3339 UTC (`2026-11-18T11:06:40Z`) for an epoch second.
pub fn iso(secs: u64) -> String {
    aws_sdk_sfn::primitives::DateTime::from_secs(secs as i64)
        .fmt(aws_sdk_sfn::primitives::DateTimeFormat::DateTime)
        .unwrap_or_default()
}

/// `PATCH /findings/batchupdate`.
pub async fn batch_update(gw: Arc<Gateway>, parts: http::request::Parts, body: Bytes) -> http::Response<Body> {
    let request_id = gw.next_request_id();
    let update = match parse(&body) {
        Ok(u) => u,
        Err(e) => return invalid(&request_id, &e),
    };
    // Every finding moto holds in the caller's account and region (moto's GetFindings takes no filter).
    let mut held: Vec<Value> = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut req = json!({"MaxResults": 100});
        if let Some(t) = &token {
            req["NextToken"] = json!(t);
        }
        let page = match moto_json(&gw, &parts.headers, Method::POST, "/findings", &req).await {
            Ok(p) => p,
            Err(e) => {
                return respond(
                    StatusCode::BAD_GATEWAY,
                    &request_id,
                    json!({"message": format!("moto GetFindings: {e}")}),
                )
            }
        };
        held.extend(page["Findings"].as_array().cloned().unwrap_or_default());
        token = page["NextToken"].as_str().filter(|t| !t.is_empty()).map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    let mut processed = Vec::new();
    let mut unprocessed = Vec::new();
    let mut updated = Vec::new();
    for (id, product) in &update.identifiers {
        let ident = json!({"Id": id, "ProductArn": product});
        if updated
            .iter()
            .any(|f: &Value| f["Id"] == id.as_str() && f["ProductArn"] == product.as_str())
        {
            unprocessed.push(
                json!({"FindingIdentifier": ident, "ErrorCode": "DuplicatedFindingIdentifier",
                                    "ErrorMessage": "Duplicated finding identifier"}),
            );
            continue;
        }
        match held
            .iter()
            .find(|f| f["Id"] == id.as_str() && f["ProductArn"] == product.as_str())
        {
            Some(f) => {
                let mut f = f.clone();
                apply(&mut f, &update.fields);
                updated.push(f);
                processed.push(ident);
            }
            None => unprocessed.push(json!({"FindingIdentifier": ident, "ErrorCode": "FindingNotFound",
                                            "ErrorMessage": "Finding Not Found"})),
        }
    }
    if !updated.is_empty() {
        match moto_json(
            &gw,
            &parts.headers,
            Method::POST,
            "/findings/import",
            &json!({"Findings": updated}),
        )
        .await
        {
            Ok(out) if out["FailedCount"].as_u64().unwrap_or(0) == 0 => {}
            Ok(out) => {
                return respond(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &request_id,
                    json!({"message": format!("moto BatchImportFindings refused the update: {out}")}),
                )
            }
            Err(e) => {
                return respond(
                    StatusCode::BAD_GATEWAY,
                    &request_id,
                    json!({"message": format!("moto BatchImportFindings: {e}")}),
                )
            }
        }
    }
    tracing::info!(
        processed = processed.len(),
        unprocessed = unprocessed.len(),
        "BatchUpdateFindings"
    );
    respond(
        StatusCode::OK,
        &request_id,
        json!({"ProcessedFindings": processed, "UnprocessedFindings": unprocessed}),
    )
}

/// A JSON call to moto with the caller's own headers (its account and region come from the
/// signature's credential scope, which moto reads without checking the signature).
pub async fn moto_json(
    gw: &Gateway,
    headers: &http::HeaderMap,
    method: Method,
    path: &str,
    body: &Value,
) -> Result<Value, String> {
    let bytes = Bytes::from(body.to_string());
    let mut req = http::Request::builder()
        .method(method)
        .uri(format!("{}{path}", gw.moto))
        .version(http::Version::HTTP_11);
    for (k, v) in headers.iter() {
        if k != http::header::CONTENT_LENGTH {
            req = req.header(k, v);
        }
    }
    let req = req
        .header(http::header::CONTENT_LENGTH, bytes.len())
        .body(http_body_util::Full::new(bytes))
        .map_err(|e| e.to_string())?;
    let resp = gw.moto_client().request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status();
    let body = resp.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
    if !status.is_success() {
        return Err(format!("HTTP {status}: {}", String::from_utf8_lossy(&body)));
    }
    serde_json::from_slice(&body).map_err(|e| format!("not JSON: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_update_is_validated_as_security_hub_does() {
        let ok = parse(
            br#"{"FindingIdentifiers": [{"Id": "f", "ProductArn": "p"}],
                  "Note": {"Text": "t", "UpdatedBy": "me"}, "Workflow": {"Status": "RESOLVED"}}"#,
        )
        .unwrap();
        assert_eq!(ok.identifiers, vec![("f".to_string(), "p".to_string())]);
        assert_eq!(ok.fields["Workflow"], json!({"Status": "RESOLVED"}));
        assert_eq!(ok.fields["Note"]["UpdatedBy"], "me");
        for bad in [
            &br#"{"FindingIdentifiers": [], "Note": {"Text": "t", "UpdatedBy": "me"}}"#[..],
            br#"{"FindingIdentifiers": [{"Id": "f"}], "Note": {"Text": "t", "UpdatedBy": "me"}}"#,
            br#"{"FindingIdentifiers": [{"Id": "f", "ProductArn": "p"}], "Note": {"Text": "t"}}"#,
            br#"{"FindingIdentifiers": [{"Id": "f", "ProductArn": "p"}], "Workflow": {"Status": "DONE"}}"#,
            br#"{"FindingIdentifiers": [{"Id": "f", "ProductArn": "p"}]}"#,
            b"not json",
        ] {
            assert!(parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn the_update_replaces_workflow_and_note_and_merges_severity() {
        let mut f = json!({"Id": "f", "Workflow": {"Status": "NEW"}, "Severity": {"Label": "HIGH", "Original": "8"},
                           "UpdatedAt": "2026-01-01T00:00:00.000Z"});
        let u = parse(
            br#"{"FindingIdentifiers": [{"Id": "f", "ProductArn": "p"}], "Note": {"Text": "t", "UpdatedBy": "me"},
                 "Workflow": {"Status": "RESOLVED"}, "Severity": {"Label": "LOW"}}"#,
        )
        .unwrap();
        apply(&mut f, &u.fields);
        assert_eq!(f["Workflow"]["Status"], "RESOLVED");
        assert_eq!(f["Note"]["Text"], "t");
        assert_eq!(f["Severity"], json!({"Label": "LOW", "Original": "8"}));
        assert_eq!(f["UpdatedAt"], "2026-01-01T00:00:00.000Z");
    }

    #[test]
    fn iso_dates() {
        assert_eq!(iso(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso(1_795_000_000), "2026-11-18T11:06:40Z");
        assert_eq!(iso(951_782_400), "2000-02-29T00:00:00Z");
    }
}
