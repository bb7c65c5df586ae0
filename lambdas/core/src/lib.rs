//! auto-remediate's core: everything the handlers share, and nothing that runs by itself.
//!
//! Five layers, bottom to top; a module imports only from its own layer or below, and no two
//! modules import each other in a circle (held by `tests/layers.rs` over the `use` lines):
//!
//! 1. **model**, plain data and no AWS call: [`error`] (the named errors the state machine
//!    matches), [`spec`] (a catalog rule and its [`spec::Mode`]), [`finding`] (the typed, validated
//!    finding every source becomes, and a resource's recorded state), [`plan`] (what a fix will
//!    change, as data a person reads before and after), [`state`] (what the state machine carries),
//!    [`outcome`] (how executions end), [`logs`] (what every log line of a run carries), [`local`]
//!    (the local stack's `stack.json`), and [`ids`] (resource ids and ARNs);
//! 2. **aws**: [`aws`] (SDK clients per region and account, limited to the declared actions, with
//!    the member roles' session policies) and [`keys`] (the approval links' signing keys);
//! 3. **families**: `families::*`, one module (or folder) per rule family, named as the catalog
//!    names it (read → assess → apply over live state, and revert), each behind the one seam
//!    `families::helpers::family::RuleFamily`; `families::helpers` is what they share;
//! 4. **registry**: [`families`] (its `mod.rs`: which families exist, and what a rule's family
//!    does for a finding),
//!    [`catalog`] (the rules healed, as data: `catalog/rules.json`, and which source ids each heals: `catalog/sources.json`), [`config`] (the user's modes,
//!    exclusion tags, accounts and limits, laid over the catalog);
//! 5. **run**: [`ledger`] (leases, fix journals, generations), [`breaker`] (the blast-radius
//!    circuit breaker), [`approvals`] (the proof of an approve decision), [`intake`] (what arrives,
//!    sorted into acted on, acknowledged and rejected), [`deps`] (what a handler holds),
//!    [`metrics`] (Embedded Metric Format lines) and [`topic`] (the outcome topic's publisher).
//!
//! Handlers (trigger, classify, remediate, verify, approval, notify) are thin crates over this one.

pub mod approvals;
pub mod aws;
pub mod breaker;
pub mod catalog;
pub mod config;
pub mod deps;
pub mod error;
pub mod families;
pub mod finding;
pub mod ids;
pub mod intake;
pub mod keys;
pub mod ledger;
pub mod local;
pub mod logs;
pub mod metrics;
pub mod outcome;
pub mod plan;
pub mod spec;
pub mod state;
pub mod topic;

pub use error::Error;
