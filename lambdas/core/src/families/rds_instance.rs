//! RDS DB instance settings: RDS-008 (publicly accessible) and RDS-006 (auto minor version
//! upgrade off). The catalog entry's `setting` names the one setting a rule heals.
//!
//! What a fix changes, never touches and how it is undone: [`RdsInstance::DOC`] (RULES.md is
//! generated from it). `ApplyImmediately=false` keeps what the owner queued for the maintenance
//! window queued; AWS applies both settings without waiting for the window anyway.
//!
//! RDS reports no pending value for these two settings (`PendingModifiedValues` has neither):
//! the change shows in `DescribeDBInstances` once the modification completes, which takes
//! minutes on AWS; Verify re-reads for [`RdsInstance::SETTLE`].

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::aws::Ctx;
use crate::error::Error;
use crate::families::helpers::family::{Assessment, FamilyDoc, Read, RuleFamily, Tags, Target};
use crate::families::helpers::kit;
use crate::ids;
use crate::plan::Describe;

/// The family: `rds-instance` in the catalog.
pub struct RdsInstance;

pub const DESCRIBE_DB_INSTANCES: &str = "rds:DescribeDBInstances";
pub const MODIFY_DB_INSTANCE: &str = "rds:ModifyDBInstance";

/// The setting a rule heals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Setting {
    /// RDS-008: the instance must not be publicly accessible.
    PubliclyAccessible,
    /// RDS-006: minor engine upgrades must be applied automatically.
    AutoMinorVersionUpgrade,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub setting: Setting,
}

/// A DB instance's rule-relevant settings as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    pub publicly_accessible: bool,
    pub auto_minor_version_upgrade: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action")]
pub enum Change {
    /// `PubliclyAccessible=false`.
    #[serde(rename = "rds:DisablePublicAccess")]
    DisablePublicAccess,
    /// `AutoMinorVersionUpgrade=true`.
    #[serde(rename = "rds:EnableAutoMinorVersionUpgrade")]
    EnableAutoMinorVersionUpgrade,
    /// `PubliclyAccessible=true` (an undo: the recorded instance was publicly accessible).
    #[serde(rename = "rds:EnablePublicAccess")]
    EnablePublicAccess,
    /// `AutoMinorVersionUpgrade=false` (an undo: the recorded instance had it off).
    #[serde(rename = "rds:DisableAutoMinorVersionUpgrade")]
    DisableAutoMinorVersionUpgrade,
}

impl Describe for Change {
    fn describe(&self) -> String {
        match self {
            Change::DisablePublicAccess => "set PubliclyAccessible=false (applied immediately)".into(),
            Change::EnableAutoMinorVersionUpgrade => "set AutoMinorVersionUpgrade=true (applied immediately)".into(),
            Change::EnablePublicAccess => {
                "set PubliclyAccessible=true again, as recorded before the fix (applied immediately)".into()
            }
            Change::DisableAutoMinorVersionUpgrade => {
                "set AutoMinorVersionUpgrade=false again, as recorded before the fix (applied immediately)".into()
            }
        }
    }
}

/// The access RDS-008 takes away, as an approver agrees to it.
pub const PUBLIC_ACCESS: &str = "public accessibility of the endpoint (PubliclyAccessible=true)";

impl RuleFamily for RdsInstance {
    const NAME: &'static str = "rds-instance";
    const DOC: FamilyDoc = FamilyDoc {
        changes: "one ModifyDBInstance with only the flagged setting (PubliclyAccessible=false or AutoMinorVersionUpgrade=true) and ApplyImmediately=false (changes queued for the maintenance window stay queued)",
        never: "security groups, subnets, parameter groups, class, storage, engine version, backups, the data, the other setting",
        undo: "one ModifyDBInstance setting back only the setting the fix changed to its recorded value (PubliclyAccessible=true or AutoMinorVersionUpgrade=false) with ApplyImmediately=false as the fix used (changes queued for the maintenance window stay queued)",
        tested: "local stack",
    };
    const RESOURCE: &'static str = "RDS DB instance identifier";
    const READS: &'static [&'static str] = &[DESCRIBE_DB_INSTANCES];
    const WRITES: &'static [&'static str] = &[MODIFY_DB_INSTANCE];
    /// A modification applied immediately still takes minutes on AWS.
    const SETTLE: Duration = Duration::from_secs(20 * 60);
    type Params = Params;
    type State = Instance;
    type Change = Change;

    fn valid_id(id: &str) -> bool {
        ids::is_db_identifier(id, 63)
    }

    async fn read(ctx: &Ctx, instance: &str, tags: Tags) -> Result<Option<Read<Instance>>, Error> {
        let rds = crate::sdk_client!(ctx, aws_sdk_rds);
        let got = rds
            .describe_db_instances()
            .db_instance_identifier(instance)
            .send()
            .await
            .map_err(|e| Error::from_sdk(DESCRIBE_DB_INSTANCES, e));
        let Some(db) = kit::gone_if(got, &["DBInstanceNotFound"])?.and_then(|out| {
            out.db_instances()
                .iter()
                .find(|d| d.db_instance_identifier() == Some(instance))
                .cloned()
        }) else {
            return Ok(None);
        };
        let state = Instance {
            publicly_accessible: db.publicly_accessible().unwrap_or(false),
            auto_minor_version_upgrade: db.auto_minor_version_upgrade().unwrap_or(false),
        };
        Ok(Some(kit::read(state, rds_tags(db.tag_list()), tags)))
    }

    fn assess(s: &Instance, p: &Params, t: Target<'_>) -> Assessment<Change> {
        let db = t.resource;
        let (failing, change, offending, summary) = match p.setting {
            Setting::PubliclyAccessible => (
                s.publicly_accessible,
                Change::DisablePublicAccess,
                "publicly accessible (PubliclyAccessible=true)",
                if s.publicly_accessible {
                    format!("stop DB instance {db} being publicly accessible")
                } else {
                    format!("DB instance {db} is not publicly accessible: nothing to change")
                },
            ),
            Setting::AutoMinorVersionUpgrade => (
                !s.auto_minor_version_upgrade,
                Change::EnableAutoMinorVersionUpgrade,
                "auto minor version upgrade off",
                if s.auto_minor_version_upgrade {
                    format!("DB instance {db} already upgrades minor versions automatically: nothing to change")
                } else {
                    format!("turn on auto minor version upgrade for DB instance {db}")
                },
            ),
        };
        let mut plan = t.plan(summary, if failing { vec![change] } else { Vec::new() });
        plan.untouched = vec![
            "security groups, subnets and parameter groups".into(),
            "class, storage, engine version, backups and the data".into(),
            match p.setting {
                Setting::PubliclyAccessible => "auto minor version upgrade".into(),
                Setting::AutoMinorVersionUpgrade => "public accessibility".into(),
            },
        ];
        if failing && p.setting == Setting::PubliclyAccessible {
            plan.removes = vec![PUBLIC_ACCESS.into()];
        }
        Assessment {
            offending: if failing { vec![offending.into()] } else { Vec::new() },
            plan,
        }
    }

    /// One `ModifyDBInstance` with every change (a second one could meet an instance still modifying).
    async fn apply(ctx: &Ctx, instance: &str, _: &Instance, changes: &[Change]) -> Result<(), Error> {
        if changes.is_empty() {
            return Ok(());
        }
        let rds = crate::sdk_client!(ctx, aws_sdk_rds);
        let mut req = rds
            .modify_db_instance()
            .db_instance_identifier(instance)
            // Not `true`: that would also apply, now, every modification the owner queued for the
            // maintenance window. Neither setting needs it: AWS applies PubliclyAccessible at once
            // whatever ApplyImmediately says, and AutoMinorVersionUpgrade as soon as possible.
            .apply_immediately(false);
        for c in changes {
            req = match c {
                Change::DisablePublicAccess => req.publicly_accessible(false),
                Change::EnableAutoMinorVersionUpgrade => req.auto_minor_version_upgrade(true),
                Change::EnablePublicAccess => req.publicly_accessible(true),
                Change::DisableAutoMinorVersionUpgrade => req.auto_minor_version_upgrade(false),
            };
        }
        req.send()
            .await
            .map(|_| ())
            .map_err(|e| Error::from_sdk(MODIFY_DB_INSTANCE, e))
    }

    fn simulate(s: &Instance, changes: &[Change]) -> Instance {
        let mut out = s.clone();
        for c in changes {
            match c {
                Change::DisablePublicAccess => out.publicly_accessible = false,
                Change::EnableAutoMinorVersionUpgrade => out.auto_minor_version_upgrade = true,
                Change::EnablePublicAccess => out.publicly_accessible = true,
                Change::DisableAutoMinorVersionUpgrade => out.auto_minor_version_upgrade = false,
            }
        }
        out
    }

    /// The undo: each setting that differs from the record, set back to it (one call).
    fn revert(live: &Instance, before: &Instance) -> Option<Vec<Change>> {
        let public = kit::set_back(
            live.publicly_accessible,
            before.publicly_accessible,
            Change::EnablePublicAccess,
            Change::DisablePublicAccess,
        );
        let minor = kit::set_back(
            live.auto_minor_version_upgrade,
            before.auto_minor_version_upgrade,
            Change::EnableAutoMinorVersionUpgrade,
            Change::DisableAutoMinorVersionUpgrade,
        );
        Some(public.into_iter().chain(minor).collect())
    }

    fn diff(before: &Instance, after: &Instance) -> Vec<String> {
        [
            kit::changed(
                "PubliclyAccessible",
                before.publicly_accessible,
                after.publicly_accessible,
            ),
            kit::changed(
                "AutoMinorVersionUpgrade",
                before.auto_minor_version_upgrade,
                after.auto_minor_version_upgrade,
            ),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// RDS tags as a map (for exclusion tags).
pub fn rds_tags(tags: &[aws_sdk_rds::types::Tag]) -> BTreeMap<String, String> {
    kit::tag_map(tags.iter().map(|t| (t.key(), t.value())))
}

/// A context whose clients answer from `mocks` and carry the guard of `reads` and `writes`
/// (request-level tests of the RDS and Redshift families).
#[cfg(test)]
pub(crate) fn mock_ctx(
    mocks: aws_smithy_mocks::MockResponseInterceptor,
    reads: &'static [&'static str],
    writes: &'static [&'static str],
) -> Ctx {
    crate::families::helpers::mock_ctx::with_mocks(reads, writes, mocks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_rds::operation::describe_db_instances::DescribeDbInstancesOutput;
    use aws_sdk_rds::operation::modify_db_instance::{ModifyDbInstanceInput, ModifyDbInstanceOutput};
    use aws_sdk_rds::types::{DbInstance, Tag};
    use aws_smithy_mocks::{mock, MockResponseInterceptor, RuleMode};

    fn target(rule_id: &'static str) -> Target<'static> {
        Target {
            rule_id,
            resource: "prod-db",
            region: "us-east-1",
        }
    }

    const PUBLIC: Params = Params {
        setting: Setting::PubliclyAccessible,
    };
    const MINOR: Params = Params {
        setting: Setting::AutoMinorVersionUpgrade,
    };

    #[test]
    fn a_public_instance_is_made_private_and_nothing_else() {
        let s = Instance {
            publicly_accessible: true,
            auto_minor_version_upgrade: false,
        };
        let a = RdsInstance::assess(&s, &PUBLIC, target("RDS-008"));
        assert_eq!(a.plan.changes, vec![Change::DisablePublicAccess]);
        assert_eq!(a.plan.removes, vec![PUBLIC_ACCESS]);
        assert_eq!(a.offending, vec!["publicly accessible (PubliclyAccessible=true)"]);
        assert!(a.plan.untouched.contains(&"auto minor version upgrade".to_string()));
        let after = RdsInstance::simulate(&s, &a.plan.changes);
        assert_eq!(
            after,
            Instance {
                publicly_accessible: false,
                auto_minor_version_upgrade: false,
            },
            "the other setting stays off"
        );
        assert_eq!(RdsInstance::diff(&s, &after), vec!["PubliclyAccessible true → false"]);
        assert!(RdsInstance::assess(&after, &PUBLIC, target("RDS-008")).plan.is_empty());
    }

    #[test]
    fn auto_minor_upgrade_off_is_turned_on_and_removes_no_access() {
        let s = Instance {
            publicly_accessible: true,
            auto_minor_version_upgrade: false,
        };
        let a = RdsInstance::assess(&s, &MINOR, target("RDS-006"));
        assert_eq!(a.plan.changes, vec![Change::EnableAutoMinorVersionUpgrade]);
        assert!(a.plan.removes.is_empty());
        let after = RdsInstance::simulate(&s, &a.plan.changes);
        assert!(after.publicly_accessible, "RDS-006 leaves public accessibility alone");
        assert_eq!(
            RdsInstance::diff(&s, &after),
            vec!["AutoMinorVersionUpgrade false → true"]
        );
        let ok = Instance {
            publicly_accessible: false,
            auto_minor_version_upgrade: true,
        };
        for p in [PUBLIC, MINOR] {
            let a = RdsInstance::assess(&ok, &p, target("RDS-006"));
            assert!(a.plan.is_empty() && a.offending.is_empty());
        }
    }

    #[test]
    fn params_name_a_known_setting_and_nothing_else() {
        let p: Params = serde_json::from_value(serde_json::json!({"setting": "publicly_accessible"})).unwrap();
        assert_eq!(p.setting, Setting::PubliclyAccessible);
        for bad in [
            serde_json::json!({}),
            serde_json::json!({"setting": "multi_az"}),
            serde_json::json!({"setting": "publicly_accessible", "extra": 1}),
        ] {
            assert!(serde_json::from_value::<Params>(bad.clone()).is_err(), "{bad}");
        }
    }

    fn expected(
        f: impl FnOnce(
            aws_sdk_rds::operation::modify_db_instance::builders::ModifyDbInstanceInputBuilder,
        ) -> aws_sdk_rds::operation::modify_db_instance::builders::ModifyDbInstanceInputBuilder,
    ) -> ModifyDbInstanceInput {
        f(ModifyDbInstanceInput::builder()
            .db_instance_identifier("prod-db")
            .apply_immediately(false))
        .build()
        .unwrap()
    }

    #[tokio::test]
    async fn apply_sends_one_modify_with_only_the_flagged_settings_and_leaves_queued_changes_queued() {
        let public = expected(|b| b.publicly_accessible(false));
        let both = expected(|b| b.publicly_accessible(false).auto_minor_version_upgrade(true));
        let m1 = mock!(aws_sdk_rds::Client::modify_db_instance)
            .match_requests(move |r| *r == public)
            .then_output(|| ModifyDbInstanceOutput::builder().build());
        let m2 = mock!(aws_sdk_rds::Client::modify_db_instance)
            .match_requests(move |r| *r == both)
            .then_output(|| ModifyDbInstanceOutput::builder().build());
        let mocks = MockResponseInterceptor::new()
            .rule_mode(RuleMode::Sequential)
            .with_rule(&m1)
            .with_rule(&m2);
        let ctx = mock_ctx(mocks, RdsInstance::READS, RdsInstance::WRITES);
        let s = Instance {
            publicly_accessible: true,
            auto_minor_version_upgrade: false,
        };
        RdsInstance::apply(&ctx, "prod-db", &s, &[Change::DisablePublicAccess])
            .await
            .unwrap();
        RdsInstance::apply(
            &ctx,
            "prod-db",
            &s,
            &[Change::DisablePublicAccess, Change::EnableAutoMinorVersionUpgrade],
        )
        .await
        .unwrap();
        RdsInstance::apply(&ctx, "prod-db", &s, &[]).await.unwrap();
        assert_eq!((m1.num_calls(), m2.num_calls()), (1, 1));
    }

    #[test]
    fn fix_then_revert_is_the_before_state_and_touches_only_the_fixed_setting() {
        let before = Instance {
            publicly_accessible: true,
            auto_minor_version_upgrade: false,
        };
        for (p, rule, want) in [
            (PUBLIC, "RDS-008", Change::EnablePublicAccess),
            (MINOR, "RDS-006", Change::DisableAutoMinorVersionUpgrade),
        ] {
            let fixed = RdsInstance::simulate(&before, &RdsInstance::assess(&before, &p, target(rule)).plan.changes);
            let undo = RdsInstance::revert(&fixed, &before).unwrap();
            assert_eq!(undo, vec![want], "{rule}");
            assert_eq!(RdsInstance::simulate(&fixed, &undo), before);
        }
        assert!(RdsInstance::revert(&before, &before).unwrap().is_empty());
    }

    #[tokio::test]
    async fn the_undo_sends_one_modify_with_only_the_recorded_values_and_apply_immediately_false() {
        let both = expected(|b| b.publicly_accessible(true).auto_minor_version_upgrade(false));
        let m = mock!(aws_sdk_rds::Client::modify_db_instance)
            .match_requests(move |r| *r == both)
            .then_output(|| ModifyDbInstanceOutput::builder().build());
        let mocks = MockResponseInterceptor::new()
            .rule_mode(RuleMode::Sequential)
            .with_rule(&m);
        let ctx = mock_ctx(mocks, RdsInstance::READS, RdsInstance::WRITES);
        let s = Instance {
            publicly_accessible: false,
            auto_minor_version_upgrade: true,
        };
        RdsInstance::apply(
            &ctx,
            "prod-db",
            &s,
            &[Change::EnablePublicAccess, Change::DisableAutoMinorVersionUpgrade],
        )
        .await
        .unwrap();
        assert_eq!(m.num_calls(), 1);
    }

    #[tokio::test]
    async fn read_maps_not_found_to_none_and_takes_tags_from_the_tag_list() {
        let gone = mock!(aws_sdk_rds::Client::describe_db_instances)
            .match_requests(|r| r.db_instance_identifier() == Some("prod-db"))
            .then_error(|| {
                aws_sdk_rds::operation::describe_db_instances::DescribeDBInstancesError::DbInstanceNotFoundFault(
                    aws_sdk_rds::types::error::DbInstanceNotFoundFault::builder()
                        .meta(
                            aws_smithy_types::error::ErrorMetadata::builder()
                                .code("DBInstanceNotFound")
                                .message("DBInstance prod-db not found.")
                                .build(),
                        )
                        .build(),
                )
            });
        let found = mock!(aws_sdk_rds::Client::describe_db_instances)
            .match_requests(|r| r.db_instance_identifier() == Some("prod-db"))
            .then_output(|| {
                DescribeDbInstancesOutput::builder()
                    .db_instances(
                        DbInstance::builder()
                            .db_instance_identifier("prod-db")
                            .publicly_accessible(true)
                            .auto_minor_version_upgrade(true)
                            .tag_list(Tag::builder().key("auto-remediate").value("skip").build())
                            .build(),
                    )
                    .build()
            });
        let mocks = MockResponseInterceptor::new()
            .rule_mode(RuleMode::Sequential)
            .with_rule(&gone)
            .with_rule(&found);
        let ctx = mock_ctx(mocks, RdsInstance::READS, &[]);
        assert!(RdsInstance::read(&ctx, "prod-db", Tags::Read).await.unwrap().is_none());
        let r = RdsInstance::read(&ctx, "prod-db", Tags::Read).await.unwrap().unwrap();
        assert_eq!(
            r.state,
            Instance {
                publicly_accessible: true,
                auto_minor_version_upgrade: true,
            }
        );
        assert_eq!(r.tags.get("auto-remediate").map(String::as_str), Some("skip"));
    }

    #[tokio::test]
    async fn a_write_the_context_does_not_declare_is_refused_before_it_is_sent() {
        let modify =
            mock!(aws_sdk_rds::Client::modify_db_instance).then_output(|| ModifyDbInstanceOutput::builder().build());
        let mocks = MockResponseInterceptor::new()
            .rule_mode(RuleMode::Sequential)
            .with_rule(&modify);
        // A context that declares the reads only.
        let ctx = mock_ctx(mocks, RdsInstance::READS, &[]);
        let s = Instance {
            publicly_accessible: true,
            auto_minor_version_upgrade: true,
        };
        let err = RdsInstance::apply(&ctx, "prod-db", &s, &[Change::DisablePublicAccess])
            .await
            .unwrap_err();
        assert!(matches!(err, Error::UndeclaredAction(_)), "{err}");
    }
}
