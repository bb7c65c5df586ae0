//! `auto-remediate`: the command line of auto-remediate.
//!
//! ```text
//! auto-remediate demo [--stack-dir DIR] [--wait-for-approval]   the whole flow on the local stack
//! auto-remediate runs [filters] [--json]                         the executions, newest first
//! auto-remediate show <execution name or ARN>                    one run's whole story
//! auto-remediate undo <execution name or ARN> [--no-wait]        restore the state before its fix
//! auto-remediate breaker status [--json] | reset [--account A] [--family F]
//!                                                                the blast-radius circuit breaker
//! auto-remediate completions <shell>                             a shell completion script
//! ```
//! Where the executions are: `--stack-dir DIR` (the local stack's `DIR/stack.json`), or AWS's
//! default credential chain and region with `--state-machine-arn` (or
//! `AUTO_REMEDIATE_STATE_MACHINE_ARN`) and optionally `--endpoint-url`. See docs/cli.md.
//!
//! Exit status: 0 when the command succeeded (for `demo`: every check passed), 1 when it failed,
//! 2 on a usage error.

mod approval;
mod audit;
mod breaker;
mod bucket;
mod case;
mod checks;
mod conformity;
mod demo;
mod group;
mod http;
mod progress;
mod runs;
mod show;
mod stack;
mod undo;
mod window;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_sfn::types::ExecutionStatus;
use clap::{CommandFactory, Parser, Subcommand};

use crate::audit::{Connection, Target};
use crate::window::TimeArg;

/// Audit and demo auto-remediate: the Step Functions runs that heal what Conformity flags.
#[derive(Debug, Parser, PartialEq)]
#[command(name = "auto-remediate", version, about, long_about = None)]
struct Cli {
    /// The local stack's directory: reads DIR/stack.json (endpoint, region, state machine),
    /// written by `local/stack.sh up`.
    #[arg(long, global = true, value_name = "DIR")]
    stack_dir: Option<PathBuf>,
    /// Send every AWS call to this endpoint (with the default credential chain unless
    /// --stack-dir is given).
    #[arg(long, global = true, value_name = "URL")]
    endpoint_url: Option<String>,
    /// The remediation state machine (default: the local stack's, with --stack-dir).
    #[arg(long, global = true, value_name = "ARN", env = "AUTO_REMEDIATE_STATE_MACHINE_ARN")]
    state_machine_arn: Option<String>,
    /// The AWS region (default: the state machine ARN's, else the default chain's).
    #[arg(long, global = true)]
    region: Option<String>,
    /// The state table, whose run records `runs` reads (default: the local stack's, or the
    /// state machine's name with `-state`, as infra/ names it).
    #[arg(long, global = true, value_name = "TABLE", env = "AUTO_REMEDIATE_STATE_TABLE")]
    state_table: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand, PartialEq)]
enum Command {
    /// Heal a public bucket and open security groups on the local stack (DIR/stack.json;
    /// default .local). One group needs an approver (EC2-003 in `approve` mode): the demo follows
    /// the e-mailed approve link itself, or with --wait-for-approval waits for you to.
    Demo {
        /// Print the approve link and wait for a person to confirm it in a browser.
        #[arg(long)]
        wait_for_approval: bool,
    },
    /// List the executions, newest first: rule, resource, account, region, decision, outcome
    /// (the end state), approver, start time and duration.
    Runs(RunsArgs),
    /// One execution's story: timeline, finding, decision and why, plan, approval, before →
    /// after, verification, failure, console URL.
    Show {
        /// The execution's name (or a unique start of it) or its ARN.
        execution: String,
    },
    /// Restore the state recorded before an execution's fix, as an audited execution of its own
    /// (`undo-<name>`), through the approval gate unless the config's `undo.mode` says otherwise.
    /// Refuses when the run changed nothing, its before-state is missing, or the resource
    /// changed since (showing the difference).
    Undo {
        /// The execution's name (or a unique start of it) or its ARN.
        execution: String,
        /// Start the undo and return, instead of following it to its end (or to the approval gate).
        #[arg(long)]
        no_wait: bool,
    },
    /// The blast-radius circuit breaker: `auto` changes and fixes that failed verification per
    /// account and rule family within the last hour (`status`), and clearing them to reopen it (`reset`).
    Breaker {
        #[command(subcommand)]
        action: BreakerAction,
    },
    /// Print a completion script for a shell (`auto-remediate completions bash > /etc/bash_completion.d/auto-remediate`).
    Completions { shell: clap_complete::Shell },
}

#[derive(Debug, Subcommand, PartialEq)]
enum BreakerAction {
    /// Each account and rule family with auto changes or fixes that failed verification in the
    /// last hour: both counts, their limits, open or closed.
    Status {
        /// A JSON array of objects (account, family, count, limit, verification_failures,
        /// verification_failure_limit, open, open_until) instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Clear the counted changes, failed verifications and trips (of one account and/or family;
    /// all without filters), which reopens the breaker: further `auto` findings run in `auto`
    /// again, and a later trip is notified again.
    Reset {
        /// Only this AWS account.
        #[arg(long)]
        account: Option<String>,
        /// Only this rule family (e.g. s3-acl, ec2-world-port).
        #[arg(long)]
        family: Option<String>,
    },
}

#[derive(Debug, clap::Args, PartialEq)]
struct RunsArgs {
    /// Only this rule (e.g. EC2-002).
    #[arg(long)]
    rule: Option<String>,
    /// Only this resource (e.g. sg-0123…, a bucket name).
    #[arg(long)]
    resource: Option<String>,
    /// Only runs that ended in this state (Healed, DryRunComplete, AlreadyCompliant,
    /// VerificationFailed, …; case and dashes ignored).
    #[arg(long)]
    outcome: Option<String>,
    /// Only runs with this status.
    #[arg(long, value_parser = ["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"], ignore_case = true)]
    status: Option<String>,
    /// Only runs started at or after this: RFC 3339 (2026-11-28T05:00:00Z) or a duration ago (2h, 30m, 1d).
    #[arg(long, value_name = "TIME")]
    since: Option<TimeArg>,
    /// Only runs started at or before this: RFC 3339 or a duration ago.
    #[arg(long, value_name = "TIME")]
    until: Option<TimeArg>,
    /// Show at most N runs.
    #[arg(long, default_value_t = 50, value_name = "N")]
    limit: usize,
    /// A JSON array of objects instead of the table (fields in docs/cli.md).
    #[arg(long)]
    json: bool,
}

impl RunsArgs {
    fn filter(&self, now: f64) -> runs::Filter {
        runs::Filter {
            rule: self.rule.clone(),
            resource: self.resource.clone(),
            outcome: self.outcome.clone(),
            status: self
                .status
                .as_ref()
                .map(|s| ExecutionStatus::from(s.to_ascii_uppercase().as_str())),
            since: self.since.as_ref().map(|t| t.at(now)),
            until: self.until.as_ref().map(|t| t.at(now)),
            limit: self.limit,
        }
    }
}

impl Cli {
    fn connection(&self) -> Connection {
        Connection {
            stack_dir: self.stack_dir.clone(),
            endpoint_url: self.endpoint_url.clone(),
            state_machine_arn: self.state_machine_arn.clone(),
            region: self.region.clone(),
            state_table: self.state_table.clone(),
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let name = match &cli.command {
        Command::Demo { .. } => "demo",
        Command::Runs(_) => "runs",
        Command::Show { .. } => "show",
        Command::Undo { .. } => "undo",
        Command::Breaker { .. } => "breaker",
        Command::Completions { .. } => "completions",
    };
    match run(cli).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("auto-remediate {name}: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<bool, String> {
    let connection = cli.connection();
    match cli.command {
        Command::Demo { wait_for_approval } => {
            let stack_dir = cli.stack_dir.unwrap_or_else(|| PathBuf::from(".local"));
            demo::run(&stack_dir, wait_for_approval).await
        }
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "auto-remediate", &mut script);
            emit(&String::from_utf8_lossy(&script))?;
            Ok(true)
        }
        Command::Runs(args) => {
            let target = Target::connect(&connection).await?;
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or_default();
            let rows = runs::list(&target, &args.filter(now)).await?;
            if args.json {
                emit(&(serde_json::to_string_pretty(&rows).map_err(|e| e.to_string())? + "\n"))?;
            } else if rows.is_empty() {
                eprintln!("no runs match (state machine {})", target.state_machine_arn);
            } else {
                emit(&runs::table(&rows))?;
            }
            Ok(true)
        }
        Command::Show { execution } => {
            let target = Target::connect(&connection).await?;
            emit(&show::render(&target, &execution).await?)?;
            Ok(true)
        }
        Command::Breaker { action } => {
            let target = Target::connect(&connection).await?;
            match action {
                BreakerAction::Status { json } => {
                    let rows = breaker::status(&target).await?;
                    match json {
                        true => emit(&(serde_json::to_string_pretty(&rows).map_err(|e| e.to_string())? + "\n"))?,
                        false => emit(&breaker::table(&rows))?,
                    }
                }
                BreakerAction::Reset { account, family } => {
                    emit(&breaker::reset(&target, account.as_deref(), family.as_deref()).await?)?;
                }
            }
            Ok(true)
        }
        Command::Undo { execution, no_wait } => {
            let target = Target::connect(&connection).await?;
            let outcome = undo::run(&target, &execution, !no_wait).await?;
            emit(&(outcome.text + "\n"))?;
            Ok(outcome.ok)
        }
    }
}

/// Writes to stdout; a reader that went away (`| head`) is not an error.
fn emit(text: &str) -> Result<(), String> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(format!("writing the output: {e}")),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("auto-remediate").chain(line.split_whitespace()))
    }

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn demo_takes_an_optional_stack_dir_and_wait_flag() {
        let cli = parse("demo").unwrap();
        assert_eq!(
            cli.command,
            Command::Demo {
                wait_for_approval: false
            }
        );
        assert_eq!(cli.stack_dir, None);
        let cli = parse("demo --stack-dir .local/demo-dev").unwrap();
        assert_eq!(cli.stack_dir, Some(".local/demo-dev".into()));
        let cli = parse("demo --wait-for-approval --stack-dir .local/demo-dev").unwrap();
        assert_eq!(
            cli.command,
            Command::Demo {
                wait_for_approval: true
            }
        );
        assert_eq!(cli.stack_dir, Some(".local/demo-dev".into()));
        assert!(parse("demo --stack-dir").is_err());
        assert!(parse("demo --bogus").is_err());
    }

    #[test]
    fn runs_takes_filters_and_a_time_window() {
        let cli = parse("--stack-dir .local runs --rule EC2-002 --resource sg-1 --outcome healed --status failed --since 2h --until 2026-11-28T05:00:00Z --limit 5 --json").unwrap();
        let Command::Runs(args) = &cli.command else {
            panic!("not runs: {cli:?}")
        };
        let f = args.filter(10_000.0);
        assert_eq!(f.rule.as_deref(), Some("EC2-002"));
        assert_eq!(f.resource.as_deref(), Some("sg-1"));
        assert_eq!(f.outcome.as_deref(), Some("healed"));
        assert_eq!(f.status, Some(ExecutionStatus::Failed));
        assert_eq!(f.since, Some(10_000.0 - 7200.0));
        assert_eq!(f.until, Some(1_795_842_000.0));
        assert_eq!(f.limit, 5);
        assert!(args.json);
        let Command::Runs(args) = parse("runs").unwrap().command else {
            panic!()
        };
        assert_eq!(args.limit, 50);
        assert!(!args.json);
        assert!(parse("runs --since yesterday").is_err());
        assert!(parse("runs --status DONE").is_err());
        assert!(parse("runs --limit x").is_err());
    }

    #[test]
    fn show_takes_one_execution_and_global_options_anywhere() {
        let cli = parse("show EC2-002-sg-1-abc --endpoint-url http://127.0.0.1:4566 --state-machine-arn arn:aws:states:eu-west-1:1:stateMachine:x").unwrap();
        assert_eq!(
            cli.command,
            Command::Show {
                execution: "EC2-002-sg-1-abc".into()
            }
        );
        assert_eq!(cli.endpoint_url.as_deref(), Some("http://127.0.0.1:4566"));
        assert!(parse("show").is_err());
        assert!(parse("completions bash").is_ok());
        assert!(parse("completions cmd").is_err());
    }

    #[test]
    fn breaker_takes_status_and_a_filtered_reset() {
        assert_eq!(
            parse("breaker status").unwrap().command,
            Command::Breaker {
                action: BreakerAction::Status { json: false }
            }
        );
        assert_eq!(
            parse("breaker reset --account 123456789012 --family s3-acl")
                .unwrap()
                .command,
            Command::Breaker {
                action: BreakerAction::Reset {
                    account: Some("123456789012".into()),
                    family: Some("s3-acl".into())
                }
            }
        );
        assert_eq!(
            parse("breaker reset").unwrap().command,
            Command::Breaker {
                action: BreakerAction::Reset {
                    account: None,
                    family: None
                }
            }
        );
        assert!(parse("breaker").is_err());
        assert!(parse("breaker open").is_err());
    }

    #[test]
    fn unknown_commands_are_usage_errors() {
        assert!(parse("heal").is_err());
        assert!(parse("").is_err());
    }
}
