//! Where the config comes from: the process environment, read once at cold start
//! ([`Settings`]), and a config document kept in S3 ([`fetch_config`]).

use super::*;

/// Where a config kept in S3 is (`s3://bucket/key`), and its version.
pub const CONFIG_S3: &str = "AUTO_REMEDIATE_CONFIG_S3";
pub const CONFIG_S3_VERSION: &str = "AUTO_REMEDIATE_CONFIG_S3_VERSION";
/// The largest config document read from S3 (one of 1,000 accounts is about 20 KB).
pub const CONFIG_S3_MAX_BYTES: i64 = 1024 * 1024;

/// The bucket and key of an `s3://bucket/key` URL.
pub fn parse_s3_url(url: &str) -> Result<(&str, &str), Error> {
    url.strip_prefix("s3://")
        .and_then(|rest| rest.split_once('/'))
        .filter(|(bucket, key)| !bucket.is_empty() && !key.is_empty())
        .ok_or_else(|| Error::ConfigInvalid(format!("{CONFIG_S3}: {url:?} is not s3://<bucket>/<key>")))
}

/// The config document at `url` (at `version` when given), as text.
pub async fn fetch_config(s3: &aws_sdk_s3::Client, url: &str, version: Option<&str>) -> Result<String, Error> {
    let (bucket, key) = parse_s3_url(url)?;
    let failed = |e: String| Error::ConfigInvalid(format!("{CONFIG_S3} {url}: {e}"));
    let out = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .set_version_id(version.map(str::to_string))
        .send()
        .await
        .map_err(|e| failed(Error::from_sdk("s3:GetObject", e).to_string()))?;
    if out.content_length().unwrap_or(0) > CONFIG_S3_MAX_BYTES {
        return Err(failed(format!(
            "{} bytes, more than the {CONFIG_S3_MAX_BYTES} read",
            out.content_length().unwrap_or(0)
        )));
    }
    let bytes = out
        .body
        .collect()
        .await
        .map_err(|e| failed(format!("reading the object: {e}")))?
        .into_bytes();
    String::from_utf8(bytes.to_vec()).map_err(|_| failed("not UTF-8 text".into()))
}

/// Process settings from the environment, read once at cold start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `AWS_REGION`: where global resources are addressed and the stack runs.
    pub region: String,
    /// `AUTO_REMEDIATE_ACCOUNT_ID`: the account this deployment runs in.
    pub account_id: String,
    /// `STATE_MACHINE_ARN`: needed by the trigger only.
    pub state_machine_arn: Option<String>,
    pub config: Config,
    /// `STATE_TABLE`: the DynamoDB table of resource leases, fix journals and check generations.
    pub state_table: Option<String>,
    /// `APPROVAL_TABLE`: the DynamoDB table of pending approvals.
    pub approval_table: Option<String>,
    /// `APPROVAL_BASE_URL`: where the approval pages are served (API Gateway, or the local stack).
    pub approval_base_url: Option<String>,
    /// The keys that sign and verify approval links, once loaded (see [`crate::keys`]).
    pub signing_keys: Option<KeyRing>,
    /// Where they come from: `APPROVAL_SIGNING_KEY[_FILE]` (loaded at once), a Secrets Manager
    /// secret or SSM parameters (loaded by [`Settings::load_signing_keys`] at cold start).
    pub signing_key_source: Option<KeySource>,
    /// `AUTO_REMEDIATE_OUTBOX_DIR`: also write each e-mail sent there (the local stack).
    pub outbox_dir: Option<std::path::PathBuf>,
    /// `OUTCOME_TOPIC_ARN`: where the Notify task publishes how each execution ended.
    pub outcome_topic_arn: Option<String>,
}

impl Settings {
    /// Reads `AWS_REGION`, `AUTO_REMEDIATE_ACCOUNT_ID`, `STATE_MACHINE_ARN` and the config from
    /// `AUTO_REMEDIATE_CONFIG` (the JSON itself) or `AUTO_REMEDIATE_CONFIG_FILE` (a path).
    pub fn from_env() -> Result<Settings, Error> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// [`Settings::from_lookup`], and a config kept in S3: `AUTO_REMEDIATE_CONFIG_S3`
    /// (`s3://bucket/key`) read once with `s3` (the deployment's credentials), at the version
    /// `AUTO_REMEDIATE_CONFIG_S3_VERSION` names when set (Terraform sets it, so a changed config
    /// changes every function's configuration and starts fresh cold starts). A config too large
    /// for Lambda's 4 KB environment lives there (infra/main.tf). Setting it beside
    /// `AUTO_REMEDIATE_CONFIG` or `AUTO_REMEDIATE_CONFIG_FILE` is refused: one source, never a
    /// silent choice.
    pub async fn load(get: impl Fn(&str) -> Option<String>, s3: &aws_sdk_s3::Client) -> Result<Settings, Error> {
        let nonempty = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let Some(url) = nonempty(CONFIG_S3) else {
            return Self::from_lookup(get);
        };
        if let Some(other) = ["AUTO_REMEDIATE_CONFIG", "AUTO_REMEDIATE_CONFIG_FILE"]
            .into_iter()
            .find(|k| nonempty(k).is_some())
        {
            return Err(Error::ConfigInvalid(format!(
                "{CONFIG_S3} and {other} are both set: set one config source"
            )));
        }
        let version = nonempty(CONFIG_S3_VERSION);
        let text = fetch_config(s3, &url, version.as_deref()).await?;
        let origin = match &version {
            Some(v) => format!("{CONFIG_S3} {url} (version {v})"),
            None => format!("{CONFIG_S3} {url}"),
        };
        Self::from_parts(get, Some((origin, text)))
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Settings, Error> {
        Self::from_parts(get, None)
    }

    /// The settings, the config document being `fetched` (where it came from, its text) when
    /// read by [`Settings::load`].
    fn from_parts(get: impl Fn(&str) -> Option<String>, fetched: Option<(String, String)>) -> Result<Settings, Error> {
        let region = get("AWS_REGION")
            .or_else(|| get("AWS_DEFAULT_REGION"))
            .ok_or_else(|| Error::ConfigInvalid("AWS_REGION is not set".into()))?;
        let account_id = get("AUTO_REMEDIATE_ACCOUNT_ID")
            .ok_or_else(|| Error::ConfigInvalid("AUTO_REMEDIATE_ACCOUNT_ID is not set".into()))?;
        if account_id.len() != 12 || !account_id.bytes().all(|c| c.is_ascii_digit()) {
            return Err(Error::ConfigInvalid(
                "AUTO_REMEDIATE_ACCOUNT_ID is not a 12-digit account number".into(),
            ));
        }
        let catalog = Catalog::builtin();
        let config = match (get("AUTO_REMEDIATE_CONFIG"), get("AUTO_REMEDIATE_CONFIG_FILE")) {
            _ if fetched.is_some() => {
                let (origin, text) = fetched.expect("checked");
                Config::parse(&text, catalog).map_err(|e| e.context(&origin))?
            }
            (Some(text), _) if !text.trim().is_empty() => {
                Config::parse(&text, catalog).map_err(|e| e.context("AUTO_REMEDIATE_CONFIG"))?
            }
            (_, Some(path)) if !path.trim().is_empty() => {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| Error::ConfigInvalid(format!("AUTO_REMEDIATE_CONFIG_FILE {path}: {e}")))?;
                Config::parse(&text, catalog).map_err(|e| e.context(&format!("AUTO_REMEDIATE_CONFIG_FILE {path}")))?
            }
            _ => {
                let config = Config::default();
                config.validate(catalog).map_err(|e| {
                    e.context("neither AUTO_REMEDIATE_CONFIG nor AUTO_REMEDIATE_CONFIG_FILE is set, so the catalog defaults apply")
                })?;
                config
            }
        };
        let signing_key_source = KeySource::from_lookup(&get)?;
        let nonempty = |k: &str| get(k).filter(|s| !s.is_empty());
        Ok(Settings {
            region,
            account_id,
            state_machine_arn: nonempty("STATE_MACHINE_ARN"),
            config,
            state_table: nonempty("STATE_TABLE"),
            approval_table: nonempty("APPROVAL_TABLE"),
            approval_base_url: nonempty("APPROVAL_BASE_URL").map(|u| u.trim_end_matches('/').to_string()),
            signing_keys: match &signing_key_source {
                Some(KeySource::Loaded(ring)) => Some(ring.clone()),
                _ => None,
            },
            signing_key_source,
            outbox_dir: nonempty("AUTO_REMEDIATE_OUTBOX_DIR").map(std::path::PathBuf::from),
            outcome_topic_arn: nonempty("OUTCOME_TOPIC_ARN"),
        })
    }

    /// Loads the signing keys where they are kept in AWS (Secrets Manager, SSM): once, at cold start.
    pub async fn load_signing_keys(&mut self, sdk: &aws_config::SdkConfig) -> Result<(), Error> {
        if let Some(source) = &self.signing_key_source {
            self.signing_keys = Some(source.load(sdk).await?);
        }
        Ok(())
    }
}
