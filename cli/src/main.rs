//! `auto-remediate`: the command line of auto-remediate.
//!
//! ```text
//! auto-remediate demo [--stack-dir DIR] [--wait-for-approval]
//!                 heal a public bucket and open security groups on the local stack described by
//!                 DIR/stack.json (default .local), one of them through the approval gate: the demo
//!                 approves it itself, or with --wait-for-approval waits for you to, in a browser
//! auto-remediate help
//! ```
//! Exit status: 0 when the command succeeded (for `demo`: every check passed), 1 when it failed,
//! 2 on a usage error.

mod approval;
mod bucket;
mod checks;
mod conformity;
mod demo;
mod group;
mod http;
mod progress;
mod stack;

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: auto-remediate <command> [options]

commands:
  demo [--stack-dir DIR] [--wait-for-approval]
                           heal a public bucket and open security groups on the local stack
                           (DIR/stack.json, written by `local/stack.sh up`; default .local).
                           One group needs an approver's confirmation (EC2-003 in `approve`
                           mode): the demo follows the e-mailed approve link itself, or with
                           --wait-for-approval prints it and waits for you to confirm in a browser
  help                     show this help";

/// A parsed command line.
#[derive(Debug, PartialEq, Eq)]
enum Command {
    Demo {
        stack_dir: PathBuf,
        wait_for_approval: bool,
    },
    Help,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Command, String> {
    let command = args.next().ok_or("no command given")?;
    match command.as_str() {
        "demo" => {
            let mut stack_dir = PathBuf::from(".local");
            let mut wait_for_approval = false;
            while let Some(arg) = args.next() {
                match arg.as_str() {
                    "--stack-dir" => stack_dir = args.next().ok_or("--stack-dir needs a value")?.into(),
                    "--wait-for-approval" => wait_for_approval = true,
                    "-h" | "--help" => return Ok(Command::Help),
                    other => return Err(format!("demo: unknown argument {other}")),
                }
            }
            Ok(Command::Demo {
                stack_dir,
                wait_for_approval,
            })
        }
        "help" | "-h" | "--help" => Ok(Command::Help),
        other => Err(format!("unknown command {other}")),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let command = match parse(std::env::args().skip(1)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("auto-remediate: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match command {
        Command::Help => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Command::Demo {
            stack_dir,
            wait_for_approval,
        } => match demo::run(&stack_dir, wait_for_approval).await {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::FAILURE,
            Err(e) => {
                eprintln!("auto-remediate demo: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::{parse, Command};

    fn args(s: &str) -> impl Iterator<Item = String> + '_ {
        s.split_whitespace().map(str::to_string)
    }

    #[test]
    fn demo_takes_an_optional_stack_dir_and_wait_flag() {
        assert_eq!(
            parse(args("demo")).unwrap(),
            Command::Demo {
                stack_dir: ".local".into(),
                wait_for_approval: false,
            }
        );
        assert_eq!(
            parse(args("demo --stack-dir .local/demo-dev")).unwrap(),
            Command::Demo {
                stack_dir: ".local/demo-dev".into(),
                wait_for_approval: false,
            }
        );
        assert_eq!(
            parse(args("demo --wait-for-approval --stack-dir .local/demo-dev")).unwrap(),
            Command::Demo {
                stack_dir: ".local/demo-dev".into(),
                wait_for_approval: true,
            }
        );
        assert!(parse(args("demo --stack-dir")).is_err());
        assert!(parse(args("demo --bogus")).is_err());
    }

    #[test]
    fn unknown_commands_are_usage_errors() {
        assert!(parse(args("heal")).is_err());
        assert!(parse(args("")).is_err());
        assert_eq!(parse(args("help")).unwrap(), Command::Help);
    }
}
