//! SDK clients, built once at cold start and re-bound per finding: its region, and for another
//! account, credentials of the member role assumed there.
//!
//! `AWS_ENDPOINT_URL` (the local stack) is honoured by `aws-config` itself; S3 then uses
//! path-style addressing, since `bucket.localhost` does not resolve.
//!
//! Every client a rule family builds from its [`Ctx`] carries [`Declared`], an interceptor that
//! refuses, before anything is sent, an AWS call whose IAM action the family does not declare.
//! The IAM policies are generated from those declarations, so an undeclared call would be denied
//! on AWS anyway; here it fails at once, by name, in every test and on the local stack.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextMut, BeforeTransmitInterceptorContextMut,
};
use aws_smithy_runtime_api::client::interceptors::{Intercept, SharedInterceptor};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_types::region::Region;

use crate::error::Error;
pub use crate::error::UndeclaredAction;

/// The IAM action STS needs to act in a member account.
pub const STS_ASSUME_ROLE: &str = "sts:AssumeRole";

/// How long assumed member-role credentials are asked for (STS's minimum).
const MEMBER_SESSION: Duration = Duration::from_secs(900);

#[derive(Clone, Debug)]
pub struct Aws {
    sdk: SdkConfig,
    path_style: bool,
    /// Assumed member-role credentials, by account, family and role, while they last.
    members: Arc<Mutex<HashMap<MemberKey, Credentials>>>,
}

/// A member session's account, family and role.
type MemberKey = (String, &'static str, String);

/// Where a family acts: the finding's account and region, and what it may call there.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub account: &'a str,
    pub region: &'a str,
    /// The family (its name tags the member session and keys the credential cache).
    pub family: &'static str,
    pub reads: &'static [&'static str],
    pub writes: &'static [&'static str],
    /// The conditions some of those actions are granted under (`iam:PassedToService`, ...).
    pub conditions: &'static [ActionCondition],
}

/// The member role to assume for an account other than the deployment's.
#[derive(Debug, Clone, Copy)]
pub struct Member<'a> {
    pub role_name: &'a str,
    pub deployment_account: &'a str,
    /// Whether the family's writes are allowed (the write role, remediate only). Without, the
    /// context holds the family's reads only: the session policy grants no write and a write
    /// call is refused before it is sent (`UndeclaredAction`), in any account.
    pub writes: bool,
}

impl Aws {
    /// Loads the default chain (environment, profile, container or Lambda credentials).
    ///
    /// When every endpoint is overridden with a plain `http://` URL (the local stack), the
    /// clients speak plain HTTP: no TLS, so no trust store is read at start-up (reading the
    /// platform's root certificates is most of a cold start's set-up otherwise).
    pub async fn load() -> Aws {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if plain_http_endpoints(std::env::vars()) {
            loader = loader.http_client(aws_smithy_http_client::Builder::new().build_http());
        }
        let sdk = loader.load().await;
        let path_style = std::env::var("AWS_ENDPOINT_URL")
            .map(|v| !v.is_empty())
            .unwrap_or(false)
            || std::env::var("AUTO_REMEDIATE_S3_PATH_STYLE").as_deref() == Ok("true");
        Aws::from_sdk_config(sdk, path_style)
    }

    pub fn from_sdk_config(sdk: SdkConfig, path_style: bool) -> Aws {
        Aws {
            sdk,
            path_style,
            members: Arc::default(),
        }
    }

    pub fn sdk_config(&self) -> &SdkConfig {
        &self.sdk
    }

    pub async fn ctx(&self, scope: Scope<'_>, member: Member<'_>) -> Result<Ctx, Error> {
        let mut sdk = self.sdk.to_builder().region(Region::new(scope.region.to_string()));
        if scope.account != member.deployment_account {
            let creds = self.member_credentials(scope, member.role_name).await?;
            sdk = sdk.credentials_provider(SharedCredentialsProvider::new(creds));
        }
        Ok(Ctx {
            sdk: sdk.build(),
            path_style: self.path_style,
            account: scope.account.to_string(),
            declared: Declared {
                family: scope.family,
                reads: scope.reads,
                writes: scope.writes,
            },
            extra: Vec::new(),
            recorded: None,
        })
    }

    async fn member_credentials(&self, scope: Scope<'_>, role_name: &str) -> Result<Credentials, Error> {
        let key = (scope.account.to_string(), scope.family, role_name.to_string());
        let fresh = |c: &Credentials| {
            c.expiry()
                .is_none_or(|t| t > SystemTime::now() + Duration::from_secs(120))
        };
        if let Some(c) = self
            .members
            .lock()
            .expect("not poisoned")
            .get(&key)
            .filter(|c| fresh(c))
        {
            return Ok(c.clone());
        }
        let role_arn = format!(
            "arn:{}:iam::{}:role/{role_name}",
            partition(scope.region),
            scope.account
        );
        let unavailable = |reason: String| Error::MemberRoleUnavailable {
            account: scope.account.to_string(),
            role: role_name.to_string(),
            reason,
        };
        let out = aws_sdk_sts::Client::new(&self.sdk)
            .assume_role()
            .role_arn(&role_arn)
            .role_session_name(format!("auto-remediate-{}", scope.family))
            .policy(session_policy(scope.reads, scope.writes, scope.conditions))
            .duration_seconds(MEMBER_SESSION.as_secs() as i32)
            .send()
            .await
            .map_err(|e| match Error::from_sdk(STS_ASSUME_ROLE, e) {
                retry if retry.is_retryable() => retry,
                other => unavailable(other.to_string()),
            })?;
        let c = out
            .credentials()
            .ok_or_else(|| unavailable("STS returned no credentials".into()))?;
        let creds = Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_string()),
            SystemTime::try_from(*c.expiration()).ok(),
            "auto-remediate-member-role",
        );
        self.members.lock().expect("not poisoned").insert(key, creds.clone());
        Ok(creds)
    }

    /// S3 in this deployment's account, with its own credentials (path-style on the local stack):
    /// the config document kept there (`crate::config::Settings::load`).
    pub fn s3(&self) -> aws_sdk_s3::Client {
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&self.sdk)
                .force_path_style(self.path_style)
                .build(),
        )
    }

    pub fn sfn(&self) -> aws_sdk_sfn::Client {
        aws_sdk_sfn::Client::new(&self.sdk)
    }

    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk)
    }
}

/// Whether the environment points every AWS call at plain-HTTP endpoints: `AWS_ENDPOINT_URL` is an
/// `http://` URL and so is every service-specific `AWS_ENDPOINT_URL_<SERVICE>`. Anything else
/// (no override, an `https://` one, `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`) keeps TLS.
pub fn plain_http_endpoints(vars: impl IntoIterator<Item = (String, String)>) -> bool {
    let mut global = false;
    for (k, v) in vars {
        if k == "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS" && !v.is_empty() && v != "false" {
            return false;
        }
        if k == "AWS_ENDPOINT_URL" {
            global = v.starts_with("http://");
            if !global {
                return false;
            }
        } else if k.starts_with("AWS_ENDPOINT_URL_") && !v.starts_with("http://") {
            return false;
        }
    }
    global
}

/// The ARN partition of a region.
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// An IAM condition on one of a family's declared actions: `test` (`StringEquals`) on the
/// condition key `variable` with `values`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ActionCondition {
    pub action: &'static str,
    pub test: &'static str,
    pub variable: &'static str,
    pub values: &'static [&'static str],
}

impl ActionCondition {
    /// `action` granted only when `variable` equals one of `values`.
    pub const fn string_equals(action: &'static str, variable: &'static str, values: &'static [&'static str]) -> Self {
        ActionCondition {
            action,
            test: "StringEquals",
            variable,
            values,
        }
    }
}

/// The member session's policy: the family's declared actions, nothing else (the effective
/// permissions are the intersection with the member role's own policy). An action the family
/// declares a condition for is granted in a statement of its own under that condition (only this
/// family's values: the member role's policy holds the union of every family's). A condition on
/// an action not given (a write, for a session that only reads) grants nothing.
pub fn session_policy(reads: &[&str], writes: &[&str], conditions: &[ActionCondition]) -> String {
    let conditioned = |a: &str| conditions.iter().any(|c| c.action == a);
    let given = |a: &str| reads.iter().chain(writes).any(|g| *g == a);
    let mut actions: Vec<&str> = reads
        .iter()
        .chain(writes)
        .copied()
        .filter(|a| !conditioned(a))
        .collect();
    actions.sort_unstable();
    actions.dedup();
    let mut statements = vec![serde_json::json!({"Effect": "Allow", "Action": actions, "Resource": "*"})];
    let mut with_condition: Vec<&str> = conditions.iter().map(|c| c.action).filter(|a| given(a)).collect();
    with_condition.sort_unstable();
    with_condition.dedup();
    for action in with_condition {
        let mut condition = serde_json::Map::new();
        for c in conditions.iter().filter(|c| c.action == action) {
            let test = condition
                .entry(c.test)
                .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
            test[c.variable] = serde_json::json!(c.values);
        }
        statements
            .push(serde_json::json!({"Effect": "Allow", "Action": action, "Resource": "*", "Condition": condition}));
    }
    serde_json::json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

/// STS's limit on a session policy's plaintext (`AssumeRole` `Policy`: 2,048 characters; the
/// packed, compressed size STS also checks is smaller than the plaintext for JSON like this).
pub const SESSION_POLICY_LIMIT: usize = 2048;

/// A session policy's size, or why STS would refuse it.
pub fn session_policy_size(policy: &str) -> Result<usize, String> {
    match policy.chars().count() {
        n if n <= SESSION_POLICY_LIMIT => Ok(n),
        n => Err(format!(
            "{n} characters exceed STS's {SESSION_POLICY_LIMIT} for a session policy"
        )),
    }
}

/// The AWS a rule family acts in: SDK configuration bound to the finding's region (and, for
/// another account, its credentials). Families build the clients they need from it with
/// [`sdk_client!`](crate::sdk_client) (or [`Ctx::s3`] / [`Ctx::ec2`]).
#[derive(Clone, Debug)]
pub struct Ctx {
    pub sdk: SdkConfig,
    path_style: bool,
    account: String,
    declared: Declared,
    /// Further interceptors for every client (tests: mocks and recorders).
    extra: Vec<SharedInterceptor>,
    /// On an undo run: the ledger's record of the fix it undoes (`crate::undo::load`).
    recorded: Option<std::sync::Arc<crate::finding::Recorded>>,
}

impl Ctx {
    /// A context for tests and tools: the given configuration, the local account id, no limits
    /// beyond the given actions.
    pub fn new(sdk: SdkConfig, account: &str, reads: &'static [&'static str], writes: &'static [&'static str]) -> Ctx {
        Ctx {
            sdk,
            path_style: true,
            account: account.to_string(),
            declared: Declared {
                family: "test",
                reads,
                writes,
            },
            extra: Vec::new(),
            recorded: None,
        }
    }

    /// Adds an interceptor to every client built from this context (a mock, a recorder).
    pub fn with_interceptor(mut self, interceptor: impl Intercept + 'static) -> Ctx {
        self.extra.push(SharedInterceptor::new(interceptor));
        self
    }

    /// The interceptors besides the guard (used by [`sdk_client!`](crate::sdk_client)).
    /// The context with the ledger's record of the fix an undo run undoes.
    pub fn with_recorded(mut self, recorded: crate::finding::Recorded) -> Ctx {
        self.recorded = Some(std::sync::Arc::new(recorded));
        self
    }

    /// The record of the fix an undo run undoes, when loaded.
    pub fn recorded(&self) -> Option<&crate::finding::Recorded> {
        self.recorded.as_deref()
    }

    pub fn interceptors(&self) -> &[SharedInterceptor] {
        &self.extra
    }

    pub fn sdk(&self) -> &SdkConfig {
        &self.sdk
    }

    /// The account acted in (S3 requests send it as `ExpectedBucketOwner`).
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The region acted in.
    pub fn region(&self) -> &str {
        self.sdk.region().map(Region::as_ref).unwrap_or_default()
    }

    /// The same context in another region (a bucket that lives elsewhere).
    pub fn in_region(&self, region: &str) -> Ctx {
        Ctx {
            sdk: self.sdk.to_builder().region(Region::new(region.to_string())).build(),
            ..self.clone()
        }
    }

    /// The interceptor every client of this context carries.
    pub fn guard(&self) -> Declared {
        self.declared
    }

    /// S3, path-style on the local stack (`bucket.localhost` does not resolve); every request
    /// carries this context's account as `ExpectedBucketOwner`, so a bucket someone else owns
    /// is never read or written. (Families reach a bucket through `s3_bucket::client`, which
    /// also finds its region.)
    pub fn s3(&self) -> aws_sdk_s3::Client {
        let mut b = aws_sdk_s3::config::Builder::from(&self.sdk)
            .force_path_style(self.path_style)
            .interceptor(self.guard())
            .interceptor(ExpectedBucketOwner(self.account.clone()));
        for i in &self.extra {
            b.push_interceptor(i.clone());
        }
        aws_sdk_s3::Client::from_conf(b.build())
    }

    pub fn ec2(&self) -> aws_sdk_ec2::Client {
        crate::sdk_client!(self, aws_sdk_ec2)
    }
}

/// A client of SDK crate `$sdk` for a [`Ctx`], carrying its [`Declared`] guard:
/// `let rds = ar_core::sdk_client!(ctx, aws_sdk_rds);`
#[macro_export]
macro_rules! sdk_client {
    ($ctx:expr, $sdk:ident) => {{
        let ctx: &$crate::aws::Ctx = &$ctx;
        let mut b = $sdk::config::Builder::from(ctx.sdk()).interceptor(ctx.guard());
        for i in ctx.interceptors() {
            b.push_interceptor(i.clone());
        }
        $sdk::Client::from_conf(b.build())
    }};
}

/// Sets `x-amz-expected-bucket-owner` on every S3 request: S3 refuses (403) a request for a
/// bucket another account owns, instead of acting on it.
#[derive(Debug)]
struct ExpectedBucketOwner(String);

impl Intercept for ExpectedBucketOwner {
    fn name(&self) -> &'static str {
        "ExpectedBucketOwner"
    }

    fn modify_before_signing(
        &self,
        ctx: &mut BeforeTransmitInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        ctx.request_mut()
            .headers_mut()
            .insert("x-amz-expected-bucket-owner", self.0.clone());
        Ok(())
    }
}

/// The IAM actions a family declares; refuses any other call before it is sent.
#[derive(Clone, Copy, Debug)]
pub struct Declared {
    family: &'static str,
    reads: &'static [&'static str],
    writes: &'static [&'static str],
}

impl Intercept for Declared {
    fn name(&self) -> &'static str {
        "DeclaredActions"
    }

    // Not `read_before_execution`: a client's interceptors run that before the operation's
    // configuration (which names the operation) is in the bag. The guard is every client's first
    // interceptor, so it runs before any other can act on the call (a test's mock included).
    fn modify_before_serialization(
        &self,
        _: &mut BeforeSerializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(meta) = cfg.load::<Metadata>() else {
            return Err("an AWS call without operation metadata: cannot check it against the declared actions".into());
        };
        let action = iam_action(meta.service(), meta.name());
        if self.reads.iter().chain(self.writes).any(|a| *a == action) {
            Ok(())
        } else {
            Err(Box::new(UndeclaredAction {
                action,
                family: self.family,
            }))
        }
    }
}

/// The IAM action an SDK operation needs: `service:Operation`, with the IAM prefixes and the
/// few S3 operations whose action has another name.
pub fn iam_action(service: &str, operation: &str) -> String {
    let prefix = match service.to_ascii_lowercase().replace(' ', "").as_str() {
        "cloudwatchlogs" => "logs".to_string(),
        "configservice" => "config".to_string(),
        other => other.to_string(),
    };
    let operation = match (prefix.as_str(), operation) {
        ("s3", "HeadBucket") => "ListBucket",
        ("s3", "GetBucketEncryption") => "GetEncryptionConfiguration",
        ("s3", "PutBucketEncryption") => "PutEncryptionConfiguration",
        ("s3", "DeleteBucketEncryption") => "PutEncryptionConfiguration",
        ("s3", "GetPublicAccessBlock") => "GetBucketPublicAccessBlock",
        ("s3", "PutPublicAccessBlock") => "PutBucketPublicAccessBlock",
        ("s3", "DeleteBucketPolicy") => "DeleteBucketPolicy",
        (_, op) => op,
    };
    format!("{prefix}:{operation}")
}

/// The SDK configuration for the local stack: its endpoint, static test credentials.
/// (The local gateway, the CLI and the integration tests all talk to it this way.)
pub fn local_sdk_config(endpoint: &str, region: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .endpoint_url(endpoint)
        .credentials_provider(SharedCredentialsProvider::new(Credentials::for_tests()))
        .build()
}

/// SDK configuration for tests: us-east-1, test credentials, and an HTTP client that never
/// reaches the network (a mock interceptor answers).
#[cfg(test)]
pub(crate) fn test_sdk_config() -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(
            aws_credential_types::Credentials::for_tests(),
        ))
        .http_client(aws_smithy_mocks::create_mock_http_client())
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sdk_operations_map_to_their_iam_actions() {
        assert_eq!(iam_action("S3", "PutBucketAcl"), "s3:PutBucketAcl");
        assert_eq!(iam_action("S3", "PutBucketEncryption"), "s3:PutEncryptionConfiguration");
        assert_eq!(
            iam_action("S3", "DeleteBucketEncryption"),
            "s3:PutEncryptionConfiguration"
        );
        assert_eq!(
            iam_action("EC2", "RevokeSecurityGroupIngress"),
            "ec2:RevokeSecurityGroupIngress"
        );
        assert_eq!(iam_action("CloudWatch Logs", "CreateLogGroup"), "logs:CreateLogGroup");
    }

    #[test]
    fn plain_http_only_when_every_endpoint_is_http() {
        let vars = |kv: &[(&str, &str)]| -> Vec<(String, String)> {
            kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        assert!(plain_http_endpoints(vars(&[(
            "AWS_ENDPOINT_URL",
            "http://127.0.0.1:4566"
        )])));
        assert!(plain_http_endpoints(vars(&[
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
            ("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:4567"),
        ])));
        // AWS itself, an https override, one service on https, or overrides ignored: TLS.
        assert!(!plain_http_endpoints(vars(&[("AWS_REGION", "us-east-1")])));
        assert!(!plain_http_endpoints(vars(&[(
            "AWS_ENDPOINT_URL",
            "https://proxy.example"
        )])));
        assert!(!plain_http_endpoints(vars(&[
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
            ("AWS_ENDPOINT_URL_STS", "https://sts.amazonaws.com"),
        ])));
        assert!(!plain_http_endpoints(vars(&[(
            "AWS_ENDPOINT_URL_S3",
            "http://127.0.0.1:4566"
        )])));
        assert!(!plain_http_endpoints(vars(&[
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"),
            ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
        ])));
    }

    /// Counts the requests that reach the transmit phase.
    #[derive(Debug, Default, Clone)]
    struct Transmits(Arc<std::sync::atomic::AtomicUsize>);

    impl Intercept for Transmits {
        fn name(&self) -> &'static str {
            "Transmits"
        }
        fn read_before_transmit(
            &self,
            _: &aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef<'_>,
            _: &RuntimeComponents,
            _: &mut ConfigBag,
        ) -> Result<(), BoxError> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(())
        }
    }

    /// A call the family did not declare is refused before it is sent, by name.
    #[tokio::test]
    async fn an_undeclared_call_is_refused_before_it_is_sent() {
        let sdk = test_sdk_config();
        let sent = Transmits::default();
        let ctx = Ctx::new(sdk, "123456789012", &["ec2:DescribeSecurityGroups"], &[]).with_interceptor(sent.clone());
        let err = ctx
            .ec2()
            .revoke_security_group_ingress()
            .group_id("sg-1")
            .send()
            .await
            .map_err(|e| Error::from_sdk("ec2:RevokeSecurityGroupIngress", e))
            .unwrap_err();
        assert_eq!(err.name(), "UndeclaredAction", "{err}");
        assert!(err.to_string().contains("ec2:RevokeSecurityGroupIngress"), "{err}");
        assert_eq!(sent.0.load(std::sync::atomic::Ordering::SeqCst), 0, "nothing was sent");
        // A declared call does go out.
        let _ = ctx.ec2().describe_security_groups().send().await;
        assert_eq!(sent.0.load(std::sync::atomic::Ordering::SeqCst), 1);
    }

    #[test]
    fn the_member_session_policy_lists_exactly_the_declared_actions() {
        let p: serde_json::Value = serde_json::from_str(&session_policy(
            &["ec2:DescribeImages"],
            &["ec2:ModifyImageAttribute"],
            &[],
        ))
        .unwrap();
        assert_eq!(
            p["Statement"][0]["Action"],
            serde_json::json!(["ec2:DescribeImages", "ec2:ModifyImageAttribute"])
        );
        assert_eq!(p["Statement"].as_array().unwrap().len(), 1);
        assert_eq!(partition("cn-north-1"), "aws-cn");
        assert_eq!(partition("eu-west-1"), "aws");
    }

    #[test]
    fn a_conditioned_action_gets_a_statement_of_its_own_with_the_familys_values() {
        let pass = [ActionCondition::string_equals(
            "iam:PassRole",
            "iam:PassedToService",
            &["vpc-flow-logs.amazonaws.com"],
        )];
        let p: serde_json::Value = serde_json::from_str(&session_policy(
            &["ec2:DescribeFlowLogs"],
            &["ec2:CreateFlowLogs", "iam:PassRole"],
            &pass,
        ))
        .unwrap();
        assert_eq!(
            p["Statement"][0]["Action"],
            serde_json::json!(["ec2:CreateFlowLogs", "ec2:DescribeFlowLogs"])
        );
        assert_eq!(p["Statement"][1]["Action"], "iam:PassRole");
        assert_eq!(
            p["Statement"][1]["Condition"],
            serde_json::json!({"StringEquals": {"iam:PassedToService": ["vpc-flow-logs.amazonaws.com"]}})
        );
    }
}
