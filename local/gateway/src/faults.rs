//! Faults, injected: the gateway can make a chosen fraction of the AWS calls it proxies fail the
//! way the service itself fails (throttling, 5xx), arrive late, or emulate the Lambda process
//! dying right after its Nth write, or answer an S3 write as done without applying it.
//!
//! Rules are data, managed over HTTP on the gateway (`/_local/faults`, see `server.rs`):
//!
//! ```json
//! [{"id": "ec2-throttle", "service": "ec2", "resource": "sg-0123456789abcdef0",
//!   "effect": "throttle", "rate": 0.2, "seed": 7}]
//! ```
//! - `service` is the SigV4 credential scope's service (`ec2`, `s3`, `dynamodb`, `states`, `sns`).
//! - `operation` (optional): the query protocols' `Action`, the JSON protocols' `X-Amz-Target`
//!   suffix, S3's `x-id` or the operation derived from method and sub-resource (`GET ?acl` is
//!   `GetBucketAcl`). REST-JSON services (SESv2) have none: a rule naming one never matches them.
//! - `resource` (optional, but tests always scope): a token the path, query or body must contain,
//!   as a whole (`it-b-1` does not match `it-b-12`), raw or percent-decoded.
//! - exactly one effect: `"effect": "throttle" | "server_error" | "access_denied"`, `"latency_ms": N`,
//!   `"crash_after_writes": N` (needs `resource`; one shot), or `"effect": "lost_write"` (S3 only,
//!   needs `resource`): a matching write is answered as S3 answers one that succeeded (200, no
//!   body) and never reaches moto, as when something else puts the old state back right after
//!   a fix, so a fix "applied" does not hold and Verify sees the old state.
//! - `rate` in 0..=1 (default 1) picks the fraction of matching calls, from a PRNG seeded per
//!   rule (`seed`, default a hash of the id, never of the owner): the same call sequence is faulted the same way on
//!   every run.
//! - `owner` groups rules so parallel tests replace and clear only their own.
//!
//! Errors have the service's own shape, so the SDKs classify them as they would on AWS: EC2
//! `RequestLimitExceeded` (503), S3 `SlowDown` (503), query protocols `Throttling` (400), JSON
//! protocols `ThrottlingException` (400), REST-JSON `TooManyRequestsException` (429); server
//! errors are 500 `InternalError` (EC2, S3) or `InternalFailure` (the others); access denied is
//! EC2 `UnauthorizedOperation`, S3 and query protocols `AccessDenied` (403), JSON protocols
//! `AccessDeniedException`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The wire protocol of a call: it decides how an operation is named and how an error looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Ec2Query,
    AwsQuery,
    AwsJson,
    RestJson,
    S3,
}

/// What the injector needs to know about one proxied request.
#[derive(Debug, Clone)]
pub struct Call {
    pub service: String,
    pub operation: Option<String>,
    pub protocol: Protocol,
    pub write: bool,
    /// Path, query and body, where `resource` tokens are looked for.
    haystack: String,
}

impl Call {
    /// `None` for requests without SigV4 credentials (moto's own API, plain HTTP).
    pub fn parse(method: &http::Method, uri: &http::Uri, headers: &http::HeaderMap, body: &[u8]) -> Option<Call> {
        let query = uri.query().unwrap_or("");
        let service = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(service_from_authorization)
            .or_else(|| form_value(query, "X-Amz-Credential").and_then(|c| service_from_credential(&c)))?;
        let body_text = String::from_utf8_lossy(body);
        let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok());
        let (protocol, operation) = if let Some(target) = target {
            (
                Protocol::AwsJson,
                Some(target.rsplit('.').next().unwrap_or(target).to_string()),
            )
        } else if service == "s3" {
            (Protocol::S3, Some(s3_operation(method, uri.path(), query, headers)))
        } else if let Some(action) = form_value(query, "Action").or_else(|| {
            let form = headers
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
            if form {
                form_value(&body_text, "Action")
            } else {
                None
            }
        }) {
            let protocol = if service == "ec2" {
                Protocol::Ec2Query
            } else {
                Protocol::AwsQuery
            };
            (protocol, Some(action))
        } else {
            (Protocol::RestJson, None)
        };
        let write = is_write(protocol, method, operation.as_deref());
        Some(Call {
            service,
            operation,
            protocol,
            write,
            haystack: format!("{}?{query}\n{body_text}", uri.path()),
        })
    }

    /// Whether `token` appears in the path, query or body as a whole token (raw or decoded).
    pub fn concerns(&self, token: &str) -> bool {
        contains_token(&self.haystack, token) || contains_token(&form_decode(&self.haystack), token)
    }
}

/// `AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/ec2/aws4_request, SignedHeaders=..`
fn service_from_authorization(auth: &str) -> Option<String> {
    let cred = auth.split("Credential=").nth(1)?;
    let cred = cred.split([',', ' ']).next()?;
    service_from_credential(cred)
}

fn service_from_credential(cred: &str) -> Option<String> {
    let parts: Vec<&str> = cred.split('/').collect();
    (parts.len() >= 5).then(|| parts[parts.len() - 2].to_string())
}

/// S3's operation name: `x-id` when the SDK sends it, else derived from the method, whether a key
/// is addressed (path-style: `/bucket/key`) and the sub-resource.
fn s3_operation(method: &http::Method, path: &str, query: &str, headers: &http::HeaderMap) -> String {
    if let Some(id) = form_value(query, "x-id") {
        return id;
    }
    let segments: Vec<&str> = path.trim_start_matches('/').splitn(2, '/').collect();
    let bucket = segments.first().is_some_and(|b| !b.is_empty());
    let object = segments.get(1).is_some_and(|k| !k.is_empty());
    let has = |key: &str| {
        query
            .split('&')
            .any(|kv| kv.split('=').next().is_some_and(|k| k == key))
    };
    let verb = match *method {
        http::Method::GET => "Get",
        http::Method::PUT => "Put",
        http::Method::DELETE => "Delete",
        http::Method::HEAD => "Head",
        http::Method::POST => "Post",
        _ => "Other",
    };
    const BUCKET_SUBRESOURCES: &[(&str, &str)] = &[
        ("acl", "BucketAcl"),
        ("tagging", "BucketTagging"),
        ("policy", "BucketPolicy"),
        ("policyStatus", "BucketPolicyStatus"),
        ("publicAccessBlock", "PublicAccessBlock"),
        ("versioning", "BucketVersioning"),
        ("encryption", "BucketEncryption"),
        ("ownershipControls", "BucketOwnershipControls"),
        ("cors", "BucketCors"),
        ("lifecycle", "BucketLifecycleConfiguration"),
        ("logging", "BucketLogging"),
        ("website", "BucketWebsite"),
        ("notification", "BucketNotificationConfiguration"),
        ("replication", "BucketReplication"),
        ("location", "BucketLocation"),
    ];
    const OBJECT_SUBRESOURCES: &[(&str, &str)] = &[
        ("acl", "ObjectAcl"),
        ("tagging", "ObjectTagging"),
        ("retention", "ObjectRetention"),
        ("legal-hold", "ObjectLegalHold"),
    ];
    if !bucket {
        return if *method == http::Method::GET {
            "ListBuckets".into()
        } else {
            format!("{verb}Service")
        };
    }
    if object {
        if let Some((_, name)) = OBJECT_SUBRESOURCES.iter().find(|(k, _)| has(k)) {
            return format!("{verb}{name}");
        }
        if has("uploads") && *method == http::Method::POST {
            return "CreateMultipartUpload".into();
        }
        if has("uploadId") {
            return match *method {
                http::Method::PUT => "UploadPart",
                http::Method::POST => "CompleteMultipartUpload",
                http::Method::DELETE => "AbortMultipartUpload",
                _ => "ListParts",
            }
            .into();
        }
        return match *method {
            http::Method::PUT if headers.contains_key("x-amz-copy-source") => "CopyObject".into(),
            _ => format!("{verb}Object"),
        };
    }
    if let Some((_, name)) = BUCKET_SUBRESOURCES.iter().find(|(k, _)| has(k)) {
        return format!("{verb}{name}");
    }
    if has("delete") && *method == http::Method::POST {
        return "DeleteObjects".into();
    }
    match *method {
        http::Method::PUT => "CreateBucket".into(),
        http::Method::GET if has("list-type") => "ListObjectsV2".into(),
        http::Method::GET if has("versions") => "ListObjectVersions".into(),
        http::Method::GET if has("uploads") => "ListMultipartUploads".into(),
        http::Method::GET => "ListObjects".into(),
        _ => format!("{verb}Bucket"),
    }
}

/// Prefixes of the mutating operations of the query and JSON protocols.
const WRITE_PREFIXES: &[&str] = &[
    "Add",
    "Allocate",
    "Apply",
    "Associate",
    "Attach",
    "Authorize",
    "BatchDelete",
    "BatchWrite",
    "Cancel",
    "Change",
    "Complete",
    "Confirm",
    "Copy",
    "Create",
    "Delete",
    "Deregister",
    "Detach",
    "Disable",
    "Disassociate",
    "Enable",
    "Import",
    "Modify",
    "Publish",
    "Purge",
    "Put",
    "Reboot",
    "Register",
    "Release",
    "Remove",
    "Replace",
    "Reset",
    "Restore",
    "Revoke",
    "Run",
    "Send",
    "Set",
    "Start",
    "Stop",
    "Subscribe",
    "Tag",
    "Terminate",
    "TransactWrite",
    "Unsubscribe",
    "Untag",
    "Update",
    "Upload",
];

/// A write is a call that changes state: S3 PUT/POST/DELETE, a mutating operation name elsewhere,
/// a non-GET REST-JSON call.
fn is_write(protocol: Protocol, method: &http::Method, operation: Option<&str>) -> bool {
    match (protocol, operation) {
        (Protocol::S3, _) | (_, None) => {
            !matches!(*method, http::Method::GET | http::Method::HEAD | http::Method::OPTIONS)
        }
        (_, Some(op)) => WRITE_PREFIXES.iter().any(|p| op.starts_with(p)),
    }
}

/// The value of `key` in an `a=b&c=d` string, percent-decoded (`+` is a space).
fn form_value(s: &str, key: &str) -> Option<String> {
    form_urlencoded::parse(s.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// `s` percent-decoded with `+` as a space, as a form is encoded (a malformed escape stays as is).
fn form_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// `needle` occurs in `hay` with no word character (alphanumeric, `-`, `_`) on either side.
pub fn contains_token(hay: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return false;
    }
    hay.match_indices(needle).any(|(i, _)| {
        let before = hay[..i].chars().next_back();
        let after = hay[i + needle.len()..].chars().next();
        !before.is_some_and(is_word) && !after.is_some_and(is_word)
    })
}

/// SplitMix64: tiny, seedable, good enough to pick a fraction of calls repeatably.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorEffect {
    Throttle,
    ServerError,
    /// The call is refused for lack of permission (a role that cannot be assumed, a denied action).
    AccessDenied,
}

/// A rule's `effect` as written: an error, or a write answered but not applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EffectName {
    Throttle,
    ServerError,
    AccessDenied,
    LostWrite,
}

impl EffectName {
    fn error(self) -> Option<ErrorEffect> {
        match self {
            EffectName::Throttle => Some(ErrorEffect::Throttle),
            EffectName::ServerError => Some(ErrorEffect::ServerError),
            EffectName::AccessDenied => Some(ErrorEffect::AccessDenied),
            EffectName::LostWrite => None,
        }
    }
}

/// A rule as written by its author (and echoed back by `GET`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub owner: String,
    pub service: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<EffectName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crash_after_writes: Option<u32>,
    #[serde(default = "one")]
    pub rate: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

/// The most one rule may delay a call, and the most all rules together do: a test's fault must
/// stay shorter than the SDK's and the handlers' timeouts, never hang the gateway.
pub const MAX_LATENCY: Duration = Duration::from_secs(60);

fn one() -> f64 {
    1.0
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Effect {
    Error(ErrorEffect),
    Latency(Duration),
    Crash { after: u32 },
    LostWrite,
}

#[derive(Debug)]
struct Rule {
    spec: RuleSpec,
    effect: Effect,
    rng: Rng,
    matched: u64,
    injected: u64,
    armed: bool,
    killed: Vec<Value>,
}

impl Rule {
    fn new(mut spec: RuleSpec, index: usize) -> Result<Rule, String> {
        if spec.id.is_empty() {
            spec.id = format!("rule-{index}");
        }
        let name = format!("fault rule {:?}", spec.id);
        if spec.service.is_empty() {
            return Err(format!("{name}: `service` is empty"));
        }
        if !(0.0..=1.0).contains(&spec.rate) {
            return Err(format!("{name}: `rate` must be within 0..=1"));
        }
        if spec.resource.as_deref() == Some("") {
            return Err(format!("{name}: `resource` is empty"));
        }
        let effect = match (spec.effect, spec.latency_ms, spec.crash_after_writes) {
            (Some(e), None, None) => match e.error() {
                Some(e) => Effect::Error(e),
                None => {
                    if !spec.service.eq_ignore_ascii_case("s3") {
                        return Err(format!(
                            "{name}: `lost_write` answers S3 writes only (other services' answers carry data)"
                        ));
                    }
                    if spec.resource.is_none() {
                        return Err(format!("{name}: `lost_write` needs a `resource`"));
                    }
                    Effect::LostWrite
                }
            },
            (None, Some(ms), None) if ms > MAX_LATENCY.as_millis() as u64 => {
                return Err(format!(
                    "{name}: `latency_ms` must be at most {} (a minute)",
                    MAX_LATENCY.as_millis()
                ))
            }
            (None, Some(ms), None) => Effect::Latency(Duration::from_millis(ms)),
            (None, None, Some(n)) => {
                if spec.resource.is_none() {
                    return Err(format!("{name}: `crash_after_writes` needs a `resource`"));
                }
                if n == 0 {
                    return Err(format!("{name}: `crash_after_writes` must be at least 1"));
                }
                if spec.rate != 1.0 {
                    return Err(format!("{name}: `crash_after_writes` takes no `rate`"));
                }
                Effect::Crash { after: n }
            }
            _ => {
                return Err(format!(
                    "{name}: give exactly one of `effect` (throttle, server_error, access_denied, lost_write), `latency_ms`, `crash_after_writes`"
                ))
            }
        };
        let seed = spec.seed.unwrap_or_else(|| fnv1a(&spec.id));
        Ok(Rule {
            spec,
            effect,
            rng: Rng(seed),
            matched: 0,
            injected: 0,
            armed: true,
            killed: Vec::new(),
        })
    }

    fn matches(&self, call: &Call) -> bool {
        self.spec.service.eq_ignore_ascii_case(&call.service)
            && self
                .spec
                .operation
                .as_deref()
                .is_none_or(|op| call.operation.as_deref().is_some_and(|c| c.eq_ignore_ascii_case(op)))
            && self.spec.resource.as_deref().is_none_or(|r| call.concerns(r))
    }

    fn roll(&mut self) -> bool {
        self.rng.next_f64() < self.spec.rate
    }

    fn stats(&self) -> Value {
        let mut v = serde_json::to_value(&self.spec).expect("serializable");
        v["matched"] = json!(self.matched);
        v["injected"] = json!(self.injected);
        if let Effect::Crash { .. } = self.effect {
            v["armed"] = json!(self.armed);
            v["killed"] = Value::Array(self.killed.clone());
        }
        v
    }
}

/// What to do with one call.
#[derive(Debug, Default)]
pub struct Decision {
    pub delay: Duration,
    pub error: Option<ErrorEffect>,
    /// Set when this write is a crash rule's Nth: forward it, then kill the invocations concerning
    /// the resource.
    pub crash: Option<Crash>,
    /// Answer this write as done, and do not forward it (a `lost_write` rule).
    pub lost_write: bool,
}

#[derive(Debug, Clone)]
pub struct Crash {
    pub owner: String,
    pub id: String,
    pub resource: String,
}

/// The rule list, shared by every connection.
#[derive(Debug, Default)]
pub struct Faults {
    any: AtomicBool,
    rules: Mutex<Vec<Rule>>,
}

impl Faults {
    /// The rules. A panic while they were held (a bug) must not take every later request of
    /// the gateway down with a poisoned lock: the rules are plain data, valid after any panic.
    fn rules(&self) -> std::sync::MutexGuard<'_, Vec<Rule>> {
        self.rules.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Cheap check, so that a gateway without rules does no parsing at all.
    pub fn active(&self) -> bool {
        self.any.load(Ordering::Relaxed)
    }

    /// Replaces the rules of `owner` (all rules when `owner` is `None`) with `specs`.
    pub fn replace(&self, owner: Option<&str>, specs: Vec<RuleSpec>) -> Result<Vec<Value>, String> {
        let mut new = Vec::with_capacity(specs.len());
        for (i, mut spec) in specs.into_iter().enumerate() {
            if let Some(owner) = owner {
                if !spec.owner.is_empty() && spec.owner != owner {
                    return Err(format!("rule {i} names owner {:?}, not {owner:?}", spec.owner));
                }
                spec.owner = owner.to_string();
            }
            new.push(Rule::new(spec, i)?);
        }
        let mut rules = self.rules();
        let replaced = |r: &Rule| owner.is_none_or(|o| r.spec.owner == o);
        for (i, r) in new.iter().enumerate() {
            let clash = rules
                .iter()
                .filter(|k| !replaced(k))
                .chain(&new[..i])
                .any(|k| k.spec.owner == r.spec.owner && k.spec.id == r.spec.id);
            if clash {
                return Err(format!(
                    "two rules with id {:?} for owner {:?}",
                    r.spec.id, r.spec.owner
                ));
            }
        }
        rules.retain(|r| !replaced(r));
        let out = new.iter().map(Rule::stats).collect();
        rules.extend(new);
        self.any.store(!rules.is_empty(), Ordering::Relaxed);
        Ok(out)
    }

    /// The rules (of `owner`, or all) with their counters.
    pub fn list(&self, owner: Option<&str>) -> Vec<Value> {
        let rules = self.rules();
        rules
            .iter()
            .filter(|r| owner.is_none_or(|o| r.spec.owner == o))
            .map(Rule::stats)
            .collect()
    }

    /// Removes the rules of `owner` (all when `None`); returns how many went.
    pub fn clear(&self, owner: Option<&str>) -> usize {
        let mut rules = self.rules();
        let before = rules.len();
        rules.retain(|r| owner.is_some_and(|o| r.spec.owner != o));
        self.any.store(!rules.is_empty(), Ordering::Relaxed);
        before - rules.len()
    }

    /// Decides the fate of one call. Latency rules add up; the first error injected wins; a lost
    /// write is a write neither refused nor forwarded; crash rules count only writes that will
    /// actually be forwarded.
    pub fn decide(&self, call: &Call) -> Decision {
        let mut d = Decision::default();
        let mut rules = self.rules();
        for rule in rules.iter_mut() {
            match rule.effect {
                Effect::Crash { .. } | Effect::LostWrite => continue,
                Effect::Error(_) if d.error.is_some() => continue,
                _ => {}
            }
            if !rule.matches(call) {
                continue;
            }
            rule.matched += 1;
            if !rule.roll() {
                continue;
            }
            rule.injected += 1;
            match rule.effect {
                Effect::Latency(t) => d.delay = d.delay.saturating_add(t).min(MAX_LATENCY),
                Effect::Error(e) => d.error = Some(e),
                Effect::Crash { .. } | Effect::LostWrite => unreachable!("skipped above"),
            }
        }
        if d.error.is_some() || !call.write {
            return d;
        }
        for rule in rules.iter_mut() {
            if rule.effect != Effect::LostWrite || !rule.matches(call) {
                continue;
            }
            rule.matched += 1;
            if rule.roll() && !d.lost_write {
                rule.injected += 1;
                d.lost_write = true;
            }
        }
        if d.lost_write {
            return d;
        }
        for rule in rules.iter_mut() {
            let Effect::Crash { after } = rule.effect else {
                continue;
            };
            if !rule.armed || !rule.matches(call) {
                continue;
            }
            rule.matched += 1;
            if rule.matched >= after as u64 && d.crash.is_none() {
                rule.armed = false;
                rule.injected += 1;
                d.crash = Some(Crash {
                    owner: rule.spec.owner.clone(),
                    id: rule.spec.id.clone(),
                    resource: rule.spec.resource.clone().unwrap_or_default(),
                });
            }
        }
        d
    }

    /// Records which invocations a crash rule killed (shown by `GET`).
    pub fn note_killed(&self, crash: &Crash, killed: Vec<Value>) {
        let mut rules = self.rules();
        if let Some(r) = rules
            .iter_mut()
            .find(|r| r.spec.owner == crash.owner && r.spec.id == crash.id)
        {
            r.killed.extend(killed);
        }
    }
}

/// An injected error as the service would send it: (status, headers, body).
pub fn error_response(
    protocol: Protocol,
    effect: ErrorEffect,
    request_id: &str,
) -> (u16, Vec<(&'static str, String)>, String) {
    use ErrorEffect::*;
    use Protocol::*;
    let (status, code, message) = match (protocol, effect) {
        (Ec2Query, Throttle) => (503, "RequestLimitExceeded", "Request limit exceeded."),
        (S3, Throttle) => (503, "SlowDown", "Please reduce your request rate."),
        (AwsQuery, Throttle) => (400, "Throttling", "Rate exceeded"),
        (AwsJson, Throttle) => (400, "ThrottlingException", "Rate exceeded"),
        (RestJson, Throttle) => (429, "TooManyRequestsException", "Too many requests"),
        (Ec2Query, ServerError) => (500, "InternalError", "An internal error has occurred"),
        (S3, ServerError) => (
            500,
            "InternalError",
            "We encountered an internal error. Please try again.",
        ),
        (_, ServerError) => (
            500,
            "InternalFailure",
            "The request processing has failed because of an unknown error",
        ),
        (Ec2Query, AccessDenied) => (
            403,
            "UnauthorizedOperation",
            "You are not authorized to perform this operation.",
        ),
        (S3 | AwsQuery, AccessDenied) => (403, "AccessDenied", "Access denied"),
        (AwsJson | RestJson, AccessDenied) => (400, "AccessDeniedException", "Access denied"),
    };
    let message = format!("{message} (injected by the local gateway)");
    let mut headers = vec![("x-amzn-RequestId", request_id.to_string())];
    let body = match protocol {
        Ec2Query => {
            headers.push(("content-type", "text/xml;charset=UTF-8".into()));
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"
            )
        }
        S3 => {
            headers.push(("content-type", "application/xml".into()));
            headers.push(("x-amz-request-id", request_id.to_string()));
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{request_id}</RequestId></Error>"
            )
        }
        AwsQuery => {
            headers.push(("content-type", "text/xml".into()));
            let kind = if status >= 500 { "Receiver" } else { "Sender" };
            format!(
                "<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
            )
        }
        AwsJson => {
            headers.push(("content-type", "application/x-amz-json-1.0".into()));
            headers.push(("x-amzn-ErrorType", code.to_string()));
            json!({"__type": code, "message": message}).to_string()
        }
        RestJson => {
            headers.push(("content-type", "application/json".into()));
            headers.push(("x-amzn-ErrorType", code.to_string()));
            json!({"message": message}).to_string()
        }
    };
    (status, headers, body)
}

#[cfg(test)]
mod tests;
