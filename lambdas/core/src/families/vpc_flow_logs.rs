//! VPC-001: a VPC has no active flow log.
//!
//! What a fix changes, never touches and how it is undone: [`VpcFlowLogs::DOC`] (RULES.md is
//! generated from it). The undo deletes only the flow log id the fix recorded as its after-state.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{Filter, FlowLogsResourceType, LogDestinationType, TrafficType};
use serde::{Deserialize, Deserializer, Serialize};

use crate::aws::Ctx;
use crate::error::Error;
use crate::families::helpers::family::{ActionCondition, Assessment, FamilyDoc, Read, RuleFamily, Tags, Target};
use crate::families::helpers::kit;
use crate::ids;
use crate::plan::Describe;

/// The family: `vpc-flow-logs` in the catalog.
pub struct VpcFlowLogs;

const DESCRIBE_VPCS: &str = "ec2:DescribeVpcs";
const DESCRIBE_FLOW_LOGS: &str = "ec2:DescribeFlowLogs";
const CREATE_FLOW_LOGS: &str = "ec2:CreateFlowLogs";
/// An undo only: the flow log the fix created, deleted.
const DELETE_FLOW_LOGS: &str = "ec2:DeleteFlowLogs";
/// The id a flow log the plan creates has in the simulated state (its real id is AWS's).
const NEW: &str = "(new)";
/// `CreateFlowLogs` hands the delivery role to the flow-logs service: AWS checks `iam:PassRole`
/// on it for the caller (no SDK call of its own).
const PASS_ROLE: &str = "iam:PassRole";

/// Where the setting lives in the user's config (the family heals VPC-001 only).
const ROLE_SETTING: &str = "rules.VPC-001.params.role_arn";

fn default_log_group() -> String {
    "/auto-remediate/vpc-flow-logs".into()
}

/// Where flow logs go, and who delivers them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The CloudWatch Logs group (created by the delivery on first write when absent).
    #[serde(default = "default_log_group", deserialize_with = "log_group_name")]
    pub log_group: String,
    /// The IAM role the flow-logs service assumes to write to the group (required).
    #[serde(default, deserialize_with = "role_arn")]
    pub role_arn: Option<String>,
}

fn log_group_name<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    if is_log_group_name(&s) {
        Ok(s)
    } else {
        Err(serde::de::Error::custom(format!(
            "{s:?} is not a CloudWatch Logs group name"
        )))
    }
}

fn role_arn<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s = Option::<String>::deserialize(d)?;
    match s {
        Some(s) if !is_role_arn(&s) => Err(serde::de::Error::custom(format!(
            "{s:?} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)"
        ))),
        other => Ok(other),
    }
}

/// A CloudWatch Logs group name: 1-512 of `[A-Za-z0-9._/#-]`.
pub fn is_log_group_name(s: &str) -> bool {
    (1..=512).contains(&s.len())
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'/' | b'#' | b'-'))
}

/// `arn:<partition>:iam::<12 digits>:role/<path/>name`.
pub fn is_role_arn(s: &str) -> bool {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    let [arn, partition, service, region, account, resource] = parts[..] else {
        return false;
    };
    arn == "arn"
        && matches!(partition, "aws" | "aws-cn" | "aws-us-gov")
        && service == "iam"
        && region.is_empty()
        && account.len() == 12
        && account.bytes().all(|c| c.is_ascii_digit())
        && resource.strip_prefix("role/").is_some_and(|name| {
            !name.is_empty()
                && name.len() <= 512
                && !name.contains("//")
                && name
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"+=,.@_-/".contains(&c))
        })
}

/// A VPC id (`vpc-` and 8 or 17 hex digits).
pub fn is_vpc_id(id: &str) -> bool {
    ids::is_ec2_id(id, "vpc")
}

/// The VPC's flow logs as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowLogs {
    pub flow_logs: Vec<FlowLog>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowLog {
    pub id: String,
    /// `ACTIVE` (AWS's only status once created).
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic_type: Option<String>,
    /// `cloud-watch-logs`, `s3` or `kinesis-data-firehose`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_type: Option<String>,
    /// The log group name or the destination ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    /// The delivery's health (`SUCCESS`, `FAILED`), informative.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deliver_status: Option<String>,
}

impl FlowLog {
    fn describe(&self) -> String {
        format!(
            "flow log {} ({}, {} to {} {})",
            self.id,
            self.status,
            self.traffic_type.as_deref().unwrap_or("?"),
            self.destination_type.as_deref().unwrap_or("?"),
            self.destination.as_deref().unwrap_or("?")
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action")]
pub enum Change {
    /// One flow log of all traffic to a CloudWatch Logs group.
    #[serde(rename = "ec2:CreateFlowLogs")]
    CreateFlowLogs {
        log_group: String,
        /// `None`: not configured, the change fails with `ConfigInvalid` before any call.
        role_arn: Option<String>,
    },
    /// An undo's: `DeleteFlowLogs` of the flow log the fix created.
    #[serde(rename = "ec2:DeleteFlowLogs")]
    DeleteFlowLog { flow_log_id: String },
}

impl Describe for Change {
    fn describe(&self) -> String {
        match self {
            Change::CreateFlowLogs { log_group, role_arn } => format!(
                "create a flow log of ALL traffic to CloudWatch Logs group {log_group}, delivered by role {}",
                role_arn
                    .as_deref()
                    .unwrap_or("(none: rules.VPC-001.params.role_arn is not set)")
            ),
            Change::DeleteFlowLog { flow_log_id } => {
                format!("delete flow log {flow_log_id}, the one the fix created")
            }
        }
    }
}

fn active(s: &FlowLogs) -> bool {
    s.flow_logs.iter().any(|f| f.status == "ACTIVE")
}

impl RuleFamily for VpcFlowLogs {
    const NAME: &'static str = "vpc-flow-logs";
    const DOC: FamilyDoc = FamilyDoc {
        changes: "CreateFlowLogs for the VPC: traffic ALL to the CloudWatch Logs group params.log_group, delivered by \
                  params.role_arn (required; unset: ConfigInvalid, nothing changed)",
        never: "existing flow logs, the VPC, its subnets and interfaces, the delivery role and the log group",
        undo: "DeleteFlowLogs of exactly the flow log id CreateFlowLogs returned to the fix (recorded as its after-state; refused by name when the record has none, and as a change when another flow log appeared); no other flow log",
        tested: "local stack",
    };
    const RESOURCE: &'static str = "VPC id";
    const READS: &'static [&'static str] = &[DESCRIBE_VPCS, DESCRIBE_FLOW_LOGS];
    const WRITES: &'static [&'static str] = &[CREATE_FLOW_LOGS, PASS_ROLE, DELETE_FLOW_LOGS];
    /// The delivery role may be handed to the flow-logs service only.
    const CONDITIONS: &'static [ActionCondition] = &[ActionCondition::string_equals(
        PASS_ROLE,
        "iam:PassedToService",
        &["vpc-flow-logs.amazonaws.com"],
    )];
    type Params = Params;
    type State = FlowLogs;
    type Change = Change;

    fn valid_id(id: &str) -> bool {
        is_vpc_id(id)
    }

    async fn read(ctx: &Ctx, vpc: &str, tags: Tags) -> Result<Option<Read<FlowLogs>>, Error> {
        let ec2 = ctx.ec2();
        let vpcs = match ec2.describe_vpcs().vpc_ids(vpc).send().await {
            Ok(out) => out,
            Err(e) => {
                let err = Error::from_sdk(DESCRIBE_VPCS, e);
                return if err.aws_code() == Some("InvalidVpcID.NotFound") {
                    Ok(None)
                } else {
                    Err(err)
                };
            }
        };
        let Some(found) = vpcs.vpcs().iter().find(|v| v.vpc_id() == Some(vpc)) else {
            return Ok(None);
        };
        let live_tags = if tags == Tags::Read {
            kit::ec2_tags(found.tags())
        } else {
            BTreeMap::new()
        };
        let mut flow_logs = Vec::new();
        let mut pages = ec2
            .describe_flow_logs()
            .filter(Filter::builder().name("resource-id").values(vpc).build())
            .into_paginator()
            .send();
        while let Some(out) = pages.next().await {
            let out = out.map_err(|e| Error::from_sdk(DESCRIBE_FLOW_LOGS, e))?;
            flow_logs.extend(
                out.flow_logs()
                    .iter()
                    .filter(|f| f.resource_id() == Some(vpc))
                    .map(|f| FlowLog {
                        id: f.flow_log_id().unwrap_or_default().to_string(),
                        status: f.flow_log_status().unwrap_or_default().to_string(),
                        traffic_type: f.traffic_type().map(|t| t.as_str().to_string()),
                        destination_type: f.log_destination_type().map(|t| t.as_str().to_string()),
                        destination: f.log_group_name().or(f.log_destination()).map(str::to_string),
                        deliver_status: f.deliver_logs_status().map(str::to_string),
                    }),
            );
        }
        Ok(Some(Read {
            state: FlowLogs { flow_logs },
            tags: live_tags,
        }))
    }

    fn assess(s: &FlowLogs, p: &Params, t: Target<'_>) -> Assessment<Change> {
        let on = active(s);
        let changes = if on {
            Vec::new()
        } else {
            vec![Change::CreateFlowLogs {
                log_group: p.log_group.clone(),
                role_arn: p.role_arn.clone(),
            }]
        };
        let summary = match (&p.role_arn, on) {
            (_, true) => format!("VPC {} has an active flow log: nothing to change", t.resource),
            (Some(role), false) => format!(
                "log all traffic of VPC {} to CloudWatch Logs group {} (delivered by role {role})",
                t.resource, p.log_group
            ),
            (None, false) => format!(
                "VPC {} has no active flow log, but {ROLE_SETTING} is not set: the fix will fail and change \
                 nothing until a delivery role is configured",
                t.resource
            ),
        };
        let mut plan = t.plan(summary, changes);
        plan.untouched = s.flow_logs.iter().map(FlowLog::describe).collect();
        plan.untouched
            .push("the VPC, its subnets and network interfaces, the delivery role and the log group".into());
        let offending = if on {
            Vec::new()
        } else if s.flow_logs.is_empty() {
            vec!["no flow log".into()]
        } else {
            s.flow_logs
                .iter()
                .map(|f| format!("{} is not active", f.describe()))
                .collect()
        };
        Assessment { offending, plan }
    }

    async fn apply(ctx: &Ctx, vpc: &str, s: &FlowLogs, changes: &[Change]) -> Result<(), Error> {
        Self::apply_recorded(ctx, vpc, s, changes).await.map(|_| ())
    }

    /// The flow log `CreateFlowLogs` returned takes the place of the plan's [`NEW`].
    async fn apply_recorded(ctx: &Ctx, vpc: &str, s: &FlowLogs, changes: &[Change]) -> Result<FlowLogs, Error> {
        let mut created = None;
        for change in changes {
            let (log_group, role_arn) = match change {
                Change::CreateFlowLogs { log_group, role_arn } => (log_group, role_arn),
                Change::DeleteFlowLog { flow_log_id } => {
                    delete(&ctx.ec2(), flow_log_id).await?;
                    continue;
                }
            };
            let Some(role_arn) = role_arn else {
                return Err(Error::ConfigInvalid(format!(
                    "{ROLE_SETTING} is not set: flow logs of {vpc} need the IAM role that delivers them to \
                     CloudWatch Logs; nothing was changed"
                )));
            };
            created = create(&ctx.ec2(), vpc, log_group, role_arn).await?;
        }
        let mut after = Self::simulate(s, changes);
        if let Some(id) = created {
            for f in after.flow_logs.iter_mut().filter(|f| f.id == NEW) {
                f.id = id.clone();
            }
        }
        Ok(after)
    }

    fn simulate(s: &FlowLogs, changes: &[Change]) -> FlowLogs {
        let mut out = s.clone();
        for change in changes {
            let log_group = match change {
                Change::CreateFlowLogs { log_group, .. } => log_group,
                Change::DeleteFlowLog { flow_log_id } => {
                    out.flow_logs.retain(|f| &f.id != flow_log_id);
                    continue;
                }
            };
            out.flow_logs.push(FlowLog {
                id: NEW.into(),
                status: "ACTIVE".into(),
                traffic_type: Some("ALL".into()),
                destination_type: Some("cloud-watch-logs".into()),
                destination: Some(log_group.clone()),
                deliver_status: None,
            });
        }
        out
    }

    fn diff(before: &FlowLogs, after: &FlowLogs) -> Vec<String> {
        let (before, after) = (&named_new(before, after), &named_new(after, before));
        let mut out = Vec::new();
        for f in &after.flow_logs {
            match before.flow_logs.iter().find(|b| b.id == f.id) {
                None => out.push(format!("added {}", f.describe())),
                Some(b) if b.status != f.status => {
                    out.push(format!("flow log {} status {} → {}", f.id, b.status, f.status))
                }
                Some(_) => {}
            }
        }
        for b in &before.flow_logs {
            if !after.flow_logs.iter().any(|f| f.id == b.id) {
                out.push(format!("removed {}", b.describe()));
            }
        }
        out
    }

    /// Nothing without the record's after-state: a flow log the fix created is named only by
    /// the id `CreateFlowLogs` returned ([`RuleFamily::revert_recorded`]), never guessed.
    fn revert(_live: &FlowLogs, _before: &FlowLogs) -> Option<Vec<Change>> {
        Some(Vec::new())
    }

    /// Exactly the flow logs the fix's `after` has and `before` had not (the id `CreateFlowLogs`
    /// returned), while live; a record naming only the plan's placeholder is refused.
    fn revert_recorded(live: &FlowLogs, before: &FlowLogs, after: &FlowLogs) -> Result<Vec<Change>, String> {
        let created: Vec<&FlowLog> = after
            .flow_logs
            .iter()
            .filter(|f| !before.flow_logs.iter().any(|b| b.id == f.id))
            .collect();
        if created.iter().any(|f| f.id == NEW) {
            return Err(
                "the fix's record names no id for the flow log it created (recorded before created ids were kept, \
                 or an identical flow log already existed): nothing is deleted; delete it by hand if it is the fix's"
                    .into(),
            );
        }
        Ok(created
            .into_iter()
            .filter(|f| live.flow_logs.iter().any(|l| l.id == f.id))
            .map(|f| Change::DeleteFlowLog {
                flow_log_id: f.id.clone(),
            })
            .collect())
    }
}

/// `s` with the flow log a plan creates ([`NEW`]) named as the one flow log of `other` that `s`
/// does not know and that matches it (traffic, destination), if there is exactly one: the
/// simulated state after the fix, against a read.
fn named_new(s: &FlowLogs, other: &FlowLogs) -> FlowLogs {
    let mut out = s.clone();
    for n in out.flow_logs.iter_mut().filter(|f| f.id == NEW) {
        let unknown: Vec<&FlowLog> = other
            .flow_logs
            .iter()
            .filter(|o| !s.flow_logs.iter().any(|f| f.id == o.id))
            .filter(|o| {
                o.traffic_type == n.traffic_type
                    && o.destination_type == n.destination_type
                    && o.destination == n.destination
            })
            .collect();
        if let [real] = unknown.as_slice() {
            n.id = real.id.clone();
        }
    }
    out
}

/// `DeleteFlowLogs` of one flow log (an undo); one already gone (a retry) counts as done.
pub async fn delete(ec2: &aws_sdk_ec2::Client, flow_log_id: &str) -> Result<(), Error> {
    let out = match ec2.delete_flow_logs().flow_log_ids(flow_log_id).send().await {
        Ok(out) => out,
        Err(e) => {
            let err = Error::from_sdk(DELETE_FLOW_LOGS, e);
            return if err.aws_code() == Some("InvalidFlowLogId.NotFound") {
                Ok(())
            } else {
                Err(err)
            };
        }
    };
    for item in out.unsuccessful() {
        let code = item.error().and_then(|e| e.code()).unwrap_or("Unknown");
        if code == "InvalidFlowLogId.NotFound" {
            continue;
        }
        return Err(Error::Aws {
            operation: DELETE_FLOW_LOGS,
            code: code.to_string(),
            message: item.error().and_then(|e| e.message()).unwrap_or_default().to_string(),
        });
    }
    Ok(())
}

/// `CreateFlowLogs` for one VPC, all traffic, to a CloudWatch Logs group by name (moto does not
/// take a log group ARN as `LogDestination`); the id of the flow log it created. A flow log to the
/// same group that already exists counts as done (`None`: nothing created).
pub async fn create(
    ec2: &aws_sdk_ec2::Client,
    vpc: &str,
    log_group: &str,
    role_arn: &str,
) -> Result<Option<String>, Error> {
    let out = match ec2
        .create_flow_logs()
        .resource_type(FlowLogsResourceType::Vpc)
        .resource_ids(vpc)
        .traffic_type(TrafficType::All)
        .log_destination_type(LogDestinationType::CloudWatchLogs)
        .log_group_name(log_group)
        .deliver_logs_permission_arn(role_arn)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) => {
            let err = Error::from_sdk(CREATE_FLOW_LOGS, e);
            return if err.aws_code() == Some("FlowLogAlreadyExists") {
                Ok(None)
            } else {
                Err(err)
            };
        }
    };
    // Per-resource failures come back in `Unsuccessful`, not as an error.
    for item in out.unsuccessful() {
        let code = item.error().and_then(|e| e.code()).unwrap_or("Unknown");
        if code == "FlowLogAlreadyExists" {
            continue;
        }
        return Err(Error::Aws {
            operation: CREATE_FLOW_LOGS,
            code: code.to_string(),
            message: item.error().and_then(|e| e.message()).unwrap_or_default().to_string(),
        });
    }
    Ok(out.flow_log_ids().first().cloned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::families::helpers::mock_ctx;
    use aws_sdk_ec2::operation::create_flow_logs::CreateFlowLogsOutput;
    use aws_sdk_ec2::operation::describe_vpcs::DescribeVpcsError;
    use aws_sdk_ec2::types::{UnsuccessfulItem, UnsuccessfulItemError};
    use aws_smithy_mocks::mock;

    const VPC: &str = "vpc-0123456789abcdef0";
    const ROLE: &str = "arn:aws:iam::111122223333:role/flow-logs-delivery";

    fn target() -> Target<'static> {
        Target {
            rule_id: "VPC-001",
            resource: VPC,
            region: "us-east-1",
        }
    }

    fn params(role: Option<&str>) -> Params {
        Params {
            log_group: default_log_group(),
            role_arn: role.map(str::to_string),
        }
    }

    fn flow_log(id: &str, status: &str) -> FlowLog {
        FlowLog {
            id: id.into(),
            status: status.into(),
            traffic_type: Some("REJECT".into()),
            destination_type: Some("s3".into()),
            destination: Some("arn:aws:s3:::team-logs".into()),
            deliver_status: Some("SUCCESS".into()),
        }
    }

    #[test]
    fn a_vpc_without_flow_logs_gets_one_to_the_configured_group_and_role() {
        let a = VpcFlowLogs::assess(&FlowLogs { flow_logs: vec![] }, &params(Some(ROLE)), target());
        assert_eq!(a.offending, vec!["no flow log"]);
        assert_eq!(
            a.plan.changes,
            vec![Change::CreateFlowLogs {
                log_group: "/auto-remediate/vpc-flow-logs".into(),
                role_arn: Some(ROLE.into()),
            }]
        );
        assert!(a.plan.removes.is_empty(), "turning logging on removes no access");
        assert!(a.plan.summary.contains(ROLE));
        let after = VpcFlowLogs::simulate(&FlowLogs { flow_logs: vec![] }, &a.plan.changes);
        assert!(VpcFlowLogs::assess(&after, &params(Some(ROLE)), target())
            .plan
            .is_empty());
    }

    #[test]
    fn an_active_flow_log_of_any_kind_is_compliant_and_existing_ones_stay() {
        let s = FlowLogs {
            flow_logs: vec![flow_log("fl-1", "ACTIVE")],
        };
        let a = VpcFlowLogs::assess(&s, &params(None), target());
        assert!(a.offending.is_empty() && a.plan.is_empty());
        assert!(a.plan.untouched[0].starts_with("flow log fl-1 (ACTIVE, REJECT to s3"));
    }

    #[test]
    fn an_inactive_flow_log_is_kept_and_a_new_one_is_added() {
        let s = FlowLogs {
            flow_logs: vec![flow_log("fl-1", "INACTIVE")],
        };
        let a = VpcFlowLogs::assess(&s, &params(Some(ROLE)), target());
        assert_eq!(a.plan.changes.len(), 1);
        assert!(a.plan.untouched.iter().any(|u| u.contains("fl-1")));
        let after = VpcFlowLogs::simulate(&s, &a.plan.changes);
        assert_eq!(
            after.flow_logs[0], s.flow_logs[0],
            "the existing flow log is kept as it is"
        );
        assert_eq!(
            VpcFlowLogs::diff(&s, &after),
            vec!["added flow log (new) (ACTIVE, ALL to cloud-watch-logs /auto-remediate/vpc-flow-logs)"]
        );
    }

    #[test]
    fn params_take_a_role_arn_and_a_group_and_refuse_anything_else() {
        let p: Params = serde_json::from_value(serde_json::json!({})).unwrap();
        assert_eq!(
            (p.log_group.as_str(), p.role_arn),
            ("/auto-remediate/vpc-flow-logs", None)
        );
        let p: Params =
            serde_json::from_value(serde_json::json!({"role_arn": ROLE, "log_group": "team/flow"})).unwrap();
        assert_eq!(p.role_arn.as_deref(), Some(ROLE));
        for bad in [
            serde_json::json!({"role_arn": "flow-logs-delivery"}),
            serde_json::json!({"role_arn": "arn:aws:iam::111122223333:user/bob"}),
            serde_json::json!({"log_group": "has space"}),
            serde_json::json!({"bucket": "x"}),
        ] {
            assert!(serde_json::from_value::<Params>(bad.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn vpc_ids_only() {
        assert!(VpcFlowLogs::valid_id(VPC) && VpcFlowLogs::valid_id("vpc-0123abcd"));
        for bad in ["vpc-123", "sg-0123abcd", "vpc-0123abcd/..", "VPC-0123ABCD", ""] {
            assert!(!VpcFlowLogs::valid_id(bad), "{bad}");
        }
    }

    #[tokio::test]
    async fn without_a_role_nothing_is_sent_and_the_error_names_the_setting() {
        let a = VpcFlowLogs::assess(&FlowLogs { flow_logs: vec![] }, &params(None), target());
        assert!(a.plan.summary.contains("rules.VPC-001.params.role_arn is not set"));
        let ctx = mock_ctx::ctx(VpcFlowLogs::READS, VpcFlowLogs::WRITES, &[]);
        let err = VpcFlowLogs::apply(&ctx, VPC, &FlowLogs { flow_logs: vec![] }, &a.plan.changes)
            .await
            .unwrap_err();
        assert_eq!(err.name(), "ConfigInvalid");
        assert!(err.to_string().contains("rules.VPC-001.params.role_arn is not set"));
    }

    fn logging(id: &str, traffic: &str, group: &str) -> FlowLog {
        FlowLog {
            id: id.into(),
            status: "ACTIVE".into(),
            traffic_type: Some(traffic.into()),
            destination_type: Some("cloud-watch-logs".into()),
            destination: Some(group.into()),
            deliver_status: None,
        }
    }

    #[test]
    fn the_undo_deletes_only_the_flow_log_the_fix_created() {
        // A flow log that is not active existed before and stays.
        let mut old = logging("fl-old", "REJECT", "/other");
        old.status = "FAILED".into();
        let before = FlowLogs { flow_logs: vec![old] };
        let fix = VpcFlowLogs::assess(&before, &params(Some(ROLE)), target()).plan.changes;
        let simulated = VpcFlowLogs::simulate(&before, &fix);
        let mut live = before.clone();
        live.flow_logs
            .push(logging("fl-new", "ALL", "/auto-remediate/vpc-flow-logs"));
        assert!(
            VpcFlowLogs::diff(&simulated, &live).is_empty(),
            "the created flow log is the plan's new one"
        );
        // The record's after names the id CreateFlowLogs returned: exactly that one goes.
        let undo = VpcFlowLogs::revert_recorded(&live, &before, &live).unwrap();
        assert_eq!(
            undo,
            vec![Change::DeleteFlowLog {
                flow_log_id: "fl-new".into()
            }]
        );
        assert_eq!(VpcFlowLogs::simulate(&live, &undo), before);
        assert!(VpcFlowLogs::revert_recorded(&before, &before, &live)
            .unwrap()
            .is_empty());
        // A record naming only the placeholder: refused by name, nothing guessed from live.
        let err = VpcFlowLogs::revert_recorded(&live, &before, &simulated).unwrap_err();
        assert!(err.contains("names no id for the flow log it created"), "{err}");
        assert!(VpcFlowLogs::revert(&live, &before).unwrap().is_empty());
        // A second new flow log is no longer what the fix left: the undo is refused as a change.
        let mut more = live.clone();
        more.flow_logs
            .push(logging("fl-other", "ALL", "/auto-remediate/vpc-flow-logs"));
        assert!(!VpcFlowLogs::diff(&simulated, &more).is_empty());
    }

    #[tokio::test]
    async fn the_undo_sends_one_delete_flow_logs_with_that_id_and_a_gone_one_counts_as_done() {
        let delete = mock!(aws_sdk_ec2::Client::delete_flow_logs)
            .match_requests(|r| r.flow_log_ids() == ["fl-new".to_string()])
            .then_output(|| aws_sdk_ec2::operation::delete_flow_logs::DeleteFlowLogsOutput::builder().build());
        let gone = mock!(aws_sdk_ec2::Client::delete_flow_logs).then_output(|| {
            aws_sdk_ec2::operation::delete_flow_logs::DeleteFlowLogsOutput::builder()
                .unsuccessful(
                    UnsuccessfulItem::builder()
                        .resource_id("fl-new")
                        .error(
                            UnsuccessfulItemError::builder()
                                .code("InvalidFlowLogId.NotFound")
                                .message("gone")
                                .build(),
                        )
                        .build(),
                )
                .build()
        });
        let ctx = mock_ctx::ctx(VpcFlowLogs::READS, VpcFlowLogs::WRITES, &[&delete, &gone]);
        let undo = [Change::DeleteFlowLog {
            flow_log_id: "fl-new".into(),
        }];
        let live = FlowLogs { flow_logs: vec![] };
        VpcFlowLogs::apply(&ctx, VPC, &live, &undo).await.unwrap();
        VpcFlowLogs::apply(&ctx, VPC, &live, &undo).await.unwrap();
        assert_eq!((delete.num_calls(), gone.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn apply_sends_exactly_one_create_flow_logs_for_the_vpc() {
        let create = mock!(aws_sdk_ec2::Client::create_flow_logs)
            .match_requests(|r| {
                r.resource_type() == Some(&FlowLogsResourceType::Vpc)
                    && r.resource_ids() == [VPC.to_string()]
                    && r.traffic_type() == Some(&TrafficType::All)
                    && r.log_destination_type() == Some(&LogDestinationType::CloudWatchLogs)
                    && r.log_group_name() == Some("/auto-remediate/vpc-flow-logs")
                    && r.deliver_logs_permission_arn() == Some(ROLE)
                    && r.log_destination().is_none()
                    && r.log_format().is_none()
            })
            .then_output(|| CreateFlowLogsOutput::builder().flow_log_ids("fl-0123abcd").build());
        let ctx = mock_ctx::ctx(VpcFlowLogs::READS, VpcFlowLogs::WRITES, &[&create]);
        let changes = VpcFlowLogs::assess(&FlowLogs { flow_logs: vec![] }, &params(Some(ROLE)), target())
            .plan
            .changes;
        let after = VpcFlowLogs::apply_recorded(&ctx, VPC, &FlowLogs { flow_logs: vec![] }, &changes)
            .await
            .unwrap();
        assert_eq!(create.num_calls(), 1);
        assert_eq!(
            after.flow_logs.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(),
            ["fl-0123abcd"],
            "the id CreateFlowLogs returned, not the placeholder"
        );
    }

    #[tokio::test]
    async fn an_existing_identical_flow_log_counts_as_done_and_other_failures_are_errors() {
        let unsuccessful = |code: &str| {
            let code = code.to_string();
            move || {
                CreateFlowLogsOutput::builder()
                    .unsuccessful(
                        UnsuccessfulItem::builder()
                            .resource_id(VPC)
                            .error(UnsuccessfulItemError::builder().code(code.clone()).message("m").build())
                            .build(),
                    )
                    .build()
            }
        };
        let exists = mock!(aws_sdk_ec2::Client::create_flow_logs).then_output(unsuccessful("FlowLogAlreadyExists"));
        let denied = mock!(aws_sdk_ec2::Client::create_flow_logs).then_output(unsuccessful("AccessDenied"));
        let ec2 = mock_ctx::ctx(VpcFlowLogs::READS, VpcFlowLogs::WRITES, &[&exists, &denied]).ec2();
        create(&ec2, VPC, "g", ROLE).await.unwrap();
        let err = create(&ec2, VPC, "g", ROLE).await.unwrap_err();
        assert_eq!(err.aws_code(), Some("AccessDenied"));
    }

    #[tokio::test]
    async fn a_missing_vpc_reads_as_none() {
        let gone = mock!(aws_sdk_ec2::Client::describe_vpcs).then_error(|| {
            DescribeVpcsError::generic(
                aws_sdk_ec2::error::ErrorMetadata::builder()
                    .code("InvalidVpcID.NotFound")
                    .build(),
            )
        });
        let ctx = mock_ctx::ctx(VpcFlowLogs::READS, VpcFlowLogs::WRITES, &[&gone]);
        assert!(VpcFlowLogs::read(&ctx, VPC, Tags::Read).await.unwrap().is_none());
    }
}
