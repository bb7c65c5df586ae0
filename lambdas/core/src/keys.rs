//! The approval links' signing keys.
//!
//! A [`KeyRing`] holds the current key, which signs, and previous keys, which still verify: links
//! already e-mailed keep working across a rotation until they expire. Each key has a key id
//! ([`SigningKey::kid`]), carried in the link and covered by its signature, which picks the key
//! to verify with; it is derived from the key by a one-way hash and reveals nothing of it.
//!
//! Where the keys come from ([`KeySource::from_lookup`], exactly one of):
//! - `APPROVAL_SIGNING_KEY` or `APPROVAL_SIGNING_KEY_FILE`, with optional
//!   `APPROVAL_SIGNING_KEY_PREVIOUS` or `APPROVAL_SIGNING_KEY_PREVIOUS_FILE`;
//! - `APPROVAL_SIGNING_KEY_SECRET_ID`: an AWS Secrets Manager secret; its `AWSCURRENT` version
//!   signs, its `AWSPREVIOUS` version (when there is one) verifies too;
//! - `APPROVAL_SIGNING_KEY_PARAMETER`: an SSM `SecureString` parameter, read with decryption, with
//!   optional `APPROVAL_SIGNING_KEY_PREVIOUS_PARAMETER`.
//!
//! Keys kept in AWS are read at cold start ([`KeySource::load`]) and again once they are
//! [`KEY_TTL`] old ([`KeyCache`]): a key rotated out (the secret's `AWSPREVIOUS` replaced, a
//! parameter changed) stops verifying links within five minutes in every warm Lambda. When a
//! re-read fails, the keys in hand serve at most until [`KEY_MAX_AGE`], then nothing verifies
//! (fail closed). A key is never printed: `Debug` shows key ids only, and no error text contains a key.

use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_types::region::Region;
use sha2::{Digest, Sha256};

use crate::error::Error;

/// How long keys read from AWS are used before they are read again.
pub const KEY_TTL: Duration = Duration::from_secs(300);
/// How long keys that could not be read again keep serving (a Secrets Manager or SSM outage)
/// before links stop verifying.
pub const KEY_MAX_AGE: Duration = Duration::from_secs(900);

/// Keys kept in AWS, as one process last read them; see the module's documentation.
pub struct KeyCache {
    state: Mutex<Option<(Instant, KeyRing)>>,
}

impl Default for KeyCache {
    fn default() -> Self {
        Self::new()
    }
}

impl KeyCache {
    pub const fn new() -> KeyCache {
        KeyCache {
            state: Mutex::new(None),
        }
    }

    /// The keys of `source`: at once for keys from the environment; for keys kept in AWS, the
    /// ring read at cold start (`initial`) or since, read again through `sdk` once [`KEY_TTL`] old.
    pub async fn ring(&self, source: &KeySource, initial: Option<&KeyRing>, sdk: &SdkConfig) -> Result<KeyRing, Error> {
        if let KeySource::Loaded(ring) = source {
            return Ok(ring.clone());
        }
        self.get(Instant::now(), initial, source.load(sdk)).await
    }

    /// [`KeyCache::ring`] at `now`, with `load` as the read (awaited only when one is due).
    pub async fn get(
        &self,
        now: Instant,
        initial: Option<&KeyRing>,
        load: impl Future<Output = Result<KeyRing, Error>>,
    ) -> Result<KeyRing, Error> {
        let held = {
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            if state.is_none() {
                *state = initial.map(|r| (now, r.clone()));
            }
            state.clone()
        };
        match held {
            Some((at, ring)) if now.saturating_duration_since(at) < KEY_TTL => Ok(ring),
            held => match load.await {
                Ok(ring) => {
                    *self.state.lock().unwrap_or_else(|p| p.into_inner()) = Some((now, ring.clone()));
                    Ok(ring)
                }
                Err(e) => match held {
                    Some((at, ring)) if now.saturating_duration_since(at) < KEY_MAX_AGE => {
                        tracing::warn!(error = e.name(), message = %e, "the approval signing keys could not be read again: using the ones read before");
                        Ok(ring)
                    }
                    _ => Err(e),
                },
            },
        }
    }
}

/// The shortest key accepted, in bytes.
pub const MIN_KEY_BYTES: usize = 32;

/// One signing key and its key id.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey {
    bytes: Vec<u8>,
    kid: String,
}

impl SigningKey {
    pub fn new(bytes: Vec<u8>) -> Result<SigningKey, Error> {
        if bytes.len() < MIN_KEY_BYTES {
            return Err(Error::ConfigInvalid(format!(
                "the approval signing key must be at least {MIN_KEY_BYTES} bytes"
            )));
        }
        let mut h = Sha256::new();
        h.update(b"auto-remediate approval signing key id\n");
        h.update(&bytes);
        let kid = hex::encode(&h.finalize()[..4]);
        Ok(SigningKey { bytes, kid })
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// 8 hex characters naming this key in links: the start of SHA-256 over a label and the key.
    pub fn kid(&self) -> &str {
        &self.kid
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey {{ kid: {:?}, key: <redacted> }}", self.kid)
    }
}

/// The current key and the previous ones still accepted.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyRing {
    current: SigningKey,
    previous: Vec<SigningKey>,
}

impl KeyRing {
    /// A ring; previous keys equal to the current one (or to each other) are dropped.
    pub fn new(current: SigningKey, previous: impl IntoIterator<Item = SigningKey>) -> KeyRing {
        let mut ring = KeyRing {
            current,
            previous: Vec::new(),
        };
        for key in previous {
            if ring.get(key.kid()).is_none() {
                ring.previous.push(key);
            }
        }
        ring
    }

    /// The key that signs new links.
    pub fn current(&self) -> &SigningKey {
        &self.current
    }

    /// The key a link names, among the current and previous keys.
    pub fn get(&self, kid: &str) -> Option<&SigningKey> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.kid() == kid)
    }

    /// The key ids accepted, current first.
    pub fn kids(&self) -> Vec<&str> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .map(SigningKey::kid)
            .collect()
    }
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("current", &self.current)
            .field("previous", &self.previous)
            .finish()
    }
}

/// Where the signing keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// Read from the environment or from files: nothing left to load.
    Loaded(KeyRing),
    /// An AWS Secrets Manager secret id or ARN (`APPROVAL_SIGNING_KEY_SECRET_ID`).
    SecretsManager { secret_id: String },
    /// SSM SecureString parameter names or ARNs (`APPROVAL_SIGNING_KEY_PARAMETER`, optional
    /// `APPROVAL_SIGNING_KEY_PREVIOUS_PARAMETER`).
    Ssm { current: String, previous: Option<String> },
}

const ENV_KEY: &str = "APPROVAL_SIGNING_KEY";
const ENV_FILE: &str = "APPROVAL_SIGNING_KEY_FILE";
const ENV_PREVIOUS: &str = "APPROVAL_SIGNING_KEY_PREVIOUS";
const ENV_PREVIOUS_FILE: &str = "APPROVAL_SIGNING_KEY_PREVIOUS_FILE";
const ENV_SECRET_ID: &str = "APPROVAL_SIGNING_KEY_SECRET_ID";
const ENV_PARAMETER: &str = "APPROVAL_SIGNING_KEY_PARAMETER";
const ENV_PREVIOUS_PARAMETER: &str = "APPROVAL_SIGNING_KEY_PREVIOUS_PARAMETER";

impl KeySource {
    /// Reads the variables above; `None` when no key is configured. Two sources at once, or a
    /// previous key without a current one of the same kind, is a `ConfigInvalid` naming them.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Option<KeySource>, Error> {
        let var = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let set: Vec<&str> = [
            ENV_KEY,
            ENV_FILE,
            ENV_PREVIOUS,
            ENV_PREVIOUS_FILE,
            ENV_SECRET_ID,
            ENV_PARAMETER,
            ENV_PREVIOUS_PARAMETER,
        ]
        .into_iter()
        .filter(|k| var(k).is_some())
        .collect();
        let only_one = |names: &[&str]| -> Result<(), Error> {
            let both: Vec<&str> = names.iter().copied().filter(|n| set.contains(n)).collect();
            if both.len() > 1 {
                return Err(Error::ConfigInvalid(format!(
                    "{} are all set: set only one of them",
                    both.join(" and ")
                )));
            }
            Ok(())
        };
        only_one(&[ENV_KEY, ENV_FILE, ENV_SECRET_ID, ENV_PARAMETER])?;
        only_one(&[ENV_PREVIOUS, ENV_PREVIOUS_FILE, ENV_PREVIOUS_PARAMETER])?;
        let needs = |previous: &[&str], current: &[&str]| -> Result<(), Error> {
            if let Some(p) = previous.iter().find(|p| set.contains(p)) {
                if !current.iter().any(|c| set.contains(c)) {
                    return Err(Error::ConfigInvalid(format!(
                        "{p} is set, but not {}: the previous key must come the same way as the current one",
                        current.join(" nor ")
                    )));
                }
            }
            Ok(())
        };
        needs(&[ENV_PREVIOUS, ENV_PREVIOUS_FILE], &[ENV_KEY, ENV_FILE])?;
        needs(&[ENV_PREVIOUS_PARAMETER], &[ENV_PARAMETER])?;

        if let Some(secret_id) = var(ENV_SECRET_ID) {
            return Ok(Some(KeySource::SecretsManager {
                secret_id: secret_id.trim().to_string(),
            }));
        }
        if let Some(current) = var(ENV_PARAMETER) {
            return Ok(Some(KeySource::Ssm {
                current: current.trim().to_string(),
                previous: var(ENV_PREVIOUS_PARAMETER).map(|p| p.trim().to_string()),
            }));
        }
        let read = |value: &str, file: &str| -> Result<Option<SigningKey>, Error> {
            if let Some(k) = var(value) {
                return SigningKey::new(k.trim().as_bytes().to_vec())
                    .map(Some)
                    .map_err(|e| e.context(value));
            }
            if let Some(path) = var(file) {
                let k = std::fs::read_to_string(&path)
                    .map_err(|e| Error::ConfigInvalid(format!("{file} {path}: {}", e.kind())))?;
                return SigningKey::new(k.trim().as_bytes().to_vec())
                    .map(Some)
                    .map_err(|e| e.context(&format!("{file} {path}")));
            }
            Ok(None)
        };
        let Some(current) = read(ENV_KEY, ENV_FILE)? else {
            return Ok(None);
        };
        let previous = read(ENV_PREVIOUS, ENV_PREVIOUS_FILE)?;
        Ok(Some(KeySource::Loaded(KeyRing::new(current, previous))))
    }

    /// The key ring, reading AWS when the keys are kept there.
    pub async fn load(&self, sdk: &SdkConfig) -> Result<KeyRing, Error> {
        match self {
            KeySource::Loaded(ring) => Ok(ring.clone()),
            KeySource::SecretsManager { secret_id } => {
                let mut conf = aws_sdk_secretsmanager::config::Builder::from(sdk);
                if let Some(region) = arn_region(secret_id) {
                    conf = conf.region(Region::new(region));
                }
                let client = aws_sdk_secretsmanager::Client::from_conf(conf.build());
                from_secrets_manager(&client, secret_id).await
            }
            KeySource::Ssm { current, previous } => {
                let mut conf = aws_sdk_ssm::config::Builder::from(sdk);
                if let Some(region) = arn_region(current) {
                    conf = conf.region(Region::new(region));
                }
                let client = aws_sdk_ssm::Client::from_conf(conf.build());
                from_ssm(&client, current, previous.as_deref()).await
            }
        }
    }
}

/// The region of an ARN (`arn:aws:secretsmanager:eu-west-1:...`), so a secret or parameter in
/// another region is read there.
fn arn_region(id: &str) -> Option<String> {
    let arn = crate::ids::Arn::parse(id)?;
    (!arn.region.is_empty()).then(|| arn.region.to_string())
}

/// The `AWSCURRENT` version signs; `AWSPREVIOUS`, when the secret has one, verifies too.
pub async fn from_secrets_manager(client: &aws_sdk_secretsmanager::Client, secret_id: &str) -> Result<KeyRing, Error> {
    let what = |stage: &str| format!("{ENV_SECRET_ID} {secret_id} ({stage})");
    let read = |stage: &'static str| async move {
        match client
            .get_secret_value()
            .secret_id(secret_id)
            .version_stage(stage)
            .send()
            .await
        {
            Ok(out) => {
                let bytes = match (out.secret_string(), out.secret_binary()) {
                    (Some(s), _) => s.trim().as_bytes().to_vec(),
                    (None, Some(b)) => b.as_ref().to_vec(),
                    (None, None) => {
                        return Err(Error::ConfigInvalid(format!(
                            "{}: the secret has no value",
                            what(stage)
                        )))
                    }
                };
                SigningKey::new(bytes).map(Some).map_err(|e| e.context(&what(stage)))
            }
            Err(e) => {
                let err = Error::from_sdk("secretsmanager:GetSecretValue", e);
                match err.aws_code() {
                    Some("ResourceNotFoundException") => Ok(None),
                    _ => Err(err),
                }
            }
        }
    };
    let current = read("AWSCURRENT").await?.ok_or_else(|| {
        Error::ConfigInvalid(format!(
            "{}: no such secret, or it has no current version",
            what("AWSCURRENT")
        ))
    })?;
    let previous = read("AWSPREVIOUS").await?;
    Ok(KeyRing::new(current, previous))
}

/// Reads SecureString parameters with decryption; a parameter of another type is refused (the
/// key would be stored unencrypted).
pub async fn from_ssm(client: &aws_sdk_ssm::Client, current: &str, previous: Option<&str>) -> Result<KeyRing, Error> {
    let read = |name: &str, var: &'static str| {
        let name = name.to_string();
        async move {
            let what = format!("{var} {name}");
            let out = match client.get_parameter().name(&name).with_decryption(true).send().await {
                Ok(out) => out,
                Err(e) => {
                    let err = Error::from_sdk("ssm:GetParameter", e);
                    return match err.aws_code() {
                        Some("ParameterNotFound") => Err(Error::ConfigInvalid(format!("{what}: no such parameter"))),
                        _ => Err(err),
                    };
                }
            };
            let parameter = out
                .parameter()
                .ok_or_else(|| Error::ConfigInvalid(format!("{what}: no parameter returned")))?;
            match parameter.r#type() {
                Some(aws_sdk_ssm::types::ParameterType::SecureString) => {}
                other => {
                    return Err(Error::ConfigInvalid(format!(
                        "{what}: a {} parameter, not a SecureString: the key must be stored encrypted",
                        other.map(|t| t.as_str()).unwrap_or("typeless")
                    )))
                }
            }
            let value = parameter
                .value()
                .ok_or_else(|| Error::ConfigInvalid(format!("{what}: the parameter has no value")))?;
            SigningKey::new(value.trim().as_bytes().to_vec()).map_err(|e| e.context(&what))
        }
    };
    let current = read(current, ENV_PARAMETER).await?;
    let previous = match previous {
        Some(name) => Some(read(name, ENV_PREVIOUS_PARAMETER).await?),
        None => None,
    };
    Ok(KeyRing::new(current, previous))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_secretsmanager::operation::get_secret_value::{GetSecretValueError, GetSecretValueOutput};
    use aws_sdk_ssm::operation::get_parameter::GetParameterOutput;
    use aws_sdk_ssm::types::{Parameter, ParameterType};
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    const A: &str = "0123456789abcdef0123456789abcdef-a";
    const B: &str = "0123456789abcdef0123456789abcdef-b";

    fn key(s: &str) -> SigningKey {
        SigningKey::new(s.as_bytes().to_vec()).unwrap()
    }

    fn lookup<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    }

    #[test]
    fn a_key_id_is_stable_short_hex_and_differs_per_key() {
        assert_eq!(key(A).kid(), key(A).kid());
        assert_ne!(key(A).kid(), key(B).kid());
        assert_eq!(key(A).kid().len(), 8);
        assert!(key(A).kid().bytes().all(|c| c.is_ascii_hexdigit()));
        assert!(!A.contains(key(A).kid()));
    }

    #[test]
    fn debug_shows_key_ids_never_keys() {
        let ring = KeyRing::new(key(A), [key(B)]);
        let shown = format!("{ring:?} {:?}", KeySource::Loaded(ring.clone()));
        assert!(shown.contains(key(A).kid()) && shown.contains(key(B).kid()));
        assert!(!shown.contains("0123456789abcdef"), "{shown}");
    }

    #[test]
    fn short_keys_are_refused_naming_the_variable_without_the_key() {
        let err = KeySource::from_lookup(lookup(&[(ENV_KEY, "short-secret")])).unwrap_err();
        assert_eq!(err.name(), "ConfigInvalid");
        assert!(err.to_string().contains(ENV_KEY));
        assert!(!err.to_string().contains("short-secret"));
    }

    #[test]
    fn the_ring_finds_current_and_previous_keys_by_id_only() {
        let ring = KeyRing::new(key(A), [key(B), key(A)]);
        assert_eq!(ring.current(), &key(A));
        assert_eq!(ring.get(key(B).kid()), Some(&key(B)));
        assert_eq!(ring.kids(), vec![key(A).kid(), key(B).kid()], "duplicates dropped");
        assert_eq!(ring.get("00000000"), None);
    }

    #[test]
    fn environment_keys_and_their_previous_key_load_at_once() {
        let source = KeySource::from_lookup(lookup(&[(ENV_KEY, A), (ENV_PREVIOUS, B)]))
            .unwrap()
            .unwrap();
        assert_eq!(source, KeySource::Loaded(KeyRing::new(key(A), [key(B)])));
        assert_eq!(KeySource::from_lookup(lookup(&[])).unwrap(), None);
    }

    #[test]
    fn aws_sources_are_named_for_loading_at_cold_start() {
        assert_eq!(
            KeySource::from_lookup(lookup(&[(ENV_SECRET_ID, "approval-key")])).unwrap(),
            Some(KeySource::SecretsManager {
                secret_id: "approval-key".into()
            })
        );
        assert_eq!(
            KeySource::from_lookup(lookup(&[
                (ENV_PARAMETER, "/ar/key"),
                (ENV_PREVIOUS_PARAMETER, "/ar/old")
            ]))
            .unwrap(),
            Some(KeySource::Ssm {
                current: "/ar/key".into(),
                previous: Some("/ar/old".into())
            })
        );
    }

    #[test]
    fn two_sources_or_a_lone_previous_key_are_config_errors_naming_them() {
        for (vars, names) in [
            (vec![(ENV_KEY, A), (ENV_SECRET_ID, "s")], vec![ENV_KEY, ENV_SECRET_ID]),
            (
                vec![(ENV_FILE, "/k"), (ENV_PARAMETER, "/p")],
                vec![ENV_FILE, ENV_PARAMETER],
            ),
            (vec![(ENV_KEY, A), (ENV_FILE, "/k")], vec![ENV_KEY, ENV_FILE]),
            (vec![(ENV_PREVIOUS, B)], vec![ENV_PREVIOUS]),
            (vec![(ENV_SECRET_ID, "s"), (ENV_PREVIOUS, B)], vec![ENV_PREVIOUS]),
            (
                vec![(ENV_KEY, A), (ENV_PREVIOUS_PARAMETER, "/p")],
                vec![ENV_PREVIOUS_PARAMETER],
            ),
        ] {
            let err = KeySource::from_lookup(lookup(&vars)).unwrap_err();
            assert_eq!(err.name(), "ConfigInvalid");
            for name in names {
                assert!(err.to_string().contains(name), "{err}");
            }
        }
    }

    #[test]
    fn arn_regions_are_read_from_the_arn() {
        assert_eq!(
            arn_region("arn:aws:secretsmanager:eu-west-1:123456789012:secret:k-AbCdEf").as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(arn_region("approval-key"), None);
    }

    fn secret(value: &'static str) -> GetSecretValueOutput {
        GetSecretValueOutput::builder().secret_string(value).build()
    }

    #[tokio::test]
    async fn secrets_manager_current_signs_and_previous_verifies() {
        let current = mock!(aws_sdk_secretsmanager::Client::get_secret_value)
            .match_requests(|r| r.secret_id() == Some("approval-key") && r.version_stage() == Some("AWSCURRENT"))
            .then_output(|| secret(A));
        let previous = mock!(aws_sdk_secretsmanager::Client::get_secret_value)
            .match_requests(|r| r.version_stage() == Some("AWSPREVIOUS"))
            .then_output(|| secret(B));
        let client = mock_client!(aws_sdk_secretsmanager, RuleMode::Sequential, [&current, &previous]);
        let ring = from_secrets_manager(&client, "approval-key").await.unwrap();
        assert_eq!(ring, KeyRing::new(key(A), [key(B)]));
    }

    #[tokio::test]
    async fn a_secret_never_rotated_has_only_a_current_key() {
        let current = mock!(aws_sdk_secretsmanager::Client::get_secret_value).then_output(|| secret(A));
        let none = mock!(aws_sdk_secretsmanager::Client::get_secret_value).then_error(|| {
            GetSecretValueError::ResourceNotFoundException(
                aws_sdk_secretsmanager::types::error::ResourceNotFoundException::builder()
                    .message("no AWSPREVIOUS")
                    .meta(
                        aws_sdk_secretsmanager::error::ErrorMetadata::builder()
                            .code("ResourceNotFoundException")
                            .build(),
                    )
                    .build(),
            )
        });
        let client = mock_client!(aws_sdk_secretsmanager, RuleMode::Sequential, [&current, &none]);
        let ring = from_secrets_manager(&client, "approval-key").await.unwrap();
        assert_eq!(ring.kids(), vec![key(A).kid()]);
    }

    fn parameter(kind: ParameterType, value: &str) -> GetParameterOutput {
        GetParameterOutput::builder()
            .parameter(Parameter::builder().name("/ar/key").r#type(kind).value(value).build())
            .build()
    }

    #[tokio::test]
    async fn ssm_parameters_are_read_decrypted_and_must_be_secure_strings() {
        let current = mock!(aws_sdk_ssm::Client::get_parameter)
            .match_requests(|r| r.name() == Some("/ar/key") && r.with_decryption() == Some(true))
            .then_output(|| parameter(ParameterType::SecureString, A));
        let previous = mock!(aws_sdk_ssm::Client::get_parameter)
            .match_requests(|r| r.name() == Some("/ar/old") && r.with_decryption() == Some(true))
            .then_output(|| parameter(ParameterType::SecureString, B));
        let client = mock_client!(aws_sdk_ssm, RuleMode::Sequential, [&current, &previous]);
        let ring = from_ssm(&client, "/ar/key", Some("/ar/old")).await.unwrap();
        assert_eq!(ring, KeyRing::new(key(A), [key(B)]));

        let plain = mock!(aws_sdk_ssm::Client::get_parameter).then_output(|| parameter(ParameterType::String, A));
        let client = mock_client!(aws_sdk_ssm, RuleMode::Sequential, [&plain]);
        let err = from_ssm(&client, "/ar/key", None).await.unwrap_err();
        assert_eq!(err.name(), "ConfigInvalid");
        assert!(err.to_string().contains("SecureString") && err.to_string().contains(ENV_PARAMETER));
        assert!(!err.to_string().contains(A));
    }

    fn ring(byte: u8) -> KeyRing {
        KeyRing::new(SigningKey::new(vec![byte; MIN_KEY_BYTES]).unwrap(), None)
    }

    #[tokio::test]
    async fn keys_kept_in_aws_are_read_again_after_the_ttl_and_a_failed_read_serves_the_old_ones_for_a_bounded_time() {
        let cache = KeyCache::new();
        let t0 = Instant::now();
        let fails = || async {
            Err::<KeyRing, _>(Error::AwsTransient {
                operation: "secretsmanager:GetSecretValue",
                detail: "down".into(),
            })
        };
        let unused = || async { panic!("read before the TTL") };
        // Seeded by the cold start's read, and used as they are within the TTL.
        assert_eq!(cache.get(t0, Some(&ring(1)), unused()).await.unwrap(), ring(1));
        assert_eq!(
            cache
                .get(t0 + KEY_TTL - Duration::from_secs(1), None, unused())
                .await
                .unwrap(),
            ring(1)
        );
        // Rotated: read again once the TTL passed.
        let t1 = t0 + KEY_TTL;
        assert_eq!(cache.get(t1, None, async { Ok(ring(2)) }).await.unwrap(), ring(2));
        assert_eq!(
            cache.get(t1 + Duration::from_secs(10), None, unused()).await.unwrap(),
            ring(2)
        );
        // AWS unreachable: the keys in hand serve until KEY_MAX_AGE, then nothing verifies.
        assert_eq!(cache.get(t1 + KEY_TTL, None, fails()).await.unwrap(), ring(2));
        assert_eq!(
            cache
                .get(t1 + KEY_MAX_AGE - Duration::from_secs(1), None, fails())
                .await
                .unwrap(),
            ring(2)
        );
        assert!(cache.get(t1 + KEY_MAX_AGE, None, fails()).await.is_err());
        // Never read: the error as it is.
        assert!(KeyCache::new().get(t0, None, fails()).await.is_err());
    }
}
