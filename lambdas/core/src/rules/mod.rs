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

/// Reads the resource and derives the plan; `None` when the resource no longer exists.
pub async fn inspect(
    clients: &RuleClients,
    spec: &RuleSpec,
    finding: &Finding,
    tags: Tags,
) -> Result<Option<Inspection>, Error> {
    match &spec.family {
        Family::S3Acl(params) => {
            let Some(acl) = s3_acl::read_acl(&clients.s3, &finding.resource).await? else {
                return Ok(None);
            };
            let tags = match tags {
                Tags::Read => s3_acl::read_tags(&clients.s3, &finding.resource).await?,
                Tags::Skip => BTreeMap::new(),
            };
            let offending = s3_acl::offending(&acl, params)
                .iter()
                .map(|g| format!("grant {}", g.describe()))
                .collect();
            let plan = s3_acl::plan(&acl, params, &spec.id, &finding.resource, &finding.region);
            Ok(Some(Inspection {
                state: ResourceState::BucketAcl(acl),
                tags,
                offending,
                plan,
            }))
        }
        Family::Ec2WorldPort(params) => {
            let Some((group, live_tags)) = ec2_ports::read_group(&clients.ec2, &finding.resource).await? else {
                return Ok(None);
            };
            let offending = ec2_ports::offending(&group, params)
                .iter()
                .map(|r| format!("ingress {}", r.describe()))
                .collect();
            let plan = ec2_ports::plan(&group, params, &spec.id, &finding.region);
            Ok(Some(Inspection {
                state: ResourceState::SecurityGroup(group),
                tags: if tags == Tags::Read { live_tags } else { BTreeMap::new() },
                offending,
                plan,
            }))
        }
    }
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
        _ => Err(Error::InvalidInput(format!(
            "rule {} does not apply to this resource state",
            spec.id
        ))),
    }
}
