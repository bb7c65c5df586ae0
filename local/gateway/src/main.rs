//! `ar-local`: the local stack's gateway.
//!
//! ```text
//! ar-local --port 4510 --moto http://127.0.0.1:4511 --stack-dir .local [--config FILE]
//! ```
//! Binds the gateway on 127.0.0.1 (moto must run with `MOTO_PORT` = the gateway's port, so Step
//! Functions' Lambda calls come back here), provisions the topic and the state machine, writes
//! `<stack-dir>/stack.json`, then serves until killed. See `make local-up`.
//!
//! The handlers' own AWS calls go through the gateway too (not straight to moto), so the fault
//! rules at `/_local/faults` apply to them as AWS's own failures would.

mod ddb_locks;
mod eventbridge;
mod faults;
mod kms_usage;
mod metrics;
mod provision;
mod routes;
mod securityhub;
mod server;

use std::path::PathBuf;

use ar_core::aws::Aws;
use ar_core::catalog::Catalog;
use ar_core::config::{Config, Settings};
use ar_core::deps::Deps;
use clap::Parser;

/// The local stack's gateway: binds the gateway and the approval pages on 127.0.0.1, provisions
/// the topic and the state machine on moto, writes `<stack-dir>/stack.json`, then serves until
/// killed.
#[derive(Parser, Debug)]
#[command(name = "ar-local")]
struct Args {
    /// The gateway's port (moto must run with MOTO_PORT set to it).
    #[arg(long, default_value_t = 4510)]
    port: u16,
    /// moto's URL.
    #[arg(long, default_value = "http://127.0.0.1:4511")]
    moto: String,
    /// Where `stack.json` and the outbox go.
    #[arg(long, default_value = ".local")]
    stack_dir: PathBuf,
    /// The rules config (JSON); none or empty: the catalog's defaults.
    #[arg(long)]
    config: Option<String>,
    #[arg(long, env = "AWS_REGION", default_value = "us-east-1")]
    region: String,
    /// The state machine's definition.
    #[arg(long, default_value = "statemachines/remediation.asl.json")]
    asl: PathBuf,
    /// The approval pages' port.
    #[arg(long, default_value_t = 4512)]
    approval_port: u16,
    /// The approval links' signing key file, as the handlers' APPROVAL_SIGNING_KEY_FILE.
    #[arg(long)]
    signing_key_file: Option<String>,
}

#[tokio::main]
async fn main() {
    ar_handlers::init_logging();
    if let Err(e) = run().await {
        eprintln!("ar-local: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), String> {
    let mut args = Args::parse();
    args.config = args.config.filter(|path| !path.is_empty());
    // A config that cannot work stops the stack here, before anything is bound or provisioned.
    let config_text = match &args.config {
        Some(path) => Some(std::fs::read_to_string(path).map_err(|e| format!("--config {path}: {e}"))?),
        None => None,
    };
    let config = match (&config_text, &args.config) {
        (Some(text), Some(path)) => {
            Config::parse(text, Catalog::builtin()).map_err(|e| format!("--config {path}: {e}"))?
        }
        _ => {
            let config = Config::default();
            config
                .validate(Catalog::builtin())
                .map_err(|e| format!("no --config, so the catalog defaults apply: {e}"))?;
            config
        }
    };
    let sender = config.approval.sender;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .map_err(|e| format!("binding 127.0.0.1:{}: {e}", args.port))?;
    let endpoint = format!("http://127.0.0.1:{}", args.port);
    let approvals = tokio::net::TcpListener::bind(("127.0.0.1", args.approval_port))
        .await
        .map_err(|e| format!("binding 127.0.0.1:{}: {e}", args.approval_port))?;
    let approval_url = format!("http://127.0.0.1:{}", args.approval_port);
    let gw = server::Gateway::new(args.moto.clone());
    tokio::spawn(routes::serve(listener, gw.clone()));
    tokio::spawn(routes::serve_approvals(approvals, gw.clone()));

    let asl = std::fs::read_to_string(&args.asl).map_err(|e| format!("{}: {e}", args.asl.display()))?;
    let provisioned = provision::provision(
        &args.moto,
        &args.region,
        &asl,
        &format!("{endpoint}/_local/sns/trigger"),
        sender.as_deref(),
    )
    .await?;
    // The EventBridge rules infra/main.tf creates when subscribed to Security Hub and AWS Config;
    // the gateway delivers matching events to the trigger (`eventbridge.rs`).
    let sdk = provision::sdk_config(&args.moto, &args.region);
    let event_targets = eventbridge::provision_rules(&aws_sdk_eventbridge::Client::new(&sdk), &args.region).await?;
    for (rule, target) in &event_targets {
        gw.lambda_targets.put(&args.region, "default", rule, target.clone());
    }
    std::fs::create_dir_all(&args.stack_dir).map_err(|e| e.to_string())?;
    let outbox = std::fs::canonicalize(&args.stack_dir)
        .map_err(|e| e.to_string())?
        .join("outbox");

    // The handlers see exactly the environment a Lambda function would, plus the endpoint.
    let region = args.region.clone();
    let sm = provisioned.state_machine_arn.clone();
    let outcome_topic = provisioned.outcome_topic_arn.clone();
    let settings = Settings::from_lookup(|k| match k {
        "AWS_REGION" => Some(region.clone()),
        "AUTO_REMEDIATE_ACCOUNT_ID" => Some(provision::ACCOUNT_ID.into()),
        "STATE_MACHINE_ARN" => Some(sm.clone()),
        "AUTO_REMEDIATE_CONFIG" => config_text.clone(),
        "APPROVAL_TABLE" => Some(provision::APPROVAL_TABLE.into()),
        "STATE_TABLE" => Some(provision::STATE_TABLE.into()),
        "APPROVAL_BASE_URL" => Some(approval_url.clone()),
        "APPROVAL_SIGNING_KEY_FILE" => args.signing_key_file.clone(),
        "AUTO_REMEDIATE_OUTBOX_DIR" => Some(outbox.display().to_string()),
        "OUTCOME_TOPIC_ARN" => Some(outcome_topic.clone()),
        _ => None,
    })
    .map_err(|e| format!("{}: {e}", e.name()))?;
    // Through our own endpoint, so the fault injector sees the handlers' calls (path-style S3).
    let deps = Deps::new(
        settings,
        Aws::from_sdk_config(provision::sdk_config(&endpoint, &args.region), true),
    )
    .map_err(|e| format!("{}: {e}", e.name()))?;
    gw.deps.set(deps).map_err(|_| "dependencies set twice".to_string())?;
    gw.metrics.install();

    let info = provision::StackInfo {
        endpoint_url: endpoint,
        region: args.region.clone(),
        account_id: provision::ACCOUNT_ID.into(),
        topic_arn: provisioned.topic_arn,
        outcome_topic_arn: provisioned.outcome_topic_arn,
        state_machine_arn: provisioned.state_machine_arn,
        moto_url: args.moto.clone(),
        config_file: args.config.clone(),
        approval_url: approval_url.clone(),
        approval_table: provision::APPROVAL_TABLE.into(),
        state_table: provision::STATE_TABLE.into(),
        outbox_dir: outbox.display().to_string(),
        gateway_pid: std::process::id(),
    };
    std::fs::create_dir_all(&args.stack_dir).map_err(|e| e.to_string())?;
    let tmp = args.stack_dir.join("stack.json.tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(&info).expect("serializable")).map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, args.stack_dir.join("stack.json")).map_err(|e| e.to_string())?;
    tracing::info!(endpoint = info.endpoint_url, "local stack ready");

    tokio::signal::ctrl_c().await.map_err(|e| e.to_string())?;
    Ok(())
}
