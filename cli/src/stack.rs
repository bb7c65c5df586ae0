//! The local stack, as `local/stack.sh up` describes it in `<stack-dir>/stack.json`, and SDK
//! clients bound to it.
//!
//! Every client talks to the gateway's endpoint (which forwards to moto) with static test
//! credentials; S3 uses path-style addressing, since `<bucket>.127.0.0.1` does not resolve.

use std::path::Path;

pub use ar_core::local::StackInfo;

/// The running stack and a client per service.
pub struct Stack {
    pub info: StackInfo,
    pub s3: aws_sdk_s3::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub sns: aws_sdk_sns::Client,
    pub sfn: aws_sdk_sfn::Client,
}

/// Builds `$sdk::Client` for the stack: endpoint, region, static credentials (`$extra` adds
/// service-specific settings to the config builder).
macro_rules! client {
    ($sdk:ident, $info:expr $(, $extra:ident($arg:expr))*) => {{
        let config = $sdk::Config::builder()
            .behavior_version($sdk::config::BehaviorVersion::latest())
            .region($sdk::config::Region::new($info.region.clone()))
            .endpoint_url(&$info.endpoint_url)
            .credentials_provider($sdk::config::Credentials::new("test", "test", None, None, "auto-remediate-cli"))
            $(.$extra($arg))*
            .build();
        $sdk::Client::from_conf(config)
    }};
}

impl Stack {
    /// Reads `<dir>/stack.json`; the error says how to start a stack when there is none.
    pub fn load(dir: &Path) -> Result<Stack, String> {
        let info = StackInfo::load(dir)?;
        Ok(Stack {
            s3: client!(aws_sdk_s3, info, force_path_style(true)),
            ec2: client!(aws_sdk_ec2, info),
            sns: client!(aws_sdk_sns, info),
            sfn: client!(aws_sdk_sfn, info),
            info,
        })
    }
}

/// Maps an SDK error to a message naming the operation and the service's error code and text.
pub fn aws<E: std::error::Error>(operation: &'static str) -> impl FnOnce(E) -> String {
    move |e| format!("{operation}: {}", aws_sdk_s3::error::DisplayErrorContext(e))
}
