//! The local stack's description, `<stack-dir>/stack.json`: written by the gateway
//! (`local/stack.sh up`), read by the CLI and the integration tests. One definition for all three.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// `<stack-dir>/stack.json`: how tools and tests find the stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackInfo {
    /// The gateway's endpoint: every SDK client of the stack talks to it.
    pub endpoint_url: String,
    pub region: String,
    pub account_id: String,
    /// The Conformity SNS topic.
    pub topic_arn: String,
    pub state_machine_arn: String,
    /// Where every execution's outcome is published (subscribe a queue to read them).
    #[serde(default)]
    pub outcome_topic_arn: String,
    /// moto itself, behind the gateway.
    #[serde(default)]
    pub moto_url: String,
    /// The rules config the stack runs with, if one was given.
    #[serde(default)]
    pub config_file: Option<String>,
    /// The base URL of the approval pages.
    #[serde(default)]
    pub approval_url: String,
    #[serde(default)]
    pub approval_table: String,
    /// The ledger's table (leases, journals, run records).
    #[serde(default)]
    pub state_table: String,
    /// Where the local stack writes each approval e-mail (`.eml` and `.html`).
    #[serde(default)]
    pub outbox_dir: String,
    #[serde(default)]
    pub gateway_pid: u32,
}

impl StackInfo {
    /// Reads `<dir>/stack.json`; the error names the file and says how to start a stack.
    pub fn load(dir: &Path) -> Result<StackInfo, String> {
        let path = dir.join("stack.json");
        let text = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "no local stack at {} ({e}); start one with `local/stack.sh up` (STACK_DIR={} for this directory)",
                path.display(),
                dir.display()
            )
        })?;
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }
}
