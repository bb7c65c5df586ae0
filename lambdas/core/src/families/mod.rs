//! The code behind each rule family, selected by the catalog's `family` through the registry
//! below. A family is one module implementing [`helpers::family::RuleFamily`]; adding one is that module,
//! one line in [`FAMILIES`], catalog entries and its tests, and no edit in another family.
//!
//! Every family offers the same steps, all re-reading live state: [`inspect`] (read the
//! resource, list what fails the rule, derive the minimal plan), [`apply`] (perform a plan derived
//! from a fresh inspection) and, through [`inspect`] again, verification. Handlers never branch on
//! a rule id or a family.

pub mod helpers;

pub mod cloudformation_termination_protection;
pub mod cloudtrail_multi_region;
pub mod cloudtrail_public_bucket;
pub mod config_recorder;
pub mod ec2_world_port;
pub mod guardduty_detector;
pub mod iam_exposed_key;
pub mod iam_key_age;
pub mod kinesis_encryption;
pub mod kms_key_rotation;
pub mod kms_pending_deletion;
pub mod lambda_tracing;
pub mod organizations_all_features;
pub mod public_share;
pub mod rds_instance;
pub mod redshift_cluster;
pub mod redshift_user_activity_logging;
pub mod s3_acl;
pub mod s3_bucket_policy;
pub mod s3_default_encryption;
pub mod s3_versioning;
pub mod sqs_encryption;
pub mod vpc_flow_logs;

use std::collections::BTreeMap;

use helpers::family::{DynFamily, Erased};
pub use helpers::family::{ResourceState, Tags, Target};
use public_share::PublicShare;

use crate::aws::Ctx;
use crate::error::Error;
use crate::finding::Finding;
use crate::plan::Plan;
use crate::spec::RuleSpec;

/// Every rule family, by the name the catalog uses.
pub static FAMILIES: &[&dyn DynFamily] = &[
    &Erased::<s3_acl::S3Acl>::NEW,
    &Erased::<ec2_world_port::Ec2WorldPort>::NEW,
    &Erased::<s3_versioning::S3Versioning>::NEW,
    &Erased::<s3_default_encryption::S3DefaultEncryption>::NEW,
    &Erased::<PublicShare<public_share::ec2_public_ami::Ami>>::NEW,
    &Erased::<PublicShare<public_share::ebs_public_snapshot::EbsSnapshot>>::NEW,
    &Erased::<vpc_flow_logs::VpcFlowLogs>::NEW,
    &Erased::<cloudformation_termination_protection::CfnTerminationProtection>::NEW,
    &Erased::<kinesis_encryption::KinesisEncryption>::NEW,
    &Erased::<sqs_encryption::SqsEncryption>::NEW,
    &Erased::<lambda_tracing::LambdaTracing>::NEW,
    &Erased::<organizations_all_features::OrganizationsAllFeatures>::NEW,
    &Erased::<iam_key_age::IamKeyAge>::NEW,
    &Erased::<iam_exposed_key::IamExposedKey>::NEW,
    &Erased::<kms_key_rotation::KmsKeyRotation>::NEW,
    &Erased::<kms_pending_deletion::KmsPendingDeletion>::NEW,
    &Erased::<guardduty_detector::GuardDutyDetector>::NEW,
    &Erased::<s3_bucket_policy::S3BucketPolicy>::NEW,
    &Erased::<cloudtrail_public_bucket::CloudTrailPublicBucket>::NEW,
    &Erased::<cloudtrail_multi_region::CloudTrailMultiRegion>::NEW,
    &Erased::<config_recorder::ConfigRecorder>::NEW,
    &Erased::<rds_instance::RdsInstance>::NEW,
    &Erased::<PublicShare<public_share::rds_public_snapshot::DbSnapshot>>::NEW,
    &Erased::<redshift_cluster::RedshiftCluster>::NEW,
    &Erased::<redshift_user_activity_logging::RedshiftUserActivityLogging>::NEW,
];

/// The family named `name`.
pub fn family(name: &str) -> Option<&'static dyn DynFamily> {
    FAMILIES.iter().copied().find(|f| f.name() == name)
}

/// A family's AWS context, bound here where the registry meets the context (the context itself
/// knows no family).
impl crate::aws::Aws {
    /// What a rule family acts with: bound to the scope's region, limited to its declared
    /// actions, and in another account with the member role's credentials (a session policy
    /// narrows them to the same actions).
    /// Where `spec`'s family acts for `finding`: its account and region, its declared actions.
    pub async fn family_ctx(
        &self,
        finding: &Finding,
        spec: &RuleSpec,
        member: crate::aws::Member<'_>,
    ) -> Result<Ctx, Error> {
        let family = spec.family_impl();
        let scope = crate::aws::Scope {
            account: &finding.account_id,
            region: &finding.region,
            family: family.name(),
            reads: family.reads(),
            writes: if member.writes { family.writes() } else { &[] },
            conditions: family.conditions(),
        };
        self.ctx(scope, member).await
    }
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
/// For an undo run (`finding.undo`): what differs from the recorded before-state, and the plan
/// that restores it (refused when the resource changed since the fix). The record is the
/// ledger's ([`crate::undo::load`], attached to the context by `Deps::ctx`); without it an undo
/// is refused (`CannotUndo`), never planned from input.
pub fn assess(spec: &RuleSpec, finding: &Finding, state: &ResourceState) -> Result<(Vec<String>, Plan), Error> {
    assess_recorded(spec, finding, state, None)
}

/// [`assess`], with the ledger's record of the fix an undo run undoes.
pub fn assess_recorded(
    spec: &RuleSpec,
    finding: &Finding,
    state: &ResourceState,
    recorded: Option<&crate::finding::Recorded>,
) -> Result<(Vec<String>, Plan), Error> {
    match (&finding.undo, recorded) {
        (Some(undo), Some(r)) if r.execution == undo.execution => spec.family_impl().restore(state, r, target(finding)),
        (Some(undo), _) => Err(Error::CannotUndo(format!(
            "no recorded fix was loaded for {}",
            crate::state::execution_name(&undo.execution)
        ))),
        (None, _) => spec.family_impl().assess(state, &spec.params, target(finding)),
    }
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
    let (offending, plan) = assess_recorded(spec, finding, &state, ctx.recorded())?;
    Ok(Some(Inspection {
        state,
        tags: live_tags,
        offending,
        plan,
    }))
}

/// Applies the plan of a fresh inspection; the state it leaves, with the ids AWS returned for
/// what it created ([`helpers::family::RuleFamily::apply_recorded`]).
pub async fn apply(
    ctx: &Ctx,
    spec: &RuleSpec,
    finding: &Finding,
    inspection: &Inspection,
) -> Result<ResourceState, Error> {
    spec.family_impl()
        .apply(ctx, &finding.resource, &inspection.state, &inspection.plan)
        .await
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::PathBuf;

    use super::*;
    use crate::catalog::Catalog;
    use crate::intake::{conformity, Intake, IntakeCtx};

    use crate::aws::{session_policy, session_policy_size};

    #[test]
    fn every_family_is_named_once_used_by_a_rule_and_declares_exact_actions() {
        let mut names = BTreeSet::new();
        for f in FAMILIES {
            assert!(names.insert(f.name()), "family {} registered twice", f.name());
            assert!(
                Catalog::builtin().rules().any(|r| r.family == f.name()),
                "family {} heals no catalog rule",
                f.name()
            );
            assert!(!f.reads().is_empty() && !f.writes().is_empty(), "{}", f.name());
            for a in f.reads().iter().chain(f.writes()) {
                let (svc, op) = a.split_once(':').unwrap_or_default();
                assert!(
                    !svc.is_empty()
                        && op.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                        && op.chars().all(|c| c.is_ascii_alphanumeric()),
                    "{}: {a:?} is not one IAM action",
                    f.name()
                );
            }
            let doc = f.doc();
            assert!(
                ["local stack", "request-level"].contains(&doc.tested),
                "{}: tested = {:?}",
                f.name(),
                doc.tested
            );
        }
    }

    /// Whether a module doc line says what a family's `DOC` says (RULES.md's text, written once).
    fn repeats_doc(line: &str) -> bool {
        let words = line.trim_start_matches("//!").trim_start();
        ["Changes", "Never touches", "Undo"]
            .iter()
            .any(|w| words.strip_prefix(w).is_some_and(|rest| rest.starts_with([':', ','])))
    }

    /// A family's human text is written once, in its `DOC` (RULES.md is generated from it): no
    /// module header under families/ repeats it as "Changes:", "Never touches:" or "Undo:" lines
    /// (a planted one is found), and every field of every family's `DOC` is written.
    #[test]
    fn each_familys_text_is_its_doc_alone_and_every_doc_field_is_written() {
        fn sources(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).expect("families/") {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    sources(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    out.push(path);
                }
            }
        }
        assert!(repeats_doc("//! Changes: `PutBucketVersioning`") && repeats_doc("//! Changes, per rule:"));
        assert!(repeats_doc("//! Never touches: objects") && repeats_doc("//! Undo: the same call"));
        assert!(!repeats_doc(
            "//! What a fix changes, never touches and how it is undone: [`S3Acl::DOC`]"
        ));
        let mut files = Vec::new();
        sources(
            &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/families"),
            &mut files,
        );
        assert!(files.len() > FAMILIES.len(), "{} files", files.len());
        for path in &files {
            let text = std::fs::read_to_string(path).unwrap();
            for line in text.lines().take_while(|l| l.starts_with("//!")) {
                assert!(
                    !repeats_doc(line),
                    "{}: {line:?} repeats the family's DOC (RULES.md); say it there only",
                    path.display()
                );
            }
        }
        for f in FAMILIES {
            let d = f.doc();
            for (field, text) in [
                ("changes", d.changes),
                ("never", d.never),
                ("undo", d.undo),
                ("tested", d.tested),
            ] {
                assert!(!text.trim().is_empty(), "{}: DOC.{field} is empty", f.name());
            }
        }
    }

    /// tests/fixtures/conformity/<RULE>.json: a Conformity message for every catalog rule (written
    /// by tests/fixtures/make_conformity.py), which parses into a finding for that rule whose
    /// resource has the family's id shape.
    #[test]
    fn every_rule_has_a_conformity_fixture_that_parses_into_its_finding() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/conformity");
        let catalog = Catalog::builtin();
        let mut seen = BTreeSet::new();
        for entry in std::fs::read_dir(&dir).expect("the fixtures directory") {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let finding = match conformity::parse(&text, &IntakeCtx::new(catalog, "us-east-1")) {
                Ok(Intake::Failure(f)) => *f,
                other => panic!("{}: {other:?}", path.display()),
            };
            let spec = catalog.require(&finding.rule_id).unwrap();
            assert_eq!(
                path.file_stem().and_then(|s| s.to_str()),
                Some(spec.id.as_str()),
                "{}",
                path.display()
            );
            assert!(spec.family_impl().valid_id(&finding.resource), "{}", path.display());
            assert!(
                !text.contains(&format!("ccrn:aws:{}", finding.account_id)),
                "{}: the real shape has Conformity's account id in the ccrn",
                path.display()
            );
            seen.insert(spec.id.clone());
        }
        let missing: Vec<_> = catalog
            .rules()
            .map(|r| &r.id)
            .filter(|id| !seen.contains(*id))
            .collect();
        assert!(missing.is_empty(), "rules without a fixture: {missing:?}");
    }

    /// A session that only reads (the read role's) grants no write, not even one the family
    /// declares a condition for.
    #[test]
    fn a_read_session_policy_grants_no_write_and_no_conditioned_write() {
        for f in FAMILIES {
            let p: serde_json::Value = serde_json::from_str(&session_policy(f.reads(), &[], f.conditions())).unwrap();
            let granted: Vec<&str> = p["Statement"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|s| match &s["Action"] {
                    serde_json::Value::Array(a) => a.iter().filter_map(|v| v.as_str()).collect(),
                    v => vec![v.as_str().unwrap()],
                })
                .collect();
            let writes: Vec<&&str> = f.writes().iter().filter(|w| !f.reads().contains(w)).collect();
            assert!(
                granted.iter().all(|a| !writes.contains(&a)),
                "{}: {granted:?} holds a write",
                f.name()
            );
            let mut reads: Vec<&str> = f.reads().to_vec();
            reads.sort_unstable();
            reads.dedup();
            let mut g = granted.clone();
            g.sort_unstable();
            assert_eq!(g, reads, "{}", f.name());
        }
    }

    /// Every family's member session policy fits STS's 2,048 characters (sizes printed with
    /// `--nocapture`); a family declaring far more actions would not, and is found.
    #[test]
    fn every_familys_session_policy_fits_sts_limit_and_an_oversized_one_is_found() {
        for f in FAMILIES {
            let policy = session_policy(f.reads(), f.writes(), f.conditions());
            match session_policy_size(&policy) {
                Ok(n) => println!("session policy {}: {n} characters", f.name()),
                Err(e) => panic!("{}: {e}", f.name()),
            }
        }
        let many: Vec<String> = (0..80).map(|i| format!("ec2:DescribeSomething{i:02}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let err = session_policy_size(&session_policy(&many, &[], &[])).unwrap_err();
        assert!(err.contains("exceed STS's 2048"), "{err}");
    }
}
