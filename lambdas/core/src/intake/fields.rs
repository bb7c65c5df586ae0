//! Reading one field of a message as a real sender sends it: strings, epoch-millisecond dates
//! (numbers, or strings of digits), tags, `extradata`. Each function names the field it refuses.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::Error;

/// Check messages are a few KiB; anything beyond this is not one.
pub const MAX_MESSAGE_BYTES: usize = 32 * 1024;
const MAX_FIELD_CHARS: usize = 1024;
const MAX_TAGS: usize = 64;

pub fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The message as a JSON object (some relays JSON-encode it twice).
pub fn json_object(message: &str) -> Result<Map<String, Value>, Error> {
    if message.len() > MAX_MESSAGE_BYTES {
        return Err(Error::MessageTooLarge {
            size: message.len(),
            limit: MAX_MESSAGE_BYTES,
        });
    }
    let mut value: Value = serde_json::from_str(message).map_err(|e| {
        Error::MessageNotJson(format!(
            "{:?} error at line {} column {}",
            e.classify(),
            e.line(),
            e.column()
        ))
    })?;
    if let Value::String(inner) = &value {
        value =
            serde_json::from_str(inner).map_err(|_| Error::MessageNotJson("a JSON string, not an object".into()))?;
    }
    match value {
        Value::Object(obj) => Ok(obj),
        other => Err(Error::MessageNotJson(format!(
            "a JSON {}, not an object",
            json_kind(&other)
        ))),
    }
}

fn check_text(field: &'static str, s: &str) -> Result<(), Error> {
    if s.chars().count() > MAX_FIELD_CHARS {
        return Err(Error::invalid_field(
            field,
            format!("longer than {MAX_FIELD_CHARS} characters"),
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(Error::invalid_field(field, "contains control characters"));
    }
    Ok(())
}

fn wrong_type(field: &'static str, want: &str, got: &Value) -> Error {
    Error::invalid_field(field, format!("expected {want}, got a {}", json_kind(got)))
}

/// An identifier-like string field (numbers accepted as their text); absent, null or blank is `None`.
pub fn optional_str(obj: &Map<String, Value>, field: &'static str) -> Result<Option<String>, Error> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let s = s.trim();
            if s.is_empty() {
                return Ok(None);
            }
            check_text(field, s)?;
            Ok(Some(s.to_string()))
        }
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(wrong_type(field, "a string", other)),
    }
}

/// A free-text field (a title, the scanner's message): kept for people to read, so cut to
/// length and with control characters (line breaks) made spaces rather than refused.
pub fn free_text(obj: &Map<String, Value>, field: &'static str) -> Result<Option<String>, Error> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(
            s.chars()
                .take(MAX_FIELD_CHARS)
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect(),
        )),
        Some(other) => Err(wrong_type(field, "a string", other)),
    }
}

/// A string of any length (a console link), absent or null as `None`.
pub fn long_str<'a>(obj: &'a Map<String, Value>, field: &'static str) -> Result<Option<&'a str>, Error> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(other) => Err(wrong_type(field, "a string", other)),
    }
}

/// Epoch milliseconds, as a number or a string of digits; absent or null as `None`.
pub fn optional_epoch_ms(obj: &Map<String, Value>, field: &'static str) -> Result<Option<u64>, Error> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0 && f.fract() == 0.0).map(|f| f as u64))
            .map(Some)
            .ok_or_else(|| Error::invalid_field(field, "expected epoch milliseconds")),
        Some(Value::String(s)) => s
            .trim()
            .parse::<u64>()
            .map(Some)
            .map_err(|_| Error::invalid_field(field, "expected epoch milliseconds")),
        Some(other) => Err(wrong_type(field, "a number", other)),
    }
}

/// Tags: `"key::value"` strings split on the first `::` (the value may hold `::` and colons),
/// `{Key, Value}` objects, or one object of key to value.
pub fn tags(value: Option<&Value>) -> Result<BTreeMap<String, String>, Error> {
    let mut tags = BTreeMap::new();
    let mut put = |k: &str, v: &str| -> Result<(), Error> {
        check_text("tags", k)?;
        check_text("tags", v)?;
        if tags.len() >= MAX_TAGS {
            return Err(Error::invalid_field("tags", format!("more than {MAX_TAGS} tags")));
        }
        tags.insert(k.to_string(), v.to_string());
        Ok(())
    };
    match value {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) => {
            for (k, v) in map {
                match v {
                    Value::String(s) => put(k, s)?,
                    Value::Null => put(k, "")?,
                    Value::Number(n) => put(k, &n.to_string())?,
                    Value::Bool(b) => put(k, &b.to_string())?,
                    _ => return Err(Error::invalid_field("tags", "tag values must be strings")),
                }
            }
        }
        Some(Value::Array(items)) => {
            for item in items {
                match item {
                    Value::String(s) => match s.split_once("::") {
                        Some((k, v)) => put(k, v)?,
                        None => put(s, "")?,
                    },
                    Value::Object(o) => {
                        let k = o
                            .get("Key")
                            .or_else(|| o.get("key"))
                            .and_then(Value::as_str)
                            .ok_or_else(|| Error::invalid_field("tags", "a tag object without a Key"))?;
                        let v = o
                            .get("Value")
                            .or_else(|| o.get("value"))
                            .and_then(Value::as_str)
                            .unwrap_or("");
                        put(k, v)?;
                    }
                    other => return Err(wrong_type("tags", "strings or {Key, Value} objects", other)),
                }
            }
        }
        Some(other) => return Err(wrong_type("tags", "a list or an object", other)),
    }
    Ok(tags)
}

/// `extradata`, `[{name, label, type, value}]` with values of any JSON type: the string values
/// by name (what families may read, e.g. `UserName`); other values are left aside.
pub fn extradata(value: Option<&Value>) -> Result<BTreeMap<String, String>, Error> {
    let mut out = BTreeMap::new();
    match value {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for item in items {
                let Value::Object(o) = item else {
                    return Err(wrong_type("extradata", "{name, value} objects", item));
                };
                if let (Some(Value::String(name)), Some(Value::String(v))) = (o.get("name"), o.get("value")) {
                    if check_text("extradata", name).is_ok() && check_text("extradata", v).is_ok() {
                        out.insert(name.clone(), v.clone());
                    }
                }
            }
        }
        Some(other) => return Err(wrong_type("extradata", "a list", other)),
    }
    Ok(out)
}

/// The status, `SUCCESS` or `FAILURE` (also `statuses: [one]`, as some relays send it).
pub fn status(obj: &Map<String, Value>) -> Result<crate::finding::Status, Error> {
    use crate::finding::Status;
    let (field, value) = match (obj.get("status"), obj.get("statuses")) {
        (Some(v), _) if !v.is_null() => ("status", v),
        (_, Some(v)) if !v.is_null() => ("statuses", v),
        _ => return Err(Error::MissingField("status")),
    };
    let text = match value {
        Value::String(s) => s.as_str(),
        Value::Array(items) if items.len() == 1 => items[0]
            .as_str()
            .ok_or_else(|| Error::invalid_field(field, "expected a string"))?,
        Value::Array(_) => return Err(Error::invalid_field(field, "expected exactly one status")),
        other => return Err(wrong_type(field, "a string", other)),
    };
    match text.trim().to_ascii_uppercase().as_str() {
        "FAILURE" => Ok(Status::Failure),
        "SUCCESS" => Ok(Status::Success),
        _ => Err(Error::invalid_field(field, "expected SUCCESS or FAILURE")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tags_split_on_the_first_double_colon_and_keep_colons_in_values() {
        let t = tags(Some(&json!([
            "LastUpdatedTime::Sat  9 Feb 2019 19:11:06 AEDT",
            "url::https://x::y",
            "bare"
        ])))
        .unwrap();
        assert_eq!(t["LastUpdatedTime"], "Sat  9 Feb 2019 19:11:06 AEDT");
        assert_eq!(t["url"], "https://x::y");
        assert_eq!(t["bare"], "");
    }

    #[test]
    fn extradata_keeps_string_values_and_accepts_any_other_type() {
        let e = extradata(Some(&json!([
            {"name": "UserName", "label": "User", "type": "META", "value": "deploy-bot"},
            {"name": "Age", "value": 93},
            {"name": "Policy", "value": {"a": [1]}},
            {"name": "Flag", "value": true},
            {"name": "List", "value": ["x"]},
        ])))
        .unwrap();
        assert_eq!(e.len(), 1);
        assert_eq!(e["UserName"], "deploy-bot");
        assert_eq!(extradata(Some(&json!("x"))).unwrap_err().name(), "InvalidField");
    }

    #[test]
    fn free_text_is_kept_readable_not_refused() {
        let m = json!({"message": "line one\nline two", "long": "x".repeat(5000)});
        let o = m.as_object().unwrap();
        assert_eq!(free_text(o, "message").unwrap().unwrap(), "line one line two");
        assert_eq!(free_text(o, "long").unwrap().unwrap().len(), MAX_FIELD_CHARS);
    }
}
