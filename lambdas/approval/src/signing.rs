//! Approval links: HMAC-SHA256 (RustCrypto `hmac`) over (key id, approval id, approver, action,
//! expiry) with a key that is configuration. The link carries no task token: only what the
//! signature covers. The key id picks the key among the current and previous ones
//! ([`KeyRing`]), so links sent before a rotation keep working; an unknown key id fails exactly like
//! a bad signature.
//!
//! Forms (query strings and POST bodies) are parsed before any signature check, so parsing is
//! bounded: at most [`MAX_FORM_BYTES`] bytes and [`MAX_FORM_PAIRS`] pairs, one linear pass, and
//! a signed field present twice is refused rather than resolved.

use ar_core::config::{KeyRing, SigningKey};
use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The largest query string or form body parsed.
pub const MAX_FORM_BYTES: usize = 4096;
/// The most `name=value` pairs parsed.
pub const MAX_FORM_PAIRS: usize = 16;
/// The fields a link's signature covers (with the approval id of the path): each at most once.
pub const SIGNED_FIELDS: [&str; 5] = ["approver", "action", "expires", "kid", "sig"];

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
    fn mac(&self, key: &SigningKey) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(key.bytes()).expect("HMAC accepts keys of any length");
        mac.update(
            format!(
                "auto-remediate-approval-v2\n{}\n{}\n{}\n{}\n{}",
                key.kid(),
                self.approval_id,
                self.approver,
                self.action.as_str(),
                self.expires
            )
            .as_bytes(),
        );
        mac
    }

    /// The signature (64 lowercase hex characters) with `key`, covering its key id.
    pub fn sign(&self, key: &SigningKey) -> String {
        hex::encode(self.mac(key).finalize().into_bytes())
    }

    /// Whether `signature` is this link's, with the key named `kid` (current or previous).
    /// Constant-time comparison; an unknown key id or a malformed signature is simply `false`.
    pub fn verify(&self, keys: &KeyRing, kid: &str, signature: &str) -> bool {
        let Some(key) = keys.get(kid) else {
            return false;
        };
        // Only the form `sign` produces: a case-changed signature is not the same link.
        if signature.len() != 64 || !signature.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return false;
        }
        let Ok(bytes) = hex::decode(signature) else {
            return false;
        };
        self.mac(key).verify_slice(&bytes).is_ok()
    }

    /// The query string of a link (`approver=..&action=..&expires=..&kid=..&sig=..`).
    pub fn query(&self, key: &SigningKey) -> String {
        format!(
            "approver={}&action={}&expires={}&kid={}&sig={}",
            url_encode(&self.approver),
            self.action.as_str(),
            self.expires,
            key.kid(),
            self.sign(key)
        )
    }
}

/// A link's field, percent-encoded: RFC 3986's unreserved characters as they are, every other
/// byte `%XY` with uppercase hex digits (the only escapes [`url_decode`] accepts).
pub fn url_encode(s: &str) -> String {
    utf8_percent_encode(s, NOT_UNRESERVED).to_string()
}

/// Every byte but RFC 3986's unreserved characters (`A-Z a-z 0-9 - . _ ~`).
const NOT_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Why a form was refused. The text names the problem, never a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormError {
    TooLarge {
        size: usize,
    },
    TooManyPairs,
    /// A `%` not followed by two uppercase hex digits, or a decoded part that is not UTF-8.
    BadEncoding,
    /// A signed field given more than once.
    Duplicate(&'static str),
}

impl std::fmt::Display for FormError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FormError::TooLarge { size } => write!(f, "{size} bytes, more than the {MAX_FORM_BYTES} accepted"),
            FormError::TooManyPairs => write!(f, "more than {MAX_FORM_PAIRS} fields"),
            FormError::BadEncoding => f.write_str("malformed percent-encoding"),
            FormError::Duplicate(name) => write!(f, "the field `{name}` is given more than once"),
        }
    }
}

impl std::error::Error for FormError {}

/// Decodes one `application/x-www-form-urlencoded` part: `+` is a space, `%XY` a byte (decoded by
/// the `percent-encoding` crate). Only uppercase hex digits (what browsers and our links send),
/// and every `%` must start such an escape, so each decoded value has one encoding of each of its
/// bytes; the decoded bytes must be UTF-8.
pub fn url_decode(s: &str) -> Result<String, FormError> {
    let bytes = s.as_bytes();
    let upper_hex = |b: &u8| matches!(b, b'0'..=b'9' | b'A'..=b'F');
    let escapes_are_canonical = bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'%')
        .all(|(i, _)| matches!(bytes.get(i + 1..i + 3), Some([hi, lo]) if upper_hex(hi) && upper_hex(lo)));
    if !escapes_are_canonical {
        return Err(FormError::BadEncoding);
    }
    percent_decode_str(&s.replace('+', " "))
        .decode_utf8()
        .map(|decoded| decoded.into_owned())
        .map_err(|_| FormError::BadEncoding)
}

/// Parses `a=b&c=d` (query strings and form bodies), bounded: at most [`MAX_FORM_BYTES`] bytes
/// (checked before anything else) and [`MAX_FORM_PAIRS`] pairs; a [signed field](SIGNED_FIELDS)
/// given twice is refused; of other fields given twice the first counts. Empty pairs are skipped.
pub fn parse_form(s: &str) -> Result<Vec<(String, String)>, FormError> {
    if s.len() > MAX_FORM_BYTES {
        return Err(FormError::TooLarge { size: s.len() });
    }
    let mut out: Vec<(String, String)> = Vec::new();
    for (n, pair) in s.split('&').filter(|p| !p.is_empty()).enumerate() {
        if n == MAX_FORM_PAIRS {
            return Err(FormError::TooManyPairs);
        }
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (url_decode(k)?, url_decode(v)?);
        if out.iter().any(|(x, _)| *x == k) {
            if let Some(name) = SIGNED_FIELDS.iter().find(|n| **n == k) {
                return Err(FormError::Duplicate(name));
            }
            continue;
        }
        out.push((k, v));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::new(vec![7u8; 32]).unwrap()
    }

    fn old_key() -> SigningKey {
        SigningKey::new(vec![6u8; 32]).unwrap()
    }

    fn ring() -> KeyRing {
        KeyRing::new(key(), [])
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
    fn signatures_are_rfc_4231_hmac_sha256_over_the_claims_and_key_id() {
        // RFC 4231 test case 2, through the same crate and types the links use.
        let mut mac = HmacSha256::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let mut mac = HmacSha256::new_from_slice(key().bytes()).unwrap();
        mac.update(
            format!(
                "auto-remediate-approval-v2\n{}\nabc\nsec@example.com\napprove\n1800000000",
                key().kid()
            )
            .as_bytes(),
        );
        assert_eq!(claims().sign(&key()), hex::encode(mac.finalize().into_bytes()));
    }

    #[test]
    fn any_change_to_a_signed_field_breaks_the_signature() {
        let kid = key().kid().to_string();
        let sig = claims().sign(&key());
        assert!(claims().verify(&ring(), &kid, &sig));
        let mut swapped = claims();
        swapped.action = Action::Reject;
        assert!(!swapped.verify(&ring(), &kid, &sig));
        let mut other = claims();
        other.approver = "eve@example.com".into();
        assert!(!other.verify(&ring(), &kid, &sig));
        let mut later = claims();
        later.expires += 1;
        assert!(!later.verify(&ring(), &kid, &sig));
        let mut tampered = sig.clone().into_bytes();
        tampered[5] = if tampered[5] == b'0' { b'1' } else { b'0' };
        assert!(!claims().verify(&ring(), &kid, &String::from_utf8(tampered).unwrap()));
        assert!(!claims().verify(&ring(), &kid, &sig.to_uppercase()));
        assert!(!claims().verify(&KeyRing::new(old_key(), []), &kid, &sig));
    }

    #[test]
    fn a_link_signed_with_the_previous_key_still_verifies_after_a_rotation() {
        let sent = claims().sign(&old_key());
        let rotated = KeyRing::new(key(), [old_key()]);
        assert!(claims().verify(&rotated, old_key().kid(), &sent));
        // The signature covers the key id: the same signature under the new key's id fails.
        assert!(!claims().verify(&rotated, key().kid(), &sent));
    }

    #[test]
    fn a_link_signed_with_a_removed_key_no_longer_verifies() {
        let sent = claims().sign(&old_key());
        assert!(claims().verify(&KeyRing::new(key(), [old_key()]), old_key().kid(), &sent));
        let removed = KeyRing::new(key(), []);
        assert!(!claims().verify(&removed, old_key().kid(), &sent));
        assert!(!claims().verify(&removed, key().kid(), &sent));
        assert!(!claims().verify(&removed, "", &sent));
    }

    #[test]
    fn forms_round_trip() {
        let q = claims().query(&key());
        let form = parse_form(&q).unwrap();
        assert_eq!(form[0], ("approver".to_string(), "sec@example.com".to_string()));
        assert_eq!(form[3], ("kid".to_string(), key().kid().to_string()));
        assert_eq!(url_decode("a%40b.c+d"), Ok("a@b.c d".into()));
        assert_eq!(url_decode("%zz"), Err(FormError::BadEncoding));
        assert_eq!(url_decode("%4"), Err(FormError::BadEncoding));
        assert_eq!(url_decode("%2b"), Err(FormError::BadEncoding), "uppercase hex only");
        assert_eq!(url_decode("%FF"), Err(FormError::BadEncoding), "not UTF-8");
        assert_eq!(url_decode("100%"), Err(FormError::BadEncoding));
        assert_eq!(url_decode("%%41"), Err(FormError::BadEncoding));
        assert_eq!(url_decode("%2541"), Ok("%41".into()), "decoded once");
        assert_eq!(url_decode("%2B+%20"), Ok("+  ".into()));
    }

    #[test]
    fn links_encode_all_but_the_unreserved_characters_in_uppercase_hex() {
        assert_eq!(url_encode("a.b-c_d~e@f+g h/é"), "a.b-c_d~e%40f%2Bg%20h%2F%C3%A9");
        for s in ["sec+ops@example.com", "o'brien@x.io", "a b&c=d%e", "ünï@x"] {
            assert_eq!(url_decode(&url_encode(s)), Ok(s.to_string()), "{s}");
        }
    }

    #[test]
    fn oversized_crowded_or_ambiguous_forms_are_refused_before_any_check() {
        let q = claims().query(&key());
        let long = format!("{q}&pad={}", "x".repeat(MAX_FORM_BYTES));
        assert_eq!(parse_form(&long), Err(FormError::TooLarge { size: long.len() }));
        assert!(parse_form(&"x".repeat(MAX_FORM_BYTES)).is_ok());
        let crowded: String = (0..=MAX_FORM_PAIRS).map(|i| format!("f{i}=1&")).collect();
        assert_eq!(parse_form(&crowded), Err(FormError::TooManyPairs));
        let repeated = format!("{q}{}", "&utm=1".repeat(MAX_FORM_PAIRS));
        assert_eq!(parse_form(&repeated), Err(FormError::TooManyPairs), "repeats count too");
        let exactly: String = (0..MAX_FORM_PAIRS).map(|i| format!("f{i}=1&&")).collect();
        assert_eq!(parse_form(&exactly).unwrap().len(), MAX_FORM_PAIRS);
        for field in SIGNED_FIELDS {
            let twice = format!("{q}&{field}=x");
            assert_eq!(parse_form(&twice), Err(FormError::Duplicate(field)), "{field}");
        }
        assert_eq!(parse_form(&format!("{q}&utm=1&utm=2")).unwrap().len(), 6);
        assert_eq!(parse_form("approver=%E0%A4"), Err(FormError::BadEncoding));
    }
}

/// Link checks hold for any input: parsing and verifying never panic, and no single changed byte
/// of a valid link verifies.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn keys() -> KeyRing {
        KeyRing::new(
            SigningKey::new(vec![7u8; 32]).unwrap(),
            [SigningKey::new(vec![6u8; 32]).unwrap()],
        )
    }

    /// What the callback does with a request's form before it reads anything: parse it, take the
    /// signed fields, verify.
    fn verifies(form: &str, approval_id: &str, keys: &KeyRing) -> bool {
        let Ok(fields) = parse_form(form) else {
            return false;
        };
        let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let (Some(approver), Some(action), Some(expires), Some(kid), Some(sig)) =
            (get("approver"), get("action"), get("expires"), get("kid"), get("sig"))
        else {
            return false;
        };
        let (Some(action), Ok(expires)) = (Action::parse(action), expires.parse::<u64>()) else {
            return false;
        };
        LinkClaims {
            approval_id: approval_id.to_string(),
            approver: approver.to_string(),
            action,
            expires,
        }
        .verify(keys, kid, sig)
    }

    fn claims() -> impl Strategy<Value = LinkClaims> {
        (
            "[0-9a-f]{32}",
            "[A-Za-z0-9.+/=?{}|^~!#$%&'*_-]{1,20}@[a-z0-9-]{1,10}\\.[a-z]{2,5}",
            any::<bool>(),
            any::<u64>(),
        )
            .prop_map(|(approval_id, approver, approve, expires)| LinkClaims {
                approval_id,
                approver,
                action: if approve { Action::Approve } else { Action::Reject },
                expires,
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_query_strings_never_panic_and_never_verify(s in any::<String>()) {
            prop_assert!(!verifies(&s, "abc", &keys()));
        }

        #[test]
        fn arbitrary_forms_with_the_link_fields_never_verify(
            s in "((approver|action|expires|kid|sig|x)=[A-Za-z0-9%+._~@&=-]{0,70}&?){0,20}",
        ) {
            prop_assert!(!verifies(&s, "abc", &keys()));
        }

        #[test]
        fn a_valid_link_with_any_single_byte_changed_never_verifies(
            claims in claims(),
            previous in any::<bool>(),
            at in any::<prop::sample::Index>(),
            // Neighbouring digits, the other letter case, or any other byte.
            flip in prop_oneof![prop::sample::select(vec![1u8, 2, 4, 8, 0x20]), 1u8..=255],
        ) {
            let ring = keys();
            let key = if previous { SigningKey::new(vec![6u8; 32]).unwrap() } else { ring.current().clone() };
            let query = claims.query(&key);
            prop_assert!(verifies(&query, &claims.approval_id, &ring), "{query}");
            let mut bytes = query.into_bytes();
            let i = at.index(bytes.len());
            bytes[i] ^= flip;
            let changed = String::from_utf8_lossy(&bytes);
            prop_assert!(!verifies(&changed, &claims.approval_id, &ring), "{changed}");
        }
    }
}
