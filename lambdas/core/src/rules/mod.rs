//! The code behind each rule family, selected by the catalog's `family` through the registry
//! below. A family is one module implementing [`family::RuleFamily`]; adding one is that module,
//! one line in [`FAMILIES`], catalog entries and its tests, and no edit in another family.
//!
//! Every family offers the same steps, all re-reading live state: [`inspect`] (read the
//! resource, list what fails the rule, derive the minimal plan), [`apply`] (perform a plan derived
//! from a fresh inspection) and, through [`inspect`] again, verification. Handlers never branch on
//! a rule id or a family.

pub mod ebs_public_snapshot;
pub mod ec2_ports;
pub mod ec2_public_ami;
pub mod family;
pub mod ids;
pub mod rds_instance;
pub mod rds_public_snapshot;
pub mod redshift_cluster;
pub mod redshift_user_activity_logging;
pub mod s3_acl;
pub mod s3_bucket;
pub mod s3_encryption;
pub mod s3_versioning;
pub mod shares;

use std::collections::BTreeMap;

use family::{DynFamily, Erased};
pub use family::{ResourceState, Tags, Target};

use crate::aws::Ctx;
use crate::catalog::RuleSpec;
use crate::error::Error;
use crate::finding::Finding;
use crate::plan::Plan;

/// Every rule family, by the name the catalog uses.
pub static FAMILIES: &[&dyn DynFamily] = &[
    &Erased::<s3_acl::S3Acl>::NEW,
    &Erased::<ec2_ports::Ec2WorldPort>::NEW,
    &Erased::<s3_versioning::S3Versioning>::NEW,
    &Erased::<s3_encryption::S3DefaultEncryption>::NEW,
    &Erased::<ec2_public_ami::Ec2PublicAmi>::NEW,
    &Erased::<ebs_public_snapshot::EbsPublicSnapshot>::NEW,
    &Erased::<rds_instance::RdsInstance>::NEW,
    &Erased::<rds_public_snapshot::RdsPublicSnapshot>::NEW,
    &Erased::<redshift_cluster::RedshiftCluster>::NEW,
    &Erased::<redshift_user_activity_logging::RedshiftUserActivityLogging>::NEW,
];

/// The family named `name`.
pub fn family(name: &str) -> Option<&'static dyn DynFamily> {
    FAMILIES.iter().copied().find(|f| f.name() == name)
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

fn target(finding: &Finding) -> Target<'_> {
    Target {
        rule_id: &finding.rule_id,
        resource: &finding.resource,
        region: &finding.region,
    }
}

/// What fails the rule in `state` and the minimal plan that fixes it. No I/O: it also runs on a
/// simulated state (the combined plan of several findings on one resource).
pub fn assess(spec: &RuleSpec, finding: &Finding, state: &ResourceState) -> Result<(Vec<String>, Plan), Error> {
    spec.family_impl().assess(state, &spec.params, target(finding))
}

/// The state as it would be after `plan`, computed, not applied.
pub fn simulate(spec: &RuleSpec, state: &ResourceState, plan: &Plan) -> Result<ResourceState, Error> {
    spec.family_impl().simulate(state, plan)
}

/// What changed between two states of one resource, one line each (empty: nothing changed).
pub fn diff(before: &ResourceState, after: &ResourceState) -> Vec<String> {
    match before.kind().and_then(family) {
        Some(f) => f
            .diff(before, after)
            .unwrap_or_else(|_| vec!["the resource is no longer of the same kind".into()]),
        None => vec!["a state of no known family".into()],
    }
}

/// How long Verify keeps re-reading before it calls a fix failed: the family's settle time.
pub fn settle_time(spec: &RuleSpec) -> std::time::Duration {
    spec.family_impl().settle()
}

/// Reads the resource and derives the plan; `None` when the resource no longer exists.
pub async fn inspect(ctx: &Ctx, spec: &RuleSpec, finding: &Finding, tags: Tags) -> Result<Option<Inspection>, Error> {
    let Some((state, live_tags)) = spec.family_impl().read(ctx, &finding.resource, tags).await? else {
        return Ok(None);
    };
    let (offending, plan) = assess(spec, finding, &state)?;
    Ok(Some(Inspection {
        state,
        tags: live_tags,
        offending,
        plan,
    }))
}

/// Applies the plan of a fresh inspection.
pub async fn apply(ctx: &Ctx, spec: &RuleSpec, finding: &Finding, inspection: &Inspection) -> Result<(), Error> {
    spec.family_impl()
        .apply(ctx, &finding.resource, &inspection.state, &inspection.plan)
        .await
}
