//! auto-remediate's core: everything the handlers share, and nothing that runs by itself.
//!
//! - [`intake`]: what arrives on the topic, sorted into acted on, acknowledged and rejected;
//! - [`finding`]: the typed, validated [`finding::Finding`] every source becomes;
//! - [`catalog`]: the rules auto-remediate heals, as data (`catalog/rules.json`);
//! - [`config`]: the user's per-rule modes, exclusion tags and accounts;
//! - [`approvals`]: the proof of an approve decision (the approval store's record, not the task output);
//! - [`keys`]: the approval links' signing keys (environment, Secrets Manager, SSM), with rotation;
//! - [`rules`]: the code behind each rule family (inspect, plan, apply), over live AWS state;
//! - [`ledger`]: per-resource leases, fix journals and check generations (safety under real traffic);
//! - [`breaker`]: the blast-radius circuit breaker (auto changes and failed verifications per
//!   account and family per hour);
//! - [`plan`]: what a fix will change, as data a person reads before and after;
//! - [`outcome`]: how executions end (the state machine's end states), and which are notified;
//! - [`topic`]: the outcome topic's one publisher (run outcomes, breaker trips);
//! - [`logs`]: the execution, rule and resource every log line of a run carries;
//! - [`metrics`]: CloudWatch metrics as Embedded Metric Format lines (deliveries by kind and reason);
//! - [`local`]: the local stack's `stack.json` ([`local::StackInfo`]), for the gateway, CLI and tests;
//! - [`aws`]: SDK clients built once, per region; [`error`]: the named errors the state machine matches.
//!
//! Handlers (trigger, classify, remediate, verify) are thin crates over this one.

pub mod approvals;
pub mod aws;
pub mod breaker;
pub mod catalog;
pub mod config;
pub mod deps;
pub mod error;
pub mod finding;
pub mod intake;
pub mod keys;
pub mod ledger;
pub mod local;
pub mod logs;
pub mod metrics;
pub mod outcome;
pub mod plan;
pub mod rules;
pub mod state;
pub mod topic;

pub use error::Error;
