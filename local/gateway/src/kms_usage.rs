//! moto 5.2.5 stores a KMS key's `KeyUsage` as sent, so a key created without one (the common
//! case: `aws kms create-key`, or an SDK `CreateKey` with no arguments) is described with
//! `"KeyUsage": null`. AWS defaults it: a `SYMMETRIC_DEFAULT` key is always `ENCRYPT_DECRYPT`, and
//! every `KeyMetadata` carries a `KeyUsage`. The gateway fills it in on the answers that carry a
//! key's metadata, so the local stack answers as AWS does (and code is written against AWS only).

use bytes::Bytes;
use serde_json::Value;

/// The KMS operations (JSON protocol, `X-Amz-Target: TrentService.<op>`) whose answer carries a
/// key's metadata: `KeyMetadata`, or `ReplicaKeyMetadata` for `ReplicateKey`.
const OPERATIONS: &[&str] = &["CreateKey", "DescribeKey", "ReplicateKey"];

/// Whether the request's answer may need `KeyUsage` filled in.
pub fn concerns(headers: &http::HeaderMap) -> bool {
    headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.strip_prefix("TrentService."))
        .is_some_and(|op| OPERATIONS.contains(&op))
}

/// The answer with `"KeyUsage": "ENCRYPT_DECRYPT"` in a key metadata that has none (absent or
/// null) and whose spec is `SYMMETRIC_DEFAULT` or absent (AWS's default spec); anything else
/// (another spec, a usage present, not JSON) is returned byte for byte.
pub fn aws_shaped(body: Bytes) -> Bytes {
    let Ok(mut doc) = serde_json::from_slice::<Value>(&body) else {
        return body;
    };
    let mut changed = false;
    for field in ["KeyMetadata", "ReplicaKeyMetadata"] {
        if let Some(Value::Object(meta)) = doc.get_mut(field) {
            let spec = ["KeySpec", "CustomerMasterKeySpec"]
                .iter()
                .find_map(|k| meta.get(*k).and_then(Value::as_str));
            let usage_missing = meta.get("KeyUsage").is_none_or(Value::is_null);
            if usage_missing && spec.is_none_or(|s| s == "SYMMETRIC_DEFAULT") {
                meta.insert("KeyUsage".into(), Value::String("ENCRYPT_DECRYPT".into()));
                changed = true;
            }
        }
    }
    if changed {
        Bytes::from(doc.to_string())
    } else {
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shaped(v: Value) -> Value {
        serde_json::from_slice(&aws_shaped(Bytes::from(v.to_string()))).unwrap()
    }

    #[test]
    fn a_symmetric_key_without_usage_gets_encrypt_decrypt() {
        // What moto 5.2.5 answers to a CreateKey without KeyUsage (trimmed).
        let moto = json!({"KeyMetadata": {
            "KeyId": "k", "KeySpec": "SYMMETRIC_DEFAULT", "CustomerMasterKeySpec": "SYMMETRIC_DEFAULT",
            "KeyUsage": null, "KeyManager": "CUSTOMER", "CreationDate": 1712345678.123456}});
        let out = shaped(moto);
        assert_eq!(out["KeyMetadata"]["KeyUsage"], "ENCRYPT_DECRYPT");
        assert_eq!(out["KeyMetadata"]["KeySpec"], "SYMMETRIC_DEFAULT");
        assert_eq!(out["KeyMetadata"]["CreationDate"], 1712345678.123456);
        // Absent rather than null, and with no spec at all (AWS's default spec).
        let out = shaped(json!({"KeyMetadata": {"KeyId": "k"}}));
        assert_eq!(out["KeyMetadata"]["KeyUsage"], "ENCRYPT_DECRYPT");
        let out = shaped(json!({"KeyMetadata": {"KeyId": "k", "CustomerMasterKeySpec": "SYMMETRIC_DEFAULT"}}));
        assert_eq!(out["KeyMetadata"]["KeyUsage"], "ENCRYPT_DECRYPT");
        // ReplicateKey's answer.
        let out = shaped(json!({"ReplicaKeyMetadata": {"KeySpec": "SYMMETRIC_DEFAULT", "KeyUsage": null}}));
        assert_eq!(out["ReplicaKeyMetadata"]["KeyUsage"], "ENCRYPT_DECRYPT");
    }

    #[test]
    fn anything_else_is_passed_through_byte_for_byte() {
        for body in [
            r#"{"KeyMetadata": {"KeySpec": "SYMMETRIC_DEFAULT", "KeyUsage": "GENERATE_VERIFY_MAC"}}"#,
            r#"{"KeyMetadata": {"KeySpec": "RSA_2048", "KeyUsage": "SIGN_VERIFY"}}"#,
            // Another spec without a usage: AWS would not have created it; not guessed.
            r#"{"KeyMetadata": {"KeySpec": "HMAC_256", "KeyUsage": null}}"#,
            r#"{"KeyMetadata": {"KeySpec": "RSA_2048"}}"#,
            r#"{"Keys": [{"KeyId": "k"}], "Truncated": false}"#,
            r#"{"__type": "NotFoundException", "message": "Invalid keyId k"}"#,
            "not json",
            "",
        ] {
            let body = Bytes::from(body);
            assert_eq!(aws_shaped(body.clone()), body);
        }
    }

    #[test]
    fn only_the_kms_operations_that_answer_key_metadata() {
        let with = |target: &str| {
            let mut h = http::HeaderMap::new();
            h.insert("x-amz-target", target.parse().unwrap());
            concerns(&h)
        };
        assert!(with("TrentService.DescribeKey"));
        assert!(with("TrentService.CreateKey"));
        assert!(with("TrentService.ReplicateKey"));
        assert!(!with("TrentService.ListKeys"));
        assert!(!with("TrentService.GetKeyRotationStatus"));
        assert!(!with("DynamoDB_20120810.DescribeKey"));
        assert!(!concerns(&http::HeaderMap::new()));
    }
}
