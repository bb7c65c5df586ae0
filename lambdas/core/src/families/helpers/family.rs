//! The seam every rule family plugs into: one trait with associated types, and one small
//! type-erased adapter that carries a family's state and changes as tagged JSON.
//!
//! A family declares, next to its calls: its name (the catalog's `family`), what its resource ids
//! look like, the IAM actions it reads and writes, how long its changes take to show, and the
//! operations read → assess (what fails, and the minimal plan) → apply, plus `simulate` and
//! `diff` (used to combine several fixes for one approval, and to record what changed).
//! Nothing outside the family's own module knows its types.

use std::collections::BTreeMap;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::aws::ActionCondition;
use crate::aws::Ctx;
use crate::error::Error;
use crate::finding::Recorded;
pub use crate::finding::ResourceState;
use crate::plan::{Describe, Plan};

/// Whether to read the resource's tags too (needed to honour exclusion tags, not to verify).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tags {
    Read,
    Skip,
}

/// The finding a plan is for (the plan names them).
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub rule_id: &'a str,
    pub resource: &'a str,
    pub region: &'a str,
}

impl Target<'_> {
    /// The plan for this finding (its rule, resource and region): `summary` and the `changes`.
    pub fn plan<C: Describe>(&self, summary: String, changes: Vec<C>) -> Plan<C> {
        Plan::new(self.rule_id, self.resource, self.region, summary, changes)
    }
}

/// The parameters of a family whose rules take none: `{}`, anything else refused.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

/// Where a family's resources live: which region a finding acts in, and whether it must name
/// a resource. Intake reads it (README, "Intake").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Placement {
    /// In one region, which the finding names (`region`, or the `ccrn`'s; `global` on both: the
    /// deployment's region). A finding must name the resource.
    Regional,
    /// Named globally, living in one region the live resource tells (an S3 bucket:
    /// `GetBucketLocation`): acted on from the deployment's region whatever the finding says.
    Located,
    /// Global (IAM, Organizations): acted on from the deployment's region.
    Global,
    /// The region itself (GuardDuty, AWS Config, CloudTrail): a finding that names no resource
    /// means its region.
    Region,
}

/// What a family reads: the rule-relevant state and, when asked, the tags.
pub struct Read<S> {
    pub state: S,
    pub tags: BTreeMap<String, String>,
}

/// What fails the rule (one line each; empty: compliant) and the minimal plan that fixes it.
pub struct Assessment<C> {
    pub offending: Vec<String>,
    pub plan: Plan<C>,
}

/// One rule family. Implement it in one module, add one line to the registry in `families/mod.rs`,
/// and catalog entries in `catalog/rules.json`.
pub trait RuleFamily: Send + Sync + 'static {
    /// The catalog's `family` value, and the `kind` tag of its recorded state.
    const NAME: &'static str;
    /// What its resource ids are, for messages ("security group id").
    const RESOURCE: &'static str;
    /// IAM actions its reads need (`ec2:DescribeSecurityGroups`), declared next to the calls.
    const READS: &'static [&'static str];
    /// IAM actions its writes need.
    const WRITES: &'static [&'static str];
    /// IAM conditions some of those actions are granted under, declared next to the calls that
    /// need them (`iam:PassRole` only with `iam:PassedToService` naming the service the role is
    /// handed to). Carried into `iam.json` (Terraform's role and member policies) and into the
    /// member session policy (`aws::session_policy`).
    const CONDITIONS: &'static [ActionCondition] = &[];
    /// How long a change may take to show in reads; Verify re-reads for this long.
    const SETTLE: Duration = Duration::from_secs(6);
    /// Where its resources live (intake's region and resource rules).
    const PLACEMENT: Placement = Placement::Regional;
    /// For RULES.md: what a fix changes, what it never touches, how to undo it from its
    /// recorded `before`, and where it is proven (the local stack, or request-level tests only).
    const DOC: FamilyDoc;

    /// Each catalog rule's parameters (which port, which grantee, ...).
    type Params: DeserializeOwned + Send + Sync;
    /// The rule-relevant state of a resource: `before` and `after` in the audit trail.
    type State: Serialize + DeserializeOwned + Clone + Send + Sync;
    /// One write, serialized with an `action` tag.
    type Change: Serialize + DeserializeOwned + Clone + Describe + Send + Sync;

    /// Whether `id` has the shape of this family's resource ids (rejects path-like or injected ids).
    fn valid_id(id: &str) -> bool;

    /// The resource id to act on, from the one the scanner sent and its `extradata` (string
    /// values by name): the sent id unless the family needs more of the message to name it
    /// exactly. Checked with [`RuleFamily::valid_id`] afterwards.
    fn resource_from(sent: &str, _extradata: &BTreeMap<String, String>) -> String {
        sent.to_string()
    }

    /// Reads the resource; `None` when it does not exist.
    fn read(
        ctx: &Ctx,
        resource: &str,
        tags: Tags,
    ) -> impl Future<Output = Result<Option<Read<Self::State>>, Error>> + Send;

    /// What fails the rule in `state` and the minimal plan. No I/O.
    fn assess(state: &Self::State, params: &Self::Params, target: Target<'_>) -> Assessment<Self::Change>;

    /// Performs `changes`, derived from a fresh read of `state`. Idempotent: a change already
    /// made counts as done, so a retry after a partial apply finishes the same intent.
    fn apply(
        ctx: &Ctx,
        resource: &str,
        state: &Self::State,
        changes: &[Self::Change],
    ) -> impl Future<Output = Result<(), Error>> + Send;

    /// The state as it would be after `changes`, computed, not applied.
    fn simulate(state: &Self::State, changes: &[Self::Change]) -> Self::State;

    /// What differs between two states, one line each in plan wording (`revoke ingress ...`).
    fn diff(before: &Self::State, after: &Self::State) -> Vec<String>;

    /// The changes that make `live` what `before` was (an undo from the recorded before-state),
    /// or `None` when this family cannot undo yet.
    fn revert(_live: &Self::State, _before: &Self::State) -> Option<Vec<Self::Change>> {
        None
    }

    /// Why `live` cannot be put back as `before` at all (an undo refused by name, `CannotUndo`
    /// with this reason), checked before the resource-changed check and [`RuleFamily::revert`];
    /// `None`: it can.
    fn cannot_undo(_live: &Self::State, _before: &Self::State) -> Option<String> {
        None
    }

    /// Performs `changes` like [`RuleFamily::apply`] and returns the state they leave:
    /// [`RuleFamily::simulate`]'s, with the ids AWS returned for what they created in place of the
    /// plan's placeholders (a detector, a flow log, a handshake). Remediate records it as the
    /// fix's `after`, so an undo deletes exactly what the fix created. A family that creates
    /// nothing keeps this default.
    fn apply_recorded(
        ctx: &Ctx,
        resource: &str,
        state: &Self::State,
        changes: &[Self::Change],
    ) -> impl Future<Output = Result<Self::State, Error>> + Send {
        async move {
            Self::apply(ctx, resource, state, changes).await?;
            Ok(Self::simulate(state, changes))
        }
    }

    /// The undo's changes from `live` back to `before`, knowing what the fix left (`after`, with
    /// the ids of what it created); `Err(why)`: refused by name (`CannotUndo`). By default
    /// [`RuleFamily::revert`].
    fn revert_recorded(
        live: &Self::State,
        before: &Self::State,
        _after: &Self::State,
    ) -> Result<Vec<Self::Change>, String> {
        Self::revert(live, before).ok_or_else(|| format!("the {} family cannot undo yet", Self::NAME))
    }

    /// Whether this family's undo waits for an approver even when `undo.mode` is `auto` (an undo
    /// that destroys something, e.g. re-scheduling a key's deletion). Classify reads it.
    const UNDO_GATED: bool = false;

    /// The catalog parameters that say what the scanner's rule checks (EC2-002 is tcp 22): a
    /// config may not lay another value over them, as the finding would then heal something the
    /// scanner never flagged. Every other parameter is the user's to tune.
    const FIXED_PARAMS: &'static [&'static str] = &[];
}

/// What a handler does with the resources of the rules (for its IAM role).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleAccess {
    None,
    Read,
    ReadWrite,
}

/// What RULES.md says of a family.
#[derive(Debug, Clone, Copy)]
pub struct FamilyDoc {
    pub changes: &'static str,
    pub never: &'static str,
    pub undo: &'static str,
    /// `local stack` when its integration tests run on moto, `request-level` when moto lacks the call.
    pub tested: &'static str,
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A family behind the type-erased boundary: state, plan and changes as tagged JSON.
/// A resource as read live: its state and its tags.
pub type Observed = (ResourceState, BTreeMap<String, String>);

pub trait DynFamily: Send + Sync {
    fn name(&self) -> &'static str;
    fn resource(&self) -> &'static str;
    fn reads(&self) -> &'static [&'static str];
    fn writes(&self) -> &'static [&'static str];
    fn conditions(&self) -> &'static [ActionCondition];
    fn settle(&self) -> Duration;
    fn doc(&self) -> FamilyDoc;
    /// [`RuleFamily::UNDO_GATED`].
    fn undo_gated(&self) -> bool;
    /// [`RuleFamily::FIXED_PARAMS`].
    fn fixed_params(&self) -> &'static [&'static str];
    fn valid_id(&self, id: &str) -> bool;
    fn placement(&self) -> Placement;
    fn resource_from(&self, sent: &str, extradata: &BTreeMap<String, String>) -> String;
    /// Whether a catalog entry's parameters are this family's.
    fn check_params(&self, params: &Value) -> Result<(), String>;
    fn read<'a>(
        &'a self,
        ctx: &'a Ctx,
        resource: &'a str,
        tags: Tags,
    ) -> BoxFuture<'a, Result<Option<Observed>, Error>>;
    fn assess(&self, state: &ResourceState, params: &Value, target: Target<'_>) -> Result<(Vec<String>, Plan), Error>;
    fn apply<'a>(
        &'a self,
        ctx: &'a Ctx,
        resource: &'a str,
        state: &'a ResourceState,
        plan: &'a Plan,
    ) -> BoxFuture<'a, Result<ResourceState, Error>>;
    fn simulate(&self, state: &ResourceState, plan: &Plan) -> Result<ResourceState, Error>;
    fn diff(&self, before: &ResourceState, after: &ResourceState) -> Result<Vec<String>, Error>;
    /// An undo's assessment: what differs from `before` and the plan that restores it, refused
    /// when `live` is not what the fix left (`after`).
    fn restore(&self, live: &ResourceState, undo: &Recorded, target: Target<'_>) -> Result<(Vec<String>, Plan), Error>;
}

/// Whether `live` is `after` with some of `partial`'s changes made: where an earlier attempt of
/// the same undo run, which journaled `partial` before its first write, may have left the
/// resource when it died. Every subset is tried (the writes' order is the family's), up to
/// [`PART_WAY_MAX`] changes; any other state is a change by someone else.
fn part_way<F: RuleFamily>(after: &F::State, live: &F::State, partial: Option<&Plan>) -> bool {
    let Some(changes) = partial.and_then(|p| p.changes_as::<F::Change>().ok()) else {
        return false;
    };
    if changes.len() > PART_WAY_MAX {
        return (0..=changes.len()).any(|k| F::diff(&F::simulate(after, &changes[..k]), live).is_empty());
    }
    (0u32..1 << changes.len()).any(|mask| {
        let made: Vec<F::Change> = changes
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, c)| c.clone())
            .collect();
        F::diff(&F::simulate(after, &made), live).is_empty()
    })
}

/// Past this many changes an interrupted undo's states are its plan's prefixes only.
const PART_WAY_MAX: usize = 12;

/// The adapter from a [`RuleFamily`] to a [`DynFamily`]; the registry holds one per family.
pub struct Erased<F>(PhantomData<F>);

impl<F> Erased<F> {
    pub const NEW: Erased<F> = Erased(PhantomData);
}

fn tagged<F: RuleFamily>(state: &F::State) -> ResourceState {
    let mut v = serde_json::to_value(state).expect("states serialize");
    if let Value::Object(m) = &mut v {
        m.insert("kind".into(), Value::String(F::NAME.into()));
    }
    ResourceState(v)
}

fn untagged<F: RuleFamily>(state: &ResourceState) -> Result<F::State, Error> {
    if state.kind() != Some(F::NAME) {
        return Err(Error::InvalidInput(format!(
            "a {} state given to the {} family",
            state.kind().unwrap_or("untagged"),
            F::NAME
        )));
    }
    serde_json::from_value(state.0.clone()).map_err(|e| Error::InvalidInput(format!("{} state: {e}", F::NAME)))
}

fn params<F: RuleFamily>(params: &Value) -> Result<F::Params, Error> {
    serde_json::from_value(params.clone()).map_err(|e| Error::ConfigInvalid(format!("{} params: {e}", F::NAME)))
}

impl<F: RuleFamily> DynFamily for Erased<F> {
    fn name(&self) -> &'static str {
        F::NAME
    }
    fn resource(&self) -> &'static str {
        F::RESOURCE
    }
    fn reads(&self) -> &'static [&'static str] {
        F::READS
    }
    fn writes(&self) -> &'static [&'static str] {
        F::WRITES
    }
    fn conditions(&self) -> &'static [ActionCondition] {
        F::CONDITIONS
    }
    fn settle(&self) -> Duration {
        F::SETTLE
    }
    fn doc(&self) -> FamilyDoc {
        F::DOC
    }
    fn undo_gated(&self) -> bool {
        F::UNDO_GATED
    }
    fn fixed_params(&self) -> &'static [&'static str] {
        F::FIXED_PARAMS
    }
    fn valid_id(&self, id: &str) -> bool {
        F::valid_id(id)
    }
    fn placement(&self) -> Placement {
        F::PLACEMENT
    }
    fn resource_from(&self, sent: &str, extradata: &BTreeMap<String, String>) -> String {
        F::resource_from(sent, extradata)
    }
    fn check_params(&self, p: &Value) -> Result<(), String> {
        params::<F>(p).map(|_| ()).map_err(|e| e.to_string())
    }
    fn read<'a>(
        &'a self,
        ctx: &'a Ctx,
        resource: &'a str,
        tags: Tags,
    ) -> BoxFuture<'a, Result<Option<Observed>, Error>> {
        Box::pin(async move {
            Ok(F::read(ctx, resource, tags)
                .await?
                .map(|r| (tagged::<F>(&r.state), r.tags)))
        })
    }
    fn assess(&self, state: &ResourceState, p: &Value, target: Target<'_>) -> Result<(Vec<String>, Plan), Error> {
        let a = F::assess(&untagged::<F>(state)?, &params::<F>(p)?, target);
        Ok((a.offending, a.plan.erase()))
    }
    fn apply<'a>(
        &'a self,
        ctx: &'a Ctx,
        resource: &'a str,
        state: &'a ResourceState,
        plan: &'a Plan,
    ) -> BoxFuture<'a, Result<ResourceState, Error>> {
        Box::pin(async move {
            let state = untagged::<F>(state)?;
            let changes: Vec<F::Change> = plan.changes_as()?;
            Ok(tagged::<F>(&F::apply_recorded(ctx, resource, &state, &changes).await?))
        })
    }
    fn simulate(&self, state: &ResourceState, plan: &Plan) -> Result<ResourceState, Error> {
        let changes: Vec<F::Change> = plan.changes_as()?;
        Ok(tagged::<F>(&F::simulate(&untagged::<F>(state)?, &changes)))
    }
    fn diff(&self, before: &ResourceState, after: &ResourceState) -> Result<Vec<String>, Error> {
        Ok(F::diff(&untagged::<F>(before)?, &untagged::<F>(after)?))
    }
    fn restore(&self, live: &ResourceState, undo: &Recorded, t: Target<'_>) -> Result<(Vec<String>, Plan), Error> {
        let live = untagged::<F>(live)?;
        let before = untagged::<F>(&undo.before)?;
        let after = untagged::<F>(&undo.after)?;
        let run = crate::state::execution_name(&undo.execution);
        let to_restore = F::diff(&live, &before);
        if to_restore.is_empty() {
            let summary = format!("{} is as it was before {run}: nothing to restore", t.resource);
            return Ok((Vec::new(), t.plan(summary, Vec::<F::Change>::new()).erase()));
        }
        // A refusal by name first: a change since the fix that makes the undo impossible (an
        // organization whose handshake completed) is said as such, not as a mere difference.
        if let Some(why) = F::cannot_undo(&live, &before) {
            return Err(Error::CannotUndo(format!(
                "{} cannot be put back as it was before {run}: {why}",
                t.resource
            )));
        }
        let changed = F::diff(&after, &live);
        if !changed.is_empty() && !part_way::<F>(&after, &live, undo.partial.as_ref()) {
            return Err(Error::ResourceChanged(format!(
                "since {run}, {}: {}",
                t.resource,
                changed.join("; ")
            )));
        }
        let changes = F::revert_recorded(&live, &before, &after).map_err(|why| {
            Error::CannotUndo(format!(
                "{} cannot be put back as it was before {run}: {why}",
                t.resource
            ))
        })?;
        let summary = format!("restore {} as it was before {run}", t.resource);
        // `removes` stays empty: an undo gives access back; the approver sees its steps.
        let plan = t.plan(summary, changes).erase();
        Ok((to_restore.into_iter().map(|d| format!("undo: {d}")).collect(), plan))
    }
}
