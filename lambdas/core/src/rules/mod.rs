//! The code behind each rule family, selected by the catalog's `family`.
//!
//! Every family offers the same three steps, all re-reading live state:
//! [`inspect`] (read the resource, list what fails the rule, derive the minimal plan),
//! [`apply`] (perform a plan derived from a fresh inspection) and, through [`inspect`] again,
//! verification. Handlers never branch on a rule id.

pub mod ec2_ports;
pub mod s3_acl;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::catalog::{Family, RuleSpec};
use crate::error::Error;
use crate::finding::Finding;
use crate::plan::Plan;

/// The SDK clients a rule uses, bound to the finding's region.
#[derive(Clone, Debug)]
pub struct RuleClients {
    pub s3: aws_sdk_s3::Client,
    pub ec2: aws_sdk_ec2::Client,
}

/// The rule-relevant state of a resource: what `before` and `after` record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ResourceState {
    BucketAcl(s3_acl::BucketAcl),
    SecurityGroup(ec2_ports::GroupState),
}

/// A fresh look at a resource.
#[derive(Debug, Clone)]
pub struct Inspection {
    pub state: ResourceState,
    pub tags: BTreeMap<String, String>,
    /// What fails the rule now, one line each (empty: compliant).
    pub offending: Vec<String>,
    pub plan: Plan,
}

impl Inspection {
    pub fn compliant(&self) -> bool {
        self.offending.is_empty()
    }
}

/// Whether to read the resource's tags too (needed to honour exclusion tags, not to verify).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tags {
    Read,
    Skip,
}

/// What fails the rule in `state` and the minimal plan that fixes it. No I/O: it also runs on a
/// simulated state (the combined plan of several findings on one resource).
pub fn assess(spec: &RuleSpec, finding: &Finding, state: &ResourceState) -> Result<(Vec<String>, Plan), Error> {
    match (&spec.family, state) {
        (Family::S3Acl(params), ResourceState::BucketAcl(acl)) => Ok((
            s3_acl::offending(acl, params)
                .iter()
                .map(|g| format!("grant {}", g.describe()))
                .collect(),
            s3_acl::plan(acl, params, &spec.id, &finding.resource, &finding.region),
        )),
        (Family::Ec2WorldPort(params), ResourceState::SecurityGroup(group)) => Ok((
            ec2_ports::offending(group, params)
                .iter()
                .map(|r| format!("ingress {}", r.describe()))
                .collect(),
            ec2_ports::plan(group, params, &spec.id, &finding.region),
        )),
        _ => Err(mismatch(spec)),
    }
}

fn mismatch(spec: &RuleSpec) -> Error {
    Error::InvalidInput(format!("rule {} does not apply to this resource state", spec.id))
}

/// The state as it would be after `plan`, computed, not applied.
pub fn simulate(state: &ResourceState, plan: &Plan) -> ResourceState {
    match state {
        ResourceState::BucketAcl(acl) => ResourceState::BucketAcl(s3_acl::without(acl, plan)),
        ResourceState::SecurityGroup(g) => ResourceState::SecurityGroup(ec2_ports::simulate(g, plan)),
    }
}

/// What changed between two states of one resource, one line each (empty: nothing changed).
pub fn diff(before: &ResourceState, after: &ResourceState) -> Vec<String> {
    match (before, after) {
        (ResourceState::BucketAcl(b), ResourceState::BucketAcl(a)) => s3_acl::diff(b, a),
        (ResourceState::SecurityGroup(b), ResourceState::SecurityGroup(a)) => ec2_ports::diff(b, a),
        _ => vec!["the resource is no longer of the same kind".into()],
    }
}

/// How long Verify keeps re-reading before it calls a fix failed: the time the family's change
/// takes to show in reads (ACLs and security groups are read-after-write consistent in practice).
pub fn settle_time(spec: &RuleSpec) -> std::time::Duration {
    match spec.family {
        Family::S3Acl(_) | Family::Ec2WorldPort(_) => std::time::Duration::from_secs(6),
    }
}

/// Reads the resource and derives the plan; `None` when the resource no longer exists.
pub async fn inspect(
    clients: &RuleClients,
    spec: &RuleSpec,
    finding: &Finding,
    tags: Tags,
) -> Result<Option<Inspection>, Error> {
    let (state, live_tags) = match &spec.family {
        Family::S3Acl(_) => {
            let Some(acl) = s3_acl::read_acl(&clients.s3, &finding.resource).await? else {
                return Ok(None);
            };
            let tags = match tags {
                Tags::Read => s3_acl::read_tags(&clients.s3, &finding.resource).await?,
                Tags::Skip => BTreeMap::new(),
            };
            (ResourceState::BucketAcl(acl), tags)
        }
        Family::Ec2WorldPort(_) => {
            let Some((group, live_tags)) = ec2_ports::read_group(&clients.ec2, &finding.resource).await? else {
                return Ok(None);
            };
            (ResourceState::SecurityGroup(group), live_tags)
        }
    };
    let (offending, plan) = assess(spec, finding, &state)?;
    Ok(Some(Inspection {
        state,
        tags: if tags == Tags::Read { live_tags } else { BTreeMap::new() },
        offending,
        plan,
    }))
}

/// Applies the plan of a fresh inspection; returns one line per change made.
pub async fn apply(
    clients: &RuleClients,
    spec: &RuleSpec,
    finding: &Finding,
    inspection: &Inspection,
) -> Result<Vec<String>, Error> {
    match (&spec.family, &inspection.state) {
        (Family::S3Acl(_), ResourceState::BucketAcl(acl)) => {
            s3_acl::write_acl(&clients.s3, &finding.resource, &s3_acl::without(acl, &inspection.plan)).await?;
            Ok(inspection.plan.steps.clone())
        }
        (Family::Ec2WorldPort(_), ResourceState::SecurityGroup(_)) => {
            ec2_ports::apply(&clients.ec2, &finding.resource, &inspection.plan).await
        }
        _ => Err(mismatch(spec)),
    }
}
