//! The local stack, as `local/stack.sh up` describes it in `<stack-dir>/stack.json`, and SDK
//! clients bound to it.
//!
//! Every client talks to the gateway's endpoint (which forwards to moto) with static test
//! credentials; S3 uses path-style addressing, since `<bucket>.127.0.0.1` does not resolve.

use std::path::Path;

use serde::Deserialize;

/// The fields of `stack.json` the CLI uses (the file has more).
#[derive(Debug, Clone, Deserialize)]
pub struct StackInfo {
    pub endpoint_url: String,
    pub region: String,
    pub account_id: String,
    pub topic_arn: String,
    pub state_machine_arn: String,
    /// Where the local stack writes each approval e-mail (`.eml` and `.html`).
    pub outbox_dir: String,
}

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
        let path = dir.join("stack.json");
        let text = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "no local stack at {} ({e}); start one with `local/stack.sh up` (STACK_DIR={} for this directory)",
                path.display(),
                dir.display()
            )
        })?;
        let info: StackInfo = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
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
