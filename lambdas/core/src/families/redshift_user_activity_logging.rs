//! RS-023: a Redshift cluster's parameter group has `enable_user_activity_logging` off.
//!
//! What a fix changes, never touches and how it is undone: [`RedshiftUserActivityLogging::DOC`]
//! (RULES.md is generated from it). Only a parameter group the cluster owns is changed: AWS
//! refuses to change a `default.*` group, and a change to a group another cluster uses would
//! change that cluster too; otherwise the fix fails closed with `InvalidInput`, naming what the
//! user must do (a dedicated group). The parameter is static: its `ParameterApplyStatus` reads
//! `pending-reboot` until the cluster's next reboot, which the fix never makes.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_redshift::types::Parameter;
use serde::{Deserialize, Serialize};

use crate::aws::Ctx;
use crate::error::Error;
use crate::families::helpers::family::{Assessment, FamilyDoc, NoParams, Read, RuleFamily, Tags, Target};
use crate::families::redshift_cluster::{describe_cluster, redshift_tags, DESCRIBE_CLUSTERS};
use crate::ids;
use crate::plan::Describe;

/// The family: `redshift-user-activity-logging` in the catalog.
pub struct RedshiftUserActivityLogging;

const DESCRIBE_CLUSTER_PARAMETERS: &str = "redshift:DescribeClusterParameters";
const MODIFY_CLUSTER_PARAMETER_GROUP: &str = "redshift:ModifyClusterParameterGroup";

/// The parameter RS-023 checks.
pub const PARAMETER: &str = "enable_user_activity_logging";

/// Its rules take no parameters.
pub type Params = NoParams;

/// The cluster's parameter group and what the rule needs to know of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Logging {
    pub parameter_group: String,
    /// `enable_user_activity_logging` in that group (`None`: the group does not list it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The other clusters (of this account and region) that use the same group.
    #[serde(default)]
    pub other_clusters: Vec<String>,
    /// The cluster's `ParameterApplyStatus` for the group (`in-sync`, `pending-reboot`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply_status: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action")]
pub enum Change {
    /// `enable_user_activity_logging=true` in `parameter_group`.
    #[serde(rename = "redshift:EnableUserActivityLogging")]
    EnableUserActivityLogging { parameter_group: String },
    /// An undo's: `enable_user_activity_logging=<value>` in `parameter_group`, the value recorded
    /// before the fix.
    #[serde(rename = "redshift:RestoreUserActivityLogging")]
    RestoreUserActivityLogging { parameter_group: String, value: String },
}

impl Describe for Change {
    fn describe(&self) -> String {
        match self {
            Change::EnableUserActivityLogging { parameter_group } => {
                format!("set {PARAMETER}=true in parameter group {parameter_group} (takes effect at the next reboot)")
            }
            Change::RestoreUserActivityLogging { parameter_group, value } => format!(
                "set {PARAMETER}={value} back in parameter group {parameter_group}, as recorded before the fix (takes effect at the next reboot)"
            ),
        }
    }
}

fn on(l: &Logging) -> bool {
    l.value.as_deref().is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// Why the group may not be changed for this cluster (`None`: the cluster owns it).
pub fn refusal(cluster: &str, l: &Logging) -> Option<String> {
    let g = &l.parameter_group;
    let what_to_do = format!(
        "create a parameter group for {cluster} alone with {PARAMETER}=true, associate it with the cluster \
         (ModifyCluster ClusterParameterGroupName) and reboot it when convenient; nothing was changed"
    );
    if g.starts_with("default.") {
        Some(format!(
            "cluster {cluster} uses the default parameter group {g}, which AWS does not let anyone change: {what_to_do}"
        ))
    } else if !l.other_clusters.is_empty() {
        Some(format!(
            "parameter group {g} is also used by cluster(s) {}: changing it would change them too; {what_to_do}",
            l.other_clusters.join(", ")
        ))
    } else {
        None
    }
}

impl RuleFamily for RedshiftUserActivityLogging {
    const NAME: &'static str = "redshift-user-activity-logging";
    const DOC: FamilyDoc = FamilyDoc {
        changes: "ModifyClusterParameterGroup enable_user_activity_logging=true, only in a non-default group no other cluster uses (else fails closed, InvalidInput); takes effect at the next reboot",
        never: "a default or shared parameter group, the group's other parameters, the cluster (never rebooted or re-associated), audit logging",
        undo: "ModifyClusterParameterGroup setting enable_user_activity_logging back to the recorded value (nothing else, no reboot), only while no other cluster uses the group; a record where the group did not list the parameter is refused (CannotUndo: no value to set back)",
        tested: "request-level",
    };
    const RESOURCE: &'static str = "Redshift cluster identifier";
    const READS: &'static [&'static str] = &[DESCRIBE_CLUSTERS, DESCRIBE_CLUSTER_PARAMETERS];
    const WRITES: &'static [&'static str] = &[MODIFY_CLUSTER_PARAMETER_GROUP];
    /// A parameter group change shows in reads within a minute or two.
    const SETTLE: Duration = Duration::from_secs(120);
    type Params = Params;
    type State = Logging;
    type Change = Change;

    fn valid_id(id: &str) -> bool {
        ids::is_db_identifier(id, 63)
    }

    async fn read(ctx: &Ctx, cluster: &str, tags: Tags) -> Result<Option<Read<Logging>>, Error> {
        let Some(c) = describe_cluster(ctx, cluster).await? else {
            return Ok(None);
        };
        let Some(group) = c.cluster_parameter_groups().first() else {
            return Err(Error::InvalidInput(format!(
                "Redshift cluster {cluster} lists no parameter group"
            )));
        };
        let name = group.parameter_group_name().unwrap_or_default().to_string();
        let redshift = crate::sdk_client!(ctx, aws_sdk_redshift);
        // Who else uses the group: every cluster of the account and region.
        let mut other_clusters = Vec::new();
        let mut pages = redshift.describe_clusters().into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| Error::from_sdk(DESCRIBE_CLUSTERS, e))?;
            for other in page.clusters() {
                let id = other.cluster_identifier().unwrap_or_default();
                if id != cluster
                    && other
                        .cluster_parameter_groups()
                        .iter()
                        .any(|g| g.parameter_group_name() == Some(name.as_str()))
                {
                    other_clusters.push(id.to_string());
                }
            }
        }
        other_clusters.sort();
        let mut value = None;
        let mut pages = redshift
            .describe_cluster_parameters()
            .parameter_group_name(&name)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| Error::from_sdk(DESCRIBE_CLUSTER_PARAMETERS, e))?;
            if let Some(p) = page.parameters().iter().find(|p| p.parameter_name() == Some(PARAMETER)) {
                value = p.parameter_value().map(str::to_string);
                break;
            }
        }
        Ok(Some(Read {
            state: Logging {
                parameter_group: name,
                value,
                other_clusters,
                apply_status: group.parameter_apply_status().map(str::to_string),
            },
            tags: if tags == Tags::Read {
                redshift_tags(c.tags())
            } else {
                BTreeMap::new()
            },
        }))
    }

    fn assess(l: &Logging, _: &Params, t: Target<'_>) -> Assessment<Change> {
        let g = &l.parameter_group;
        if on(l) {
            let mut plan = t.plan(
                format!("parameter group {g} already has {PARAMETER}=true: nothing to change"),
                Vec::new(),
            );
            plan.untouched = vec![format!("parameter group {g}")];
            return Assessment {
                offending: Vec::new(),
                plan,
            };
        }
        let summary = match refusal(t.resource, l) {
            Some(why) => format!("cannot be fixed automatically: {why}"),
            None => format!(
                "turn on user activity logging in parameter group {g}, used by cluster {} only; it takes effect at the cluster's next reboot (not rebooted here)",
                t.resource
            ),
        };
        let mut plan = t.plan(
            summary,
            vec![Change::EnableUserActivityLogging {
                parameter_group: g.clone(),
            }],
        );
        plan.untouched = vec![
            format!("the other parameters of {g}"),
            format!(
                "cluster {} (not rebooted, parameter group association kept)",
                t.resource
            ),
            "audit logging (EnableLogging)".into(),
        ];
        Assessment {
            offending: vec![format!(
                "{PARAMETER} is {} in parameter group {g}",
                l.value.as_deref().unwrap_or("unset")
            )],
            plan,
        }
    }

    async fn apply(ctx: &Ctx, cluster: &str, l: &Logging, changes: &[Change]) -> Result<(), Error> {
        for change in changes {
            let (parameter_group, value) = match change {
                Change::EnableUserActivityLogging { parameter_group } => (parameter_group, "true"),
                Change::RestoreUserActivityLogging { parameter_group, value } => (parameter_group, value.as_str()),
            };
            if *parameter_group != l.parameter_group {
                return Err(Error::InvalidInput(format!(
                    "cluster {cluster} now uses parameter group {}, not {parameter_group}: nothing was changed",
                    l.parameter_group
                )));
            }
            if let Some(why) = refusal(cluster, l) {
                return Err(Error::InvalidInput(why));
            }
            set(&crate::sdk_client!(ctx, aws_sdk_redshift), parameter_group, value).await?;
        }
        Ok(())
    }

    fn simulate(l: &Logging, changes: &[Change]) -> Logging {
        let mut out = l.clone();
        for c in changes {
            out.value = Some(match c {
                Change::EnableUserActivityLogging { .. } => "true".into(),
                Change::RestoreUserActivityLogging { value, .. } => value.clone(),
            });
        }
        out
    }

    /// The undo: the recorded value back, in the same group, when it differs.
    fn revert(live: &Logging, before: &Logging) -> Option<Vec<Change>> {
        match &before.value {
            Some(v) if live.value.as_ref() != Some(v) && live.parameter_group == before.parameter_group => {
                Some(vec![Change::RestoreUserActivityLogging {
                    parameter_group: live.parameter_group.clone(),
                    value: v.clone(),
                }])
            }
            _ => Some(Vec::new()),
        }
    }

    /// No recorded value (the group did not list the parameter): nothing to set back to.
    fn cannot_undo(_live: &Logging, before: &Logging) -> Option<String> {
        before.value.is_none().then(|| {
            format!(
                "parameter group {} did not list {PARAMETER} before the fix: there is no recorded value to set back",
                before.parameter_group
            )
        })
    }

    fn diff(before: &Logging, after: &Logging) -> Vec<String> {
        let mut out = Vec::new();
        if before.parameter_group != after.parameter_group {
            out.push(format!(
                "parameter group {} → {}",
                before.parameter_group, after.parameter_group
            ));
        }
        if before.value != after.value {
            out.push(format!(
                "{PARAMETER} {} → {} in parameter group {}",
                before.value.as_deref().unwrap_or("unset"),
                after.value.as_deref().unwrap_or("unset"),
                after.parameter_group
            ));
        }
        out
    }
}

/// `ModifyClusterParameterGroup` with `enable_user_activity_logging=true` and nothing else.
pub async fn enable(redshift: &aws_sdk_redshift::Client, group: &str) -> Result<(), Error> {
    set(redshift, group, "true").await
}

/// `ModifyClusterParameterGroup` with `enable_user_activity_logging=<value>` and nothing else.
async fn set(redshift: &aws_sdk_redshift::Client, group: &str, value: &str) -> Result<(), Error> {
    redshift
        .modify_cluster_parameter_group()
        .parameter_group_name(group)
        .parameters(
            Parameter::builder()
                .parameter_name(PARAMETER)
                .parameter_value(value)
                .build(),
        )
        .send()
        .await
        .map(|_| ())
        .map_err(|e| Error::from_sdk(MODIFY_CLUSTER_PARAMETER_GROUP, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::families::rds_instance::mock_ctx;
    use crate::families::redshift_cluster::not_found;
    use aws_sdk_redshift::operation::describe_cluster_parameters::DescribeClusterParametersOutput;
    use aws_sdk_redshift::operation::describe_clusters::DescribeClustersOutput;
    use aws_sdk_redshift::operation::modify_cluster_parameter_group::{
        ModifyClusterParameterGroupInput, ModifyClusterParameterGroupOutput,
    };
    use aws_sdk_redshift::types::{Cluster, ClusterParameterGroupStatus};
    use aws_smithy_mocks::{mock, MockResponseInterceptor, Rule, RuleMode};

    type R = RedshiftUserActivityLogging;

    fn t() -> Target<'static> {
        Target {
            rule_id: "RS-023",
            resource: "analytics",
            region: "us-east-1",
        }
    }

    fn logging(group: &str, value: &str, others: &[&str]) -> Logging {
        Logging {
            parameter_group: group.into(),
            value: Some(value.into()),
            other_clusters: others.iter().map(|o| o.to_string()).collect(),
            apply_status: Some("in-sync".into()),
        }
    }

    fn cluster(id: &str, group: &str) -> Cluster {
        Cluster::builder()
            .cluster_identifier(id)
            .cluster_parameter_groups(
                ClusterParameterGroupStatus::builder()
                    .parameter_group_name(group)
                    .parameter_apply_status("in-sync")
                    .build(),
            )
            .build()
    }

    #[test]
    fn an_owned_group_gets_the_parameter_and_a_compliant_one_is_left_alone() {
        let l = logging("analytics-params", "false", &[]);
        let a = R::assess(&l, &Params {}, t());
        assert_eq!(
            a.plan.changes,
            vec![Change::EnableUserActivityLogging {
                parameter_group: "analytics-params".into()
            }]
        );
        assert!(a.plan.removes.is_empty());
        assert_eq!(
            a.offending,
            vec!["enable_user_activity_logging is false in parameter group analytics-params"]
        );
        assert!(refusal("analytics", &l).is_none());
        let after = R::simulate(&l, &a.plan.changes);
        assert_eq!(
            R::diff(&l, &after),
            vec!["enable_user_activity_logging false → true in parameter group analytics-params"]
        );
        let a = R::assess(&after, &Params {}, t());
        assert!(a.plan.is_empty() && a.offending.is_empty());
    }

    #[test]
    fn a_default_or_shared_group_is_refused_with_what_to_do() {
        for (l, names) in [
            (logging("default.redshift-1.0", "false", &[]), "default parameter group"),
            (
                logging("team-params", "false", &["billing"]),
                "also used by cluster(s) billing",
            ),
        ] {
            let a = R::assess(&l, &Params {}, t());
            assert!(
                a.plan.summary.starts_with("cannot be fixed automatically"),
                "{}",
                a.plan.summary
            );
            let why = refusal("analytics", &l).unwrap();
            assert!(
                why.contains(names) && why.contains("create a parameter group for analytics alone"),
                "{why}"
            );
        }
    }

    #[tokio::test]
    async fn apply_refuses_a_shared_or_default_group_before_any_call() {
        // No mock rules: any call would fail the test with a different error.
        let ctx = mock_ctx(MockResponseInterceptor::new(), R::READS, R::WRITES);
        for l in [
            logging("default.redshift-1.0", "false", &[]),
            logging("team-params", "false", &["billing"]),
        ] {
            let changes = R::assess(&l, &Params {}, t()).plan.changes;
            match R::apply(&ctx, "analytics", &l, &changes).await {
                Err(Error::InvalidInput(m)) => assert!(m.contains("nothing was changed"), "{m}"),
                other => panic!("{other:?}"),
            }
        }
    }

    fn tagged(l: &Logging) -> crate::families::ResourceState {
        let mut v = serde_json::to_value(l).unwrap();
        v["kind"] = NAME_TAG.into();
        crate::families::ResourceState(v)
    }

    const NAME_TAG: &str = "redshift-user-activity-logging";

    #[test]
    fn the_undo_sets_back_the_recorded_value_only_and_a_missing_one_is_refused_by_name() {
        use crate::families::helpers::family::{DynFamily, Erased};
        let before = logging("analytics-params", "false", &[]);
        let fix = R::assess(&before, &Params {}, t()).plan.changes;
        let after = R::simulate(&before, &fix);
        assert_eq!(after.value.as_deref(), Some("true"));
        let undo = R::revert(&after, &before).unwrap();
        assert_eq!(
            undo,
            vec![Change::RestoreUserActivityLogging {
                parameter_group: "analytics-params".into(),
                value: "false".into()
            }]
        );
        assert_eq!(R::simulate(&after, &undo), before);
        assert!(R::revert(&before, &before).unwrap().is_empty());
        // Through the undo's own assessment: one step, one change.
        let recorded = crate::finding::Recorded {
            execution: "arn:aws:states:us-east-1:111122223333:execution:auto-remediate:fix-1".into(),
            before: tagged(&before),
            after: tagged(&after),
            partial: None,
        };
        let (steps, plan) = Erased::<R>::NEW.restore(&tagged(&after), &recorded, t()).unwrap();
        assert_eq!(
            steps,
            vec!["undo: enable_user_activity_logging true → false in parameter group analytics-params"]
        );
        assert_eq!(plan.changes.len(), 1);
        // The group did not list the parameter: no value to set back, refused by name.
        let unlisted = Logging {
            value: None,
            ..before.clone()
        };
        let recorded = crate::finding::Recorded {
            before: tagged(&unlisted),
            ..recorded
        };
        let err = Erased::<R>::NEW.restore(&tagged(&after), &recorded, t()).err().unwrap();
        assert_eq!(err.name(), "CannotUndo");
        assert!(err.to_string().contains("no recorded value to set back"), "{err}");
    }

    /// Request-level (moto has no Redshift parameter groups' values): the undo sends exactly one
    /// ModifyClusterParameterGroup with the recorded value, and refuses a group another cluster
    /// uses now before any call.
    #[tokio::test]
    async fn the_undo_sends_one_modify_with_the_recorded_value_and_refuses_a_shared_group() {
        let expected = ModifyClusterParameterGroupInput::builder()
            .parameter_group_name("analytics-params")
            .parameters(
                Parameter::builder()
                    .parameter_name("enable_user_activity_logging")
                    .parameter_value("false")
                    .build(),
            )
            .build()
            .unwrap();
        let modify = mock!(aws_sdk_redshift::Client::modify_cluster_parameter_group)
            .match_requests(move |r| *r == expected)
            .then_output(|| ModifyClusterParameterGroupOutput::builder().build());
        let ctx = mock_ctx(
            MockResponseInterceptor::new()
                .rule_mode(RuleMode::Sequential)
                .with_rule(&modify),
            R::READS,
            R::WRITES,
        );
        let before = logging("analytics-params", "false", &[]);
        let after = R::simulate(&before, &R::assess(&before, &Params {}, t()).plan.changes);
        let undo = R::revert(&after, &before).unwrap();
        R::apply(&ctx, "analytics", &after, &undo).await.unwrap();
        assert_eq!(modify.num_calls(), 1);
        let shared = Logging {
            other_clusters: vec!["billing".into()],
            ..after.clone()
        };
        let err = R::apply(&ctx, "analytics", &shared, &undo).await.unwrap_err();
        assert_eq!(err.name(), "InvalidInput");
        assert!(err.to_string().contains("billing"), "{err}");
        assert_eq!(modify.num_calls(), 1, "nothing sent for a shared group");
    }

    fn describe_one(group: &'static str) -> Rule {
        mock!(aws_sdk_redshift::Client::describe_clusters)
            .match_requests(|r| r.cluster_identifier() == Some("analytics"))
            .then_output(move || {
                DescribeClustersOutput::builder()
                    .clusters(cluster("analytics", group))
                    .build()
            })
    }

    #[tokio::test]
    async fn read_finds_the_group_its_users_and_the_value_then_apply_sets_only_the_parameter() {
        let one = describe_one("analytics-params");
        // Every cluster, over two pages: another cluster uses another group.
        let page1 = mock!(aws_sdk_redshift::Client::describe_clusters)
            .match_requests(|r| r.cluster_identifier().is_none() && r.marker().is_none())
            .then_output(|| {
                DescribeClustersOutput::builder()
                    .clusters(cluster("analytics", "analytics-params"))
                    .marker("next")
                    .build()
            });
        let page2 = mock!(aws_sdk_redshift::Client::describe_clusters)
            .match_requests(|r| r.marker() == Some("next"))
            .then_output(|| {
                DescribeClustersOutput::builder()
                    .clusters(cluster("billing", "billing-params"))
                    .build()
            });
        let params = mock!(aws_sdk_redshift::Client::describe_cluster_parameters)
            .match_requests(|r| r.parameter_group_name() == Some("analytics-params"))
            .then_output(|| {
                DescribeClusterParametersOutput::builder()
                    .parameters(
                        Parameter::builder()
                            .parameter_name("require_ssl")
                            .parameter_value("true")
                            .build(),
                    )
                    .parameters(
                        Parameter::builder()
                            .parameter_name(PARAMETER)
                            .parameter_value("false")
                            .build(),
                    )
                    .build()
            });
        let expected = ModifyClusterParameterGroupInput::builder()
            .parameter_group_name("analytics-params")
            .parameters(
                Parameter::builder()
                    .parameter_name("enable_user_activity_logging")
                    .parameter_value("true")
                    .build(),
            )
            .build()
            .unwrap();
        let modify = mock!(aws_sdk_redshift::Client::modify_cluster_parameter_group)
            .match_requests(move |r| *r == expected)
            .then_output(|| ModifyClusterParameterGroupOutput::builder().build());
        let mocks = MockResponseInterceptor::new()
            .rule_mode(RuleMode::Sequential)
            .with_rule(&one)
            .with_rule(&page1)
            .with_rule(&page2)
            .with_rule(&params)
            .with_rule(&modify);
        let ctx = mock_ctx(mocks, R::READS, R::WRITES);
        let r = R::read(&ctx, "analytics", Tags::Skip).await.unwrap().unwrap();
        assert_eq!(r.state, logging("analytics-params", "false", &[]));
        let plan = R::assess(&r.state, &Params {}, t()).plan;
        R::apply(&ctx, "analytics", &r.state, &plan.changes).await.unwrap();
        assert_eq!(
            (
                one.num_calls(),
                page1.num_calls(),
                page2.num_calls(),
                params.num_calls(),
                modify.num_calls()
            ),
            (1, 1, 1, 1, 1)
        );
    }

    #[tokio::test]
    async fn read_names_the_other_clusters_of_a_shared_group_and_maps_not_found_to_none() {
        let gone = mock!(aws_sdk_redshift::Client::describe_clusters).then_error(not_found);
        let one = describe_one("team-params");
        let all = mock!(aws_sdk_redshift::Client::describe_clusters)
            .match_requests(|r| r.cluster_identifier().is_none())
            .then_output(|| {
                DescribeClustersOutput::builder()
                    .clusters(cluster("analytics", "team-params"))
                    .clusters(cluster("billing", "team-params"))
                    .build()
            });
        let params = mock!(aws_sdk_redshift::Client::describe_cluster_parameters).then_output(|| {
            DescribeClusterParametersOutput::builder()
                .parameters(
                    Parameter::builder()
                        .parameter_name(PARAMETER)
                        .parameter_value("false")
                        .build(),
                )
                .build()
        });
        let mocks = MockResponseInterceptor::new()
            .rule_mode(RuleMode::Sequential)
            .with_rule(&gone)
            .with_rule(&one)
            .with_rule(&all)
            .with_rule(&params);
        let ctx = mock_ctx(mocks, R::READS, &[]);
        assert!(R::read(&ctx, "analytics", Tags::Read).await.unwrap().is_none());
        let r = R::read(&ctx, "analytics", Tags::Read).await.unwrap().unwrap();
        assert_eq!(r.state.other_clusters, vec!["billing"]);
        assert!(refusal("analytics", &r.state).is_some());
    }
}
