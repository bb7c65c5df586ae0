//! SDK clients, built once at cold start and re-bound per region.
//!
//! `AWS_ENDPOINT_URL` (the local stack) is honoured by `aws-config` itself; S3 then uses
//! path-style addressing, since `bucket.localhost` does not resolve.

use aws_config::{BehaviorVersion, SdkConfig};
use aws_types::region::Region;

#[derive(Clone, Debug)]
pub struct Aws {
    sdk: SdkConfig,
    path_style: bool,
}

impl Aws {
    /// Loads the default chain (environment, profile, container or Lambda credentials).
    pub async fn load() -> Aws {
        let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
        let path_style = std::env::var("AWS_ENDPOINT_URL")
            .map(|v| !v.is_empty())
            .unwrap_or(false)
            || std::env::var("AUTO_REMEDIATE_S3_PATH_STYLE").as_deref() == Ok("true");
        Aws { sdk, path_style }
    }

    pub fn from_sdk_config(sdk: SdkConfig, path_style: bool) -> Aws {
        Aws { sdk, path_style }
    }

    pub fn sdk_config(&self) -> &SdkConfig {
        &self.sdk
    }

    /// What a rule family acts with, in `region`.
    pub fn ctx(&self, region: &str) -> Ctx {
        Ctx {
            sdk: self.sdk.to_builder().region(Region::new(region.to_string())).build(),
            path_style: self.path_style,
        }
    }

    pub fn sfn(&self) -> aws_sdk_sfn::Client {
        aws_sdk_sfn::Client::new(&self.sdk)
    }

    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk)
    }
}

/// The AWS a rule family acts in: SDK configuration bound to the finding's region (and, for
/// another account, its credentials). Families build the clients they need from it.
#[derive(Clone, Debug)]
pub struct Ctx {
    pub sdk: SdkConfig,
    path_style: bool,
}

impl Ctx {
    pub fn sdk(&self) -> &SdkConfig {
        &self.sdk
    }

    /// S3, path-style on the local stack (`bucket.localhost` does not resolve).
    pub fn s3(&self) -> aws_sdk_s3::Client {
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&self.sdk)
                .force_path_style(self.path_style)
                .build(),
        )
    }

    pub fn ec2(&self) -> aws_sdk_ec2::Client {
        aws_sdk_ec2::Client::new(&self.sdk)
    }
}

/// The SDK configuration for the local stack: its endpoint, static test credentials.
/// (The local gateway, the CLI and the integration tests all talk to it this way.)
pub fn local_sdk_config(endpoint: &str, region: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .endpoint_url(endpoint)
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(
            aws_credential_types::Credentials::for_tests(),
        ))
        .build()
}
