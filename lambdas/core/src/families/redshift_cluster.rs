//! Redshift cluster settings: RS-001 (publicly accessible) and RS-019 (automated snapshot
//! retention 0, i.e. automated snapshots off). The catalog entry's `setting` names the setting.
//!
//! What a fix changes, never touches and how it is undone: [`RedshiftCluster::DOC`] (RULES.md is
//! generated from it).
//!
//! A value in `PendingModifiedValues` is what the cluster is becoming: a pending change to a
//! failing value fails the rule, and so does the current value until the change completes
//! (minutes on AWS; Verify re-reads for [`RedshiftCluster::SETTLE`]).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::aws::Ctx;
use crate::error::Error;
use crate::families::helpers::family::{Assessment, FamilyDoc, Read, RuleFamily, Tags, Target};
use crate::families::helpers::kit;
use crate::ids;
use crate::plan::Describe;

/// The family: `redshift-cluster` in the catalog.
pub struct RedshiftCluster;

pub const DESCRIBE_CLUSTERS: &str = "redshift:DescribeClusters";
const MODIFY_CLUSTER: &str = "redshift:ModifyCluster";

/// The setting a rule heals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Setting {
    /// RS-001: the cluster must not be publicly accessible.
    PubliclyAccessible,
    /// RS-019: automated snapshots must be kept (retention above 0 days).
    AutomatedSnapshotRetention,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParams {
    setting: Setting,
    #[serde(default)]
    retention_days: Option<i64>,
}

/// `{"setting": "publicly_accessible"}` or
/// `{"setting": "automated_snapshot_retention", "retention_days": 7}` (1..=35, default 7).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawParams")]
pub struct Params {
    pub setting: Setting,
    /// The retention RS-019 sets (unused by RS-001).
    pub retention_days: i32,
}

/// RS-019's retention when the configuration names none.
pub const DEFAULT_RETENTION_DAYS: i32 = 7;

impl TryFrom<RawParams> for Params {
    type Error = String;
    fn try_from(raw: RawParams) -> Result<Params, String> {
        let retention_days = match (raw.setting, raw.retention_days) {
            (Setting::AutomatedSnapshotRetention, None) => DEFAULT_RETENTION_DAYS,
            (Setting::AutomatedSnapshotRetention, Some(d)) if (1..=35).contains(&d) => d as i32,
            (Setting::AutomatedSnapshotRetention, Some(d)) => {
                return Err(format!(
                    "retention_days is {d}: Redshift keeps automated snapshots 1 to 35 days"
                ))
            }
            (Setting::PubliclyAccessible, None) => 0,
            (Setting::PubliclyAccessible, Some(_)) => {
                return Err("retention_days is only a parameter of the automated_snapshot_retention setting".into())
            }
        };
        Ok(Params {
            setting: raw.setting,
            retention_days,
        })
    }
}

/// A cluster's rule-relevant settings as read (`pending_*`: from `PendingModifiedValues`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cluster {
    pub publicly_accessible: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_publicly_accessible: Option<bool>,
    pub automated_snapshot_retention_days: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_automated_snapshot_retention_days: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action")]
pub enum Change {
    /// `PubliclyAccessible=false`.
    #[serde(rename = "redshift:DisablePublicAccess")]
    DisablePublicAccess,
    /// `AutomatedSnapshotRetentionPeriod=days`.
    #[serde(rename = "redshift:SetAutomatedSnapshotRetention")]
    SetAutomatedSnapshotRetention { days: i32 },
    /// `PubliclyAccessible=true` (an undo: the recorded cluster was publicly accessible).
    #[serde(rename = "redshift:EnablePublicAccess")]
    EnablePublicAccess,
}

impl Describe for Change {
    fn describe(&self) -> String {
        match self {
            Change::DisablePublicAccess => "set PubliclyAccessible=false".into(),
            Change::SetAutomatedSnapshotRetention { days: 0 } => {
                "set AutomatedSnapshotRetentionPeriod=0 (automated snapshots off, as recorded before the fix)".into()
            }
            Change::SetAutomatedSnapshotRetention { days } => {
                format!("set AutomatedSnapshotRetentionPeriod={days} (keep automated snapshots {days} days)")
            }
            Change::EnablePublicAccess => "set PubliclyAccessible=true again, as recorded before the fix".into(),
        }
    }
}

/// The access RS-001 takes away, as an approver agrees to it.
pub const PUBLIC_ACCESS: &str = "public accessibility of the endpoint (PubliclyAccessible=true)";

fn is_public(c: &Cluster) -> bool {
    c.publicly_accessible || c.pending_publicly_accessible == Some(true)
}

fn keeps_no_snapshots(c: &Cluster) -> bool {
    c.automated_snapshot_retention_days == 0 || c.pending_automated_snapshot_retention_days == Some(0)
}

impl RuleFamily for RedshiftCluster {
    const NAME: &'static str = "redshift-cluster";
    const DOC: FamilyDoc = FamilyDoc {
        changes: "ModifyCluster with only the flagged setting: PubliclyAccessible=false, or AutomatedSnapshotRetentionPeriod=retention_days (default 7, 1 to 35) when it is 0",
        never: "security groups, subnets, parameter groups, nodes, the master password, manual snapshots, the data, a positive retention",
        undo: "one ModifyCluster setting back only the setting the fix changed to its recorded value (PubliclyAccessible=true, or AutomatedSnapshotRetentionPeriod=0: automated snapshots off again)",
        tested: "local stack",
    };
    const RESOURCE: &'static str = "Redshift cluster identifier";
    const READS: &'static [&'static str] = &[DESCRIBE_CLUSTERS];
    const WRITES: &'static [&'static str] = &[MODIFY_CLUSTER];
    /// A modification takes minutes to complete on AWS.
    const SETTLE: Duration = Duration::from_secs(20 * 60);
    type Params = Params;
    type State = Cluster;
    type Change = Change;

    fn valid_id(id: &str) -> bool {
        ids::is_db_identifier(id, 63)
    }

    async fn read(ctx: &Ctx, cluster: &str, tags: Tags) -> Result<Option<Read<Cluster>>, Error> {
        let Some(c) = describe_cluster(ctx, cluster).await? else {
            return Ok(None);
        };
        let pending = c.pending_modified_values();
        let state = Cluster {
            publicly_accessible: c.publicly_accessible().unwrap_or(false),
            pending_publicly_accessible: pending.and_then(|p| p.publicly_accessible()),
            automated_snapshot_retention_days: c.automated_snapshot_retention_period().unwrap_or(0),
            pending_automated_snapshot_retention_days: pending.and_then(|p| p.automated_snapshot_retention_period()),
        };
        Ok(Some(kit::read(state, redshift_tags(c.tags()), tags)))
    }

    fn assess(s: &Cluster, p: &Params, t: Target<'_>) -> Assessment<Change> {
        let c = t.resource;
        let (failing, change, offending, summary) = match p.setting {
            Setting::PubliclyAccessible => (
                is_public(s),
                Change::DisablePublicAccess,
                "publicly accessible (PubliclyAccessible=true)".to_string(),
                if is_public(s) {
                    format!("stop Redshift cluster {c} being publicly accessible")
                } else {
                    format!("Redshift cluster {c} is not publicly accessible: nothing to change")
                },
            ),
            Setting::AutomatedSnapshotRetention => (
                keeps_no_snapshots(s),
                Change::SetAutomatedSnapshotRetention { days: p.retention_days },
                "automated snapshot retention 0 days (automated snapshots off)".to_string(),
                if keeps_no_snapshots(s) {
                    format!(
                        "keep automated snapshots of Redshift cluster {c} for {} days",
                        p.retention_days
                    )
                } else {
                    format!(
                        "Redshift cluster {c} keeps automated snapshots {} days: nothing to change",
                        s.automated_snapshot_retention_days
                    )
                },
            ),
        };
        // The fix already pending (an earlier attempt's ModifyCluster, still applying): the rule
        // fails until it lands, but sending it again would only meet a cluster still modifying.
        let in_progress = match p.setting {
            Setting::PubliclyAccessible => s.publicly_accessible && s.pending_publicly_accessible == Some(false),
            Setting::AutomatedSnapshotRetention => {
                s.automated_snapshot_retention_days == 0
                    && s.pending_automated_snapshot_retention_days.is_some_and(|d| d > 0)
            }
        };
        let summary = if in_progress {
            format!("the change to Redshift cluster {c} is pending (being applied): nothing to send again")
        } else {
            summary
        };
        let mut plan = t.plan(
            summary,
            if failing && !in_progress {
                vec![change]
            } else {
                Vec::new()
            },
        );
        plan.untouched = vec![
            "security groups, subnets, parameter groups and nodes".into(),
            "manual snapshots and the data".into(),
            match p.setting {
                Setting::PubliclyAccessible => "automated snapshot retention".into(),
                Setting::AutomatedSnapshotRetention => "public accessibility".into(),
            },
        ];
        if failing && p.setting == Setting::PubliclyAccessible {
            plan.removes = vec![PUBLIC_ACCESS.into()];
        }
        Assessment {
            offending: if failing { vec![offending] } else { Vec::new() },
            plan,
        }
    }

    /// One `ModifyCluster` with every change (a second one would meet a cluster still modifying).
    async fn apply(ctx: &Ctx, cluster: &str, _: &Cluster, changes: &[Change]) -> Result<(), Error> {
        if changes.is_empty() {
            return Ok(());
        }
        let redshift = crate::sdk_client!(ctx, aws_sdk_redshift);
        let mut req = redshift.modify_cluster().cluster_identifier(cluster);
        for c in changes {
            req = match c {
                Change::DisablePublicAccess => req.publicly_accessible(false),
                Change::SetAutomatedSnapshotRetention { days } => req.automated_snapshot_retention_period(*days),
                Change::EnablePublicAccess => req.publicly_accessible(true),
            };
        }
        req.send()
            .await
            .map(|_| ())
            .map_err(|e| Error::from_sdk(MODIFY_CLUSTER, e))
    }

    fn simulate(s: &Cluster, changes: &[Change]) -> Cluster {
        let mut out = s.clone();
        for c in changes {
            match c {
                Change::DisablePublicAccess => {
                    out.publicly_accessible = false;
                    out.pending_publicly_accessible = None;
                }
                Change::SetAutomatedSnapshotRetention { days } => {
                    out.automated_snapshot_retention_days = *days;
                    out.pending_automated_snapshot_retention_days = None;
                }
                Change::EnablePublicAccess => {
                    out.publicly_accessible = true;
                    out.pending_publicly_accessible = None;
                }
            }
        }
        out
    }

    /// The undo: each setting that differs from the record, set back to it (one call).
    fn revert(live: &Cluster, before: &Cluster) -> Option<Vec<Change>> {
        let public = kit::set_back(
            live.publicly_accessible,
            before.publicly_accessible,
            Change::EnablePublicAccess,
            Change::DisablePublicAccess,
        );
        let retention = (live.automated_snapshot_retention_days != before.automated_snapshot_retention_days).then_some(
            Change::SetAutomatedSnapshotRetention {
                days: before.automated_snapshot_retention_days,
            },
        );
        Some(public.into_iter().chain(retention).collect())
    }

    fn diff(before: &Cluster, after: &Cluster) -> Vec<String> {
        [
            kit::changed(
                "PubliclyAccessible",
                before.publicly_accessible,
                after.publicly_accessible,
            ),
            kit::changed(
                "AutomatedSnapshotRetentionPeriod",
                before.automated_snapshot_retention_days,
                after.automated_snapshot_retention_days,
            ),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// The cluster named `cluster`, or `None` when it does not exist.
pub async fn describe_cluster(ctx: &Ctx, cluster: &str) -> Result<Option<aws_sdk_redshift::types::Cluster>, Error> {
    let redshift = crate::sdk_client!(ctx, aws_sdk_redshift);
    let got = redshift
        .describe_clusters()
        .cluster_identifier(cluster)
        .send()
        .await
        .map_err(|e| Error::from_sdk(DESCRIBE_CLUSTERS, e));
    Ok(kit::gone_if(got, &["ClusterNotFound"])?.and_then(|out| {
        out.clusters()
            .iter()
            .find(|c| c.cluster_identifier() == Some(cluster))
            .cloned()
    }))
}

/// Redshift tags as a map (for exclusion tags).
pub fn redshift_tags(tags: &[aws_sdk_redshift::types::Tag]) -> BTreeMap<String, String> {
    kit::tag_map(tags.iter().map(|t| (t.key(), t.value())))
}

#[cfg(test)]
pub(crate) fn not_found() -> aws_sdk_redshift::operation::describe_clusters::DescribeClustersError {
    aws_sdk_redshift::operation::describe_clusters::DescribeClustersError::ClusterNotFoundFault(
        aws_sdk_redshift::types::error::ClusterNotFoundFault::builder()
            .meta(
                aws_smithy_types::error::ErrorMetadata::builder()
                    .code("ClusterNotFound")
                    .build(),
            )
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::families::rds_instance::mock_ctx;
    use aws_sdk_redshift::operation::describe_clusters::DescribeClustersOutput;
    use aws_sdk_redshift::operation::modify_cluster::{ModifyClusterInput, ModifyClusterOutput};
    use aws_sdk_redshift::types::{PendingModifiedValues, Tag};
    use aws_smithy_mocks::{mock, MockResponseInterceptor, RuleMode};

    fn t(rule_id: &'static str) -> Target<'static> {
        Target {
            rule_id,
            resource: "analytics",
            region: "us-east-1",
        }
    }

    fn params(v: serde_json::Value) -> Result<Params, serde_json::Error> {
        serde_json::from_value(v)
    }

    fn cluster(public: bool, retention: i32) -> Cluster {
        Cluster {
            publicly_accessible: public,
            pending_publicly_accessible: None,
            automated_snapshot_retention_days: retention,
            pending_automated_snapshot_retention_days: None,
        }
    }

    #[test]
    fn params_default_to_seven_days_and_refuse_out_of_range_or_misplaced_retention() {
        let p = params(serde_json::json!({"setting": "automated_snapshot_retention"})).unwrap();
        assert_eq!(p.retention_days, 7);
        let p = params(serde_json::json!({"setting": "automated_snapshot_retention", "retention_days": 35})).unwrap();
        assert_eq!(p.retention_days, 35);
        for bad in [
            serde_json::json!({"setting": "automated_snapshot_retention", "retention_days": 0}),
            serde_json::json!({"setting": "automated_snapshot_retention", "retention_days": 36}),
            serde_json::json!({"setting": "automated_snapshot_retention", "retention_days": "7"}),
            serde_json::json!({"setting": "publicly_accessible", "retention_days": 7}),
            serde_json::json!({"setting": "publicly_accessible", "other": 1}),
            serde_json::json!({"setting": "encrypted"}),
        ] {
            assert!(params(bad.clone()).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_public_cluster_is_made_private_and_its_retention_stays() {
        let p = params(serde_json::json!({"setting": "publicly_accessible"})).unwrap();
        let s = cluster(true, 0);
        let a = RedshiftCluster::assess(&s, &p, t("RS-001"));
        assert_eq!(a.plan.changes, vec![Change::DisablePublicAccess]);
        assert_eq!(a.plan.removes, vec![PUBLIC_ACCESS]);
        let after = RedshiftCluster::simulate(&s, &a.plan.changes);
        assert_eq!(after, cluster(false, 0));
        assert_eq!(
            RedshiftCluster::diff(&s, &after),
            vec!["PubliclyAccessible true → false"]
        );
        assert!(RedshiftCluster::assess(&after, &p, t("RS-001")).plan.is_empty());
        // A pending switch to public is public.
        let pending = Cluster {
            pending_publicly_accessible: Some(true),
            ..cluster(false, 1)
        };
        assert_eq!(RedshiftCluster::assess(&pending, &p, t("RS-001")).offending.len(), 1);
    }

    #[test]
    fn a_fix_already_pending_is_not_sent_again_but_still_fails_until_it_lands() {
        let mut c = cluster(true, 7);
        c.pending_publicly_accessible = Some(false);
        let p = params(serde_json::json!({"setting": "publicly_accessible"})).unwrap();
        let a = RedshiftCluster::assess(&c, &p, t("RS-001"));
        assert!(a.plan.is_empty(), "{:?}", a.plan.changes);
        assert_eq!(a.offending.len(), 1);
        assert!(a.plan.summary.contains("pending"));
    }

    #[test]
    fn retention_zero_gets_the_configured_days_and_a_positive_retention_is_left_alone() {
        let p = params(serde_json::json!({"setting": "automated_snapshot_retention", "retention_days": 14})).unwrap();
        let a = RedshiftCluster::assess(&cluster(true, 0), &p, t("RS-019"));
        assert_eq!(a.plan.changes, vec![Change::SetAutomatedSnapshotRetention { days: 14 }]);
        assert!(a.plan.removes.is_empty());
        let after = RedshiftCluster::simulate(&cluster(true, 0), &a.plan.changes);
        assert_eq!(after, cluster(true, 14), "RS-019 leaves public accessibility alone");
        for ok in [cluster(true, 1), cluster(false, 35)] {
            let a = RedshiftCluster::assess(&ok, &p, t("RS-019"));
            assert!(a.plan.is_empty() && a.offending.is_empty());
        }
        let pending_off = Cluster {
            pending_automated_snapshot_retention_days: Some(0),
            ..cluster(false, 7)
        };
        assert!(!RedshiftCluster::assess(&pending_off, &p, t("RS-019")).plan.is_empty());
    }

    #[tokio::test]
    async fn apply_sends_one_modify_cluster_with_only_the_flagged_settings() {
        let expected = ModifyClusterInput::builder()
            .cluster_identifier("analytics")
            .publicly_accessible(false)
            .automated_snapshot_retention_period(7)
            .build()
            .unwrap();
        let only_public = ModifyClusterInput::builder()
            .cluster_identifier("analytics")
            .publicly_accessible(false)
            .build()
            .unwrap();
        let both = mock!(aws_sdk_redshift::Client::modify_cluster)
            .match_requests(move |r| *r == expected)
            .then_output(|| ModifyClusterOutput::builder().build());
        let one = mock!(aws_sdk_redshift::Client::modify_cluster)
            .match_requests(move |r| *r == only_public)
            .then_output(|| ModifyClusterOutput::builder().build());
        let mocks = MockResponseInterceptor::new()
            .rule_mode(RuleMode::Sequential)
            .with_rule(&both)
            .with_rule(&one);
        let ctx = mock_ctx(mocks, RedshiftCluster::READS, RedshiftCluster::WRITES);
        RedshiftCluster::apply(
            &ctx,
            "analytics",
            &cluster(true, 0),
            &[
                Change::DisablePublicAccess,
                Change::SetAutomatedSnapshotRetention { days: 7 },
            ],
        )
        .await
        .unwrap();
        RedshiftCluster::apply(&ctx, "analytics", &cluster(true, 1), &[Change::DisablePublicAccess])
            .await
            .unwrap();
        RedshiftCluster::apply(&ctx, "analytics", &cluster(false, 1), &[])
            .await
            .unwrap();
        assert_eq!((both.num_calls(), one.num_calls()), (1, 1));
    }

    #[test]
    fn fix_then_revert_is_the_before_state_and_touches_only_the_fixed_setting() {
        let before = cluster(true, 0);
        for (p, rule, want) in [
            (
                params(serde_json::json!({"setting": "publicly_accessible"})).unwrap(),
                "RS-001",
                Change::EnablePublicAccess,
            ),
            (
                params(serde_json::json!({"setting": "automated_snapshot_retention"})).unwrap(),
                "RS-019",
                Change::SetAutomatedSnapshotRetention { days: 0 },
            ),
        ] {
            let fixed = RedshiftCluster::simulate(&before, &RedshiftCluster::assess(&before, &p, t(rule)).plan.changes);
            let undo = RedshiftCluster::revert(&fixed, &before).unwrap();
            assert_eq!(undo, vec![want.clone()], "{rule}");
            assert_eq!(RedshiftCluster::simulate(&fixed, &undo), before);
        }
        assert!(RedshiftCluster::revert(&before, &before).unwrap().is_empty());
        assert!(Change::SetAutomatedSnapshotRetention { days: 0 }
            .describe()
            .contains("automated snapshots off"));
    }

    #[tokio::test]
    async fn the_undo_sends_one_modify_cluster_with_only_the_recorded_values() {
        let expected = ModifyClusterInput::builder()
            .cluster_identifier("analytics")
            .publicly_accessible(true)
            .automated_snapshot_retention_period(0)
            .build()
            .unwrap();
        let m = mock!(aws_sdk_redshift::Client::modify_cluster)
            .match_requests(move |r| *r == expected)
            .then_output(|| ModifyClusterOutput::builder().build());
        let mocks = MockResponseInterceptor::new()
            .rule_mode(RuleMode::Sequential)
            .with_rule(&m);
        let ctx = mock_ctx(mocks, RedshiftCluster::READS, RedshiftCluster::WRITES);
        RedshiftCluster::apply(
            &ctx,
            "analytics",
            &cluster(false, 7),
            &[
                Change::EnablePublicAccess,
                Change::SetAutomatedSnapshotRetention { days: 0 },
            ],
        )
        .await
        .unwrap();
        assert_eq!(m.num_calls(), 1);
    }

    #[tokio::test]
    async fn read_maps_not_found_to_none_and_reads_pending_values_and_tags() {
        let gone = mock!(aws_sdk_redshift::Client::describe_clusters).then_error(not_found);
        let found = mock!(aws_sdk_redshift::Client::describe_clusters)
            .match_requests(|r| r.cluster_identifier() == Some("analytics"))
            .then_output(|| {
                DescribeClustersOutput::builder()
                    .clusters(
                        aws_sdk_redshift::types::Cluster::builder()
                            .cluster_identifier("analytics")
                            .publicly_accessible(true)
                            .automated_snapshot_retention_period(0)
                            .pending_modified_values(
                                PendingModifiedValues::builder().publicly_accessible(false).build(),
                            )
                            .tags(Tag::builder().key("team").value("data").build())
                            .build(),
                    )
                    .build()
            });
        let mocks = MockResponseInterceptor::new()
            .rule_mode(RuleMode::Sequential)
            .with_rule(&gone)
            .with_rule(&found);
        let ctx = mock_ctx(mocks, RedshiftCluster::READS, &[]);
        assert!(RedshiftCluster::read(&ctx, "analytics", Tags::Read)
            .await
            .unwrap()
            .is_none());
        let r = RedshiftCluster::read(&ctx, "analytics", Tags::Read)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            r.state,
            Cluster {
                pending_publicly_accessible: Some(false),
                ..cluster(true, 0)
            }
        );
        assert_eq!(r.tags.get("team").map(String::as_str), Some("data"));
    }
}
