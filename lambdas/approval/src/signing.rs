//! Approval links: HMAC-SHA256 over (approval id, approver, action, expiry) with a key that is
//! configuration. The link carries no task token: only what the signature covers.

use ar_core::config::SigningKey;
use sha2::{Digest, Sha256};

/// What a link does when confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Approve,
    Reject,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Approve => "approve",
            Action::Reject => "reject",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        match s {
            "approve" => Some(Action::Approve),
            "reject" => Some(Action::Reject),
            _ => None,
        }
    }

    pub fn other(self) -> Action {
        match self {
            Action::Approve => Action::Reject,
            Action::Reject => Action::Approve,
        }
    }
}

/// HMAC-SHA256 (RFC 2104), on the `sha2` the workspace already has.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    inner.update(message);
    let inner = inner.finalize();
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner);
    outer.finalize().into()
}

/// The signed fields of a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkClaims {
    pub approval_id: String,
    pub approver: String,
    pub action: Action,
    /// Epoch seconds after which the link is refused.
    pub expires: u64,
}

impl LinkClaims {
    fn message(&self) -> String {
        format!(
            "auto-remediate-approval-v1\n{}\n{}\n{}\n{}",
            self.approval_id,
            self.approver,
            self.action.as_str(),
            self.expires
        )
    }

    pub fn sign(&self, key: &SigningKey) -> String {
        hex::encode(hmac_sha256(key.bytes(), self.message().as_bytes()))
    }

    /// Constant-time comparison of a presented signature.
    pub fn verify(&self, key: &SigningKey, signature: &str) -> bool {
        let expected = self.sign(key);
        expected.len() == signature.len()
            && expected
                .bytes()
                .zip(signature.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }

    /// The query string of a link (`approver=..&action=..&expires=..&sig=..`).
    pub fn query(&self, key: &SigningKey) -> String {
        format!(
            "approver={}&action={}&expires={}&sig={}",
            url_encode(&self.approver),
            self.action.as_str(),
            self.expires,
            self.sign(key)
        )
    }
}

pub fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

pub fn url_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Parses `a=b&c=d` (query strings and form bodies); later duplicates are ignored.
pub fn parse_form(s: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for pair in s.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if let (Some(k), Some(v)) = (url_decode(k), url_decode(v)) {
            if !out.iter().any(|(x, _)| *x == k) {
                out.push((k, v));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_test_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    fn key() -> SigningKey {
        SigningKey::new(vec![7u8; 32]).unwrap()
    }

    fn claims() -> LinkClaims {
        LinkClaims {
            approval_id: "abc".into(),
            approver: "sec@example.com".into(),
            action: Action::Approve,
            expires: 1_800_000_000,
        }
    }

    #[test]
    fn any_change_to_a_signed_field_breaks_the_signature() {
        let sig = claims().sign(&key());
        assert!(claims().verify(&key(), &sig));
        let mut swapped = claims();
        swapped.action = Action::Reject;
        assert!(!swapped.verify(&key(), &sig));
        let mut other = claims();
        other.approver = "eve@example.com".into();
        assert!(!other.verify(&key(), &sig));
        let mut later = claims();
        later.expires += 1;
        assert!(!later.verify(&key(), &sig));
        let mut tampered = sig.clone().into_bytes();
        tampered[5] = if tampered[5] == b'0' { b'1' } else { b'0' };
        assert!(!claims().verify(&key(), &String::from_utf8(tampered).unwrap()));
        assert!(!claims().verify(&SigningKey::new(vec![8u8; 32]).unwrap(), &sig));
    }

    #[test]
    fn forms_round_trip() {
        let q = claims().query(&key());
        let form = parse_form(&q);
        assert_eq!(form[0], ("approver".to_string(), "sec@example.com".to_string()));
        assert_eq!(url_decode("a%40b.c"), Some("a@b.c".into()));
        assert_eq!(url_decode("%zz"), None);
    }
}
