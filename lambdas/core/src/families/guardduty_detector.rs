//! GD-001: GuardDuty is off in a region (no detector, or a suspended one).
//!
//! Resource: what Conformity names for this region-level check: the region itself
//! (`us-east-1`, which must be the finding's region) or the region's detector id (32 hex
//! digits; if that detector no longer exists the finding is stale and nothing is done).
//!
//! What a fix changes, never touches and how it is undone: [`GuardDutyDetector::DOC`] (RULES.md
//! is generated from it). The undo deletes only the detector id the fix recorded as its
//! after-state; a detector that appeared while the fix ran and was only enabled is refused by name.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::aws::Ctx;
use crate::error::Error;
use crate::families::helpers::family::{
    ActionCondition, Assessment, FamilyDoc, NoParams, Placement, Read, RuleFamily, Tags, Target,
};
use crate::plan::Describe;

/// The family: `guardduty-detector` in the catalog.
pub struct GuardDutyDetector;

const LIST_DETECTORS: &str = "guardduty:ListDetectors";
const GET_DETECTOR: &str = "guardduty:GetDetector";
const CREATE_DETECTOR: &str = "guardduty:CreateDetector";
const UPDATE_DETECTOR: &str = "guardduty:UpdateDetector";
/// An undo only: the detector the fix created, deleted.
const DELETE_DETECTOR: &str = "guardduty:DeleteDetector";

/// The id a detector the plan creates has in the simulated state, until the apply returns AWS's.
pub const NEW: &str = "(new)";
pub const DISABLED: &str = "DISABLED";

pub const ENABLED: &str = "ENABLED";

/// Its rules take no parameters.
pub type Params = NoParams;

/// One detector as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Detector {
    pub id: String,
    /// `ENABLED` or `DISABLED`.
    pub status: String,
}

/// The region's detectors as read (AWS allows one per account and region).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Detectors {
    pub region: String,
    pub detectors: Vec<Detector>,
    /// The detector the finding names, when its resource is a detector id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action")]
pub enum Change {
    /// `CreateDetector Enable=true`.
    #[serde(rename = "guardduty:CreateDetector")]
    Create,
    /// `UpdateDetector Enable=true` on that detector.
    #[serde(rename = "guardduty:EnableDetector")]
    Enable { detector_id: String },
    /// An undo's: `UpdateDetector Enable=false` on a detector recorded suspended before the fix.
    #[serde(rename = "guardduty:SuspendDetector")]
    Suspend { detector_id: String },
    /// An undo's: `DeleteDetector` on the detector the fix created.
    #[serde(rename = "guardduty:DeleteDetector")]
    Delete { detector_id: String },
}

impl Describe for Change {
    fn describe(&self) -> String {
        match self {
            Change::Create => "create a GuardDuty detector, enabled".into(),
            Change::Enable { detector_id } => format!("enable (un-suspend) GuardDuty detector {detector_id}"),
            Change::Suspend { detector_id } => {
                format!("suspend GuardDuty detector {detector_id} again (suspended before the fix)")
            }
            Change::Delete { detector_id } => {
                format!("delete GuardDuty detector {detector_id}, the one the fix created (none before it)")
            }
        }
    }
}

/// A detector id: 32 lowercase hex digits.
pub fn is_detector_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

fn client(ctx: &Ctx) -> aws_sdk_guardduty::Client {
    crate::sdk_client!(ctx, aws_sdk_guardduty)
}

/// What the plan is for this state: the changes and one line of what fails.
fn needed(s: &Detectors) -> (Vec<Change>, Vec<String>) {
    let considered: Vec<&Detector> = s
        .detectors
        .iter()
        .filter(|d| s.only.as_deref().is_none_or(|o| o == d.id))
        .collect();
    if considered.iter().any(|d| d.status == ENABLED) {
        return (Vec::new(), Vec::new());
    }
    match considered.first() {
        None => (
            vec![Change::Create],
            vec![format!("GuardDuty has no detector in {}", s.region)],
        ),
        Some(d) => (
            vec![Change::Enable {
                detector_id: d.id.clone(),
            }],
            vec![format!("GuardDuty detector {} in {} is {}", d.id, s.region, d.status)],
        ),
    }
}

async fn list(gd: &aws_sdk_guardduty::Client) -> Result<Vec<String>, Error> {
    let mut ids = Vec::new();
    let mut pages = gd.list_detectors().into_paginator().send();
    while let Some(out) = pages.next().await {
        let out = out.map_err(|e| Error::from_sdk(LIST_DETECTORS, e))?;
        ids.extend(out.detector_ids().iter().cloned());
    }
    Ok(ids)
}

/// The region's detectors with their status, and the tags of the first one.
async fn detectors(gd: &aws_sdk_guardduty::Client) -> Result<(Vec<Detector>, BTreeMap<String, String>), Error> {
    let mut out = Vec::new();
    let mut tags = BTreeMap::new();
    for id in list(gd).await? {
        let d = match gd.get_detector().detector_id(&id).send().await {
            Ok(d) => d,
            Err(e) => {
                let err = Error::from_sdk(GET_DETECTOR, e);
                // Deleted between the list and the get.
                if err.aws_code() == Some("BadRequestException") {
                    continue;
                }
                return Err(err);
            }
        };
        if out.is_empty() {
            tags = d
                .tags()
                .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default();
        }
        out.push(Detector {
            id,
            status: d.status().map(|s| s.as_str().to_string()).unwrap_or_default(),
        });
    }
    Ok((out, tags))
}

/// The first `CreateDetector` of an account creates GuardDuty's service-linked role with the
/// caller's permissions (no call of its own).
const CREATE_SERVICE_LINKED_ROLE: &str = "iam:CreateServiceLinkedRole";

impl RuleFamily for GuardDutyDetector {
    const NAME: &'static str = "guardduty-detector";
    const DOC: FamilyDoc = FamilyDoc {
        changes: "ListDetectors; none: CreateDetector Enable=true (AWS defaults); a suspended one: UpdateDetector Enable=true (resource: the region, or its detector id)",
        never: "a detector's data sources, features, filters, members and tags; no detector is deleted or replaced",
        undo: "a detector the fix enabled: UpdateDetector Enable=false (suspended, as recorded); where before recorded none: DeleteDetector of exactly the detector id CreateDetector returned to the fix (its findings go with it), refused by name when the record has no such id; no other detector",
        tested: "local stack",
    };
    const RESOURCE: &'static str = "region name or GuardDuty detector id";
    const PLACEMENT: Placement = Placement::Region;
    const READS: &'static [&'static str] = &[LIST_DETECTORS, GET_DETECTOR];
    const WRITES: &'static [&'static str] = &[
        CREATE_DETECTOR,
        UPDATE_DETECTOR,
        CREATE_SERVICE_LINKED_ROLE,
        DELETE_DETECTOR,
    ];
    /// Only GuardDuty's own service-linked role may be created.
    const CONDITIONS: &'static [ActionCondition] = &[ActionCondition::string_equals(
        CREATE_SERVICE_LINKED_ROLE,
        "iam:AWSServiceName",
        &["guardduty.amazonaws.com"],
    )];
    type Params = Params;
    type State = Detectors;
    type Change = Change;

    fn valid_id(id: &str) -> bool {
        is_detector_id(id) || crate::ids::is_region_name(id)
    }

    async fn read(ctx: &Ctx, resource: &str, tags: Tags) -> Result<Option<Read<Detectors>>, Error> {
        let only = if is_detector_id(resource) {
            Some(resource.to_string())
        } else if resource != ctx.region() {
            return Err(Error::InvalidInput(format!(
                "GuardDuty finding for region {resource} arrived for region {}: nothing read or changed",
                ctx.region()
            )));
        } else {
            None
        };
        let (detectors, live_tags) = detectors(&client(ctx)).await?;
        if let Some(id) = &only {
            if !detectors.iter().any(|d| &d.id == id) {
                return Ok(None);
            }
        }
        Ok(Some(Read {
            state: Detectors {
                region: ctx.region().to_string(),
                detectors,
                only,
            },
            tags: if tags == Tags::Read { live_tags } else { BTreeMap::new() },
        }))
    }

    fn assess(s: &Detectors, _: &Params, t: Target<'_>) -> Assessment<Change> {
        let (changes, offending) = needed(s);
        let summary = match changes.first() {
            None => format!("GuardDuty is enabled in {}: nothing to change", s.region),
            Some(Change::Create) => format!(
                "turn GuardDuty on in {}: create a detector, enabled, with AWS's default data sources",
                s.region
            ),
            Some(Change::Enable { detector_id }) => format!(
                "turn GuardDuty on in {}: enable its suspended detector {detector_id}",
                s.region
            ),
            // Undo changes only (never planned by an assessment).
            Some(c @ (Change::Suspend { .. } | Change::Delete { .. })) => c.describe(),
        };
        let mut plan = t.plan(summary, changes);
        plan.untouched = vec![
            "detectors' data sources, features, filters, members and tags; no detector is deleted or replaced".into(),
        ];
        Assessment { offending, plan }
    }

    async fn apply(ctx: &Ctx, resource: &str, s: &Detectors, changes: &[Change]) -> Result<(), Error> {
        Self::apply_recorded(ctx, resource, s, changes).await.map(|_| ())
    }

    /// The detector `CreateDetector` returned takes the place of the plan's [`NEW`].
    async fn apply_recorded(ctx: &Ctx, _: &str, s: &Detectors, changes: &[Change]) -> Result<Detectors, Error> {
        let gd = client(ctx);
        let mut created = None;
        for change in changes {
            match change {
                Change::Enable { detector_id } => enable(&gd, detector_id).await?,
                Change::Create => created = create(&gd).await?,
                Change::Suspend { detector_id } => suspend(&gd, detector_id).await?,
                Change::Delete { detector_id } => delete(&gd, detector_id).await?,
            }
        }
        let mut after = Self::simulate(s, changes);
        if let Some(id) = created {
            for d in after.detectors.iter_mut().filter(|d| d.id == NEW) {
                d.id = id.clone();
            }
        }
        Ok(after)
    }

    fn simulate(s: &Detectors, changes: &[Change]) -> Detectors {
        let mut out = s.clone();
        for c in changes {
            match c {
                Change::Create if out.detectors.is_empty() => out.detectors.push(Detector {
                    id: NEW.into(),
                    status: ENABLED.into(),
                }),
                Change::Create => {}
                Change::Enable { detector_id } => {
                    for d in out.detectors.iter_mut().filter(|d| &d.id == detector_id) {
                        d.status = ENABLED.into();
                    }
                }
                Change::Suspend { detector_id } => {
                    for d in out.detectors.iter_mut().filter(|d| &d.id == detector_id) {
                        d.status = DISABLED.into();
                    }
                }
                Change::Delete { detector_id } => out.detectors.retain(|d| &d.id != detector_id),
            }
        }
        out
    }

    fn diff(before: &Detectors, after: &Detectors) -> Vec<String> {
        let (before, after) = (&named_new(before, after), &named_new(after, before));
        let mut out = Vec::new();
        for a in &after.detectors {
            match before.detectors.iter().find(|b| b.id == a.id) {
                Some(b) if b.status != a.status => out.push(format!("detector {}: {} → {}", a.id, b.status, a.status)),
                Some(_) => {}
                None => out.push(format!("detector {} created ({})", a.id, a.status)),
            }
        }
        for b in before
            .detectors
            .iter()
            .filter(|b| !after.detectors.iter().any(|a| a.id == b.id))
        {
            out.push(format!("detector {} is gone", b.id));
        }
        out
    }

    /// Where `before` recorded no detector: exactly the detector the fix's `after` names (the id
    /// `CreateDetector` returned), and only while it is live; a record that names none (the
    /// plan's placeholder) is refused rather than guessed.
    fn revert_recorded(live: &Detectors, before: &Detectors, after: &Detectors) -> Result<Vec<Change>, String> {
        if !before.detectors.is_empty() {
            return Ok(Self::revert(live, before).unwrap_or_default());
        }
        let created: Vec<&Detector> = after
            .detectors
            .iter()
            .filter(|d| !before.detectors.iter().any(|b| b.id == d.id))
            .collect();
        if created.iter().any(|d| d.id == NEW) {
            return Err(
                "the fix's record names no id for the detector it created (recorded before created ids were kept, \
                 or a detector that appeared while the fix ran was enabled instead): nothing is deleted; delete it \
                 by hand if it is the fix's"
                    .into(),
            );
        }
        Ok(created
            .into_iter()
            .filter(|d| live.detectors.iter().any(|l| l.id == d.id))
            .map(|d| Change::Delete {
                detector_id: d.id.clone(),
            })
            .collect())
    }

    /// The detectors the fix enabled, suspended again. A detector it created is named only by
    /// the record's after-state ([`RuleFamily::revert_recorded`]), never guessed from `live`.
    fn revert(live: &Detectors, before: &Detectors) -> Option<Vec<Change>> {
        Some(
            before
                .detectors
                .iter()
                .filter(|b| b.status != ENABLED)
                .filter(|b| live.detectors.iter().any(|l| l.id == b.id && l.status == ENABLED))
                .map(|b| Change::Suspend {
                    detector_id: b.id.clone(),
                })
                .collect(),
        )
    }
}

/// `s` with the detector a plan creates ([`NEW`]) named as the one detector of `other` that `s`
/// does not know, if there is exactly one (the simulated state after a create, against a read).
fn named_new(s: &Detectors, other: &Detectors) -> Detectors {
    let mut out = s.clone();
    let unknown: Vec<&Detector> = other
        .detectors
        .iter()
        .filter(|o| !s.detectors.iter().any(|d| d.id == o.id))
        .collect();
    if let [real] = unknown.as_slice() {
        for d in out.detectors.iter_mut().filter(|d| d.id == NEW) {
            d.id = real.id.clone();
        }
    }
    out
}

/// `UpdateDetector` with the detector id and `Enable=false` (an undo), nothing else.
pub async fn suspend(gd: &aws_sdk_guardduty::Client, detector: &str) -> Result<(), Error> {
    gd.update_detector()
        .detector_id(detector)
        .enable(false)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| Error::from_sdk(UPDATE_DETECTOR, e))
}

/// `DeleteDetector` (an undo); a detector already gone (a retry) counts as done.
pub async fn delete(gd: &aws_sdk_guardduty::Client, detector: &str) -> Result<(), Error> {
    match gd.delete_detector().detector_id(detector).send().await {
        Ok(_) => Ok(()),
        Err(e) => {
            let err = Error::from_sdk(DELETE_DETECTOR, e);
            if err.aws_code() == Some("BadRequestException") && !list(gd).await?.iter().any(|id| id == detector) {
                return Ok(());
            }
            Err(err)
        }
    }
}

/// `UpdateDetector` with the detector id and `Enable=true`, nothing else.
pub async fn enable(gd: &aws_sdk_guardduty::Client, detector: &str) -> Result<(), Error> {
    gd.update_detector()
        .detector_id(detector)
        .enable(true)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| Error::from_sdk(UPDATE_DETECTOR, e))
}

/// `CreateDetector Enable=true`; the id of the detector it created. When a detector appeared
/// since the read (AWS refuses a second one), that detector is enabled instead (`None`: the fix
/// created nothing): never a second detector, never a replacement.
pub async fn create(gd: &aws_sdk_guardduty::Client) -> Result<Option<String>, Error> {
    match gd.create_detector().enable(true).send().await {
        Ok(out) => Ok(out.detector_id().filter(|id| !id.is_empty()).map(str::to_string)),
        Err(e) => {
            let err = Error::from_sdk(CREATE_DETECTOR, e);
            if err.aws_code() != Some("BadRequestException") {
                return Err(err);
            }
            let (existing, _) = detectors(gd).await?;
            if existing.iter().any(|d| d.status == ENABLED) {
                return Ok(None);
            }
            match existing.first() {
                Some(d) => enable(gd, &d.id).await.map(|_| None),
                None => Err(err),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::families::helpers::iam_keys::tests::mocked;
    use aws_sdk_guardduty::operation::create_detector::CreateDetectorOutput;
    use aws_sdk_guardduty::operation::get_detector::GetDetectorOutput;
    use aws_sdk_guardduty::operation::list_detectors::ListDetectorsOutput;
    use aws_sdk_guardduty::operation::update_detector::UpdateDetectorOutput;
    use aws_sdk_guardduty::types::DetectorStatus;
    use aws_smithy_mocks::{mock, MockResponseInterceptor, RuleMode};

    const DET: &str = "12abc34d567e8fa901bc2d34e56789f0";

    fn t() -> Target<'static> {
        Target {
            rule_id: "GD-001",
            resource: "us-east-1",
            region: "us-east-1",
        }
    }

    fn state(detectors: Vec<Detector>) -> Detectors {
        Detectors {
            region: "us-east-1".into(),
            detectors,
            only: None,
        }
    }

    fn det(status: &str) -> Detector {
        Detector {
            id: DET.into(),
            status: status.into(),
        }
    }

    #[test]
    fn no_detector_is_created_a_suspended_one_enabled_an_enabled_one_left_alone() {
        let none = state(vec![]);
        let a = GuardDutyDetector::assess(&none, &Params {}, t());
        assert_eq!(a.plan.changes, vec![Change::Create]);
        assert_eq!(a.offending, vec!["GuardDuty has no detector in us-east-1"]);
        let after = GuardDutyDetector::simulate(&none, &a.plan.changes);
        assert!(GuardDutyDetector::assess(&after, &Params {}, t()).plan.is_empty());

        let off = state(vec![det("DISABLED")]);
        let a = GuardDutyDetector::assess(&off, &Params {}, t());
        assert_eq!(
            a.plan.changes,
            vec![Change::Enable {
                detector_id: DET.into()
            }]
        );
        let after = GuardDutyDetector::simulate(&off, &a.plan.changes);
        assert_eq!(
            GuardDutyDetector::diff(&off, &after),
            vec![format!("detector {DET}: DISABLED → ENABLED")]
        );
        assert!(a.plan.removes.is_empty());

        let on = state(vec![det(ENABLED)]);
        let a = GuardDutyDetector::assess(&on, &Params {}, t());
        assert!(a.plan.is_empty() && a.offending.is_empty());
    }

    #[test]
    fn the_undo_suspends_again_or_deletes_only_the_created_detector() {
        // A suspended detector enabled by the fix: suspended again.
        let before = state(vec![det(DISABLED)]);
        let fix = GuardDutyDetector::assess(&before, &Params {}, t()).plan.changes;
        let after = GuardDutyDetector::simulate(&before, &fix);
        let undo = GuardDutyDetector::revert(&after, &before).unwrap();
        assert_eq!(
            undo,
            vec![Change::Suspend {
                detector_id: DET.into()
            }]
        );
        assert_eq!(GuardDutyDetector::simulate(&after, &undo), before);
        assert!(GuardDutyDetector::revert(&before, &before).unwrap().is_empty());
        // None before: exactly the detector the record's after names (the id CreateDetector
        // returned) is deleted.
        let none = state(vec![]);
        let fix = GuardDutyDetector::assess(&none, &Params {}, t()).plan.changes;
        let simulated = GuardDutyDetector::simulate(&none, &fix);
        let live = state(vec![det(ENABLED)]);
        assert_eq!(
            GuardDutyDetector::diff(&live, &none),
            vec![format!("detector {DET} is gone")]
        );
        let undo = GuardDutyDetector::revert_recorded(&live, &none, &live).unwrap();
        assert_eq!(
            undo,
            vec![Change::Delete {
                detector_id: DET.into()
            }]
        );
        assert_eq!(GuardDutyDetector::simulate(&live, &undo), none);
        assert!(GuardDutyDetector::revert_recorded(&none, &none, &live)
            .unwrap()
            .is_empty());
        // A record with only the plan's placeholder names nothing to delete: refused, not guessed.
        let err = GuardDutyDetector::revert_recorded(&live, &none, &simulated).unwrap_err();
        assert!(err.contains("names no id for the detector it created"), "{err}");
        // Without the record, nothing is deleted.
        assert!(GuardDutyDetector::revert(&live, &none).unwrap().is_empty());
        // An enabled detector recorded enabled is never touched.
        let on = state(vec![det(ENABLED)]);
        assert!(GuardDutyDetector::revert(&on, &on).unwrap().is_empty());
    }

    #[tokio::test]
    async fn the_undo_sends_one_update_with_enable_false_or_one_delete() {
        let suspend = mock!(aws_sdk_guardduty::Client::update_detector)
            .match_requests(|r| r.detector_id() == Some(DET) && r.enable() == Some(false))
            .then_output(|| UpdateDetectorOutput::builder().build());
        let delete = mock!(aws_sdk_guardduty::Client::delete_detector)
            .match_requests(|r| r.detector_id() == Some(DET))
            .then_output(|| aws_sdk_guardduty::operation::delete_detector::DeleteDetectorOutput::builder().build());
        let ctx = mocked(
            GuardDutyDetector::READS,
            GuardDutyDetector::WRITES,
            MockResponseInterceptor::new()
                .rule_mode(RuleMode::Sequential)
                .with_rule(&suspend)
                .with_rule(&delete),
        );
        let live = state(vec![det(ENABLED)]);
        GuardDutyDetector::apply(
            &ctx,
            "us-east-1",
            &live,
            &[Change::Suspend {
                detector_id: DET.into(),
            }],
        )
        .await
        .unwrap();
        GuardDutyDetector::apply(
            &ctx,
            "us-east-1",
            &live,
            &[Change::Delete {
                detector_id: DET.into(),
            }],
        )
        .await
        .unwrap();
        assert_eq!((suspend.num_calls(), delete.num_calls()), (1, 1));
    }

    #[test]
    fn resources_are_regions_or_detector_ids() {
        assert!(GuardDutyDetector::valid_id("eu-north-1") && GuardDutyDetector::valid_id(DET));
        for bad in ["global", "../us-east-1", "12ABC34D567E8FA901BC2D34E56789F0", "det-1"] {
            assert!(!GuardDutyDetector::valid_id(bad), "{bad}");
        }
    }

    fn list_output(ids: &'static [&'static str]) -> ListDetectorsOutput {
        ListDetectorsOutput::builder()
            .set_detector_ids(Some(ids.iter().map(|s| s.to_string()).collect()))
            .build()
    }

    #[tokio::test]
    #[allow(deprecated)]
    async fn no_detector_sends_list_then_one_create_with_enable_true_only() {
        let list = mock!(aws_sdk_guardduty::Client::list_detectors).then_output(|| list_output(&[]));
        let create = mock!(aws_sdk_guardduty::Client::create_detector)
            .match_requests(|r| {
                r.enable() == Some(true) && r.data_sources().is_none() && r.features().is_empty() && r.tags().is_none()
            })
            .then_output(|| CreateDetectorOutput::builder().detector_id(DET).build());
        let ctx = mocked(
            GuardDutyDetector::READS,
            GuardDutyDetector::WRITES,
            MockResponseInterceptor::new()
                .rule_mode(RuleMode::Sequential)
                .with_rule(&list)
                .with_rule(&create),
        );
        let read = GuardDutyDetector::read(&ctx, "us-east-1", Tags::Read)
            .await
            .unwrap()
            .unwrap();
        let a = GuardDutyDetector::assess(&read.state, &Params {}, t());
        let after = GuardDutyDetector::apply_recorded(&ctx, "us-east-1", &read.state, &a.plan.changes)
            .await
            .unwrap();
        assert_eq!((list.num_calls(), create.num_calls()), (1, 1));
        assert_eq!(
            after,
            state(vec![det(ENABLED)]),
            "the id CreateDetector returned, not the placeholder"
        );
    }

    #[tokio::test]
    #[allow(deprecated)]
    async fn a_suspended_detector_gets_one_update_with_enable_true_only() {
        let list = mock!(aws_sdk_guardduty::Client::list_detectors).then_output(|| list_output(&[DET]));
        let get = mock!(aws_sdk_guardduty::Client::get_detector)
            .match_requests(|r| r.detector_id() == Some(DET))
            .then_output(|| GetDetectorOutput::builder().status(DetectorStatus::Disabled).build());
        let update = mock!(aws_sdk_guardduty::Client::update_detector)
            .match_requests(|r| {
                r.detector_id() == Some(DET)
                    && r.enable() == Some(true)
                    && r.data_sources().is_none()
                    && r.features().is_empty()
                    && r.finding_publishing_frequency().is_none()
            })
            .then_output(|| UpdateDetectorOutput::builder().build());
        let ctx = mocked(
            GuardDutyDetector::READS,
            GuardDutyDetector::WRITES,
            MockResponseInterceptor::new()
                .rule_mode(RuleMode::Sequential)
                .with_rule(&list)
                .with_rule(&get)
                .with_rule(&update),
        );
        let read = GuardDutyDetector::read(&ctx, DET, Tags::Skip).await.unwrap().unwrap();
        let a = GuardDutyDetector::assess(&read.state, &Params {}, t());
        GuardDutyDetector::apply(&ctx, DET, &read.state, &a.plan.changes)
            .await
            .unwrap();
        assert_eq!((list.num_calls(), get.num_calls(), update.num_calls()), (1, 1, 1));
    }

    #[tokio::test]
    async fn a_detector_id_no_longer_there_reads_as_none_and_another_region_is_refused() {
        let list = mock!(aws_sdk_guardduty::Client::list_detectors).then_output(|| list_output(&[]));
        let ctx = mocked(
            GuardDutyDetector::READS,
            GuardDutyDetector::WRITES,
            MockResponseInterceptor::new()
                .rule_mode(RuleMode::Sequential)
                .with_rule(&list),
        );
        assert!(GuardDutyDetector::read(&ctx, DET, Tags::Skip).await.unwrap().is_none());
        let err = GuardDutyDetector::read(&ctx, "eu-west-1", Tags::Skip)
            .await
            .err()
            .unwrap();
        assert_eq!(err.name(), "InvalidInput");
    }

    #[tokio::test]
    async fn a_detector_created_meanwhile_is_enabled_not_duplicated() {
        let create = mock!(aws_sdk_guardduty::Client::create_detector).then_error(|| {
            aws_sdk_guardduty::operation::create_detector::CreateDetectorError::generic(
                aws_sdk_guardduty::error::ErrorMetadata::builder()
                    .code("BadRequestException")
                    .build(),
            )
        });
        let list = mock!(aws_sdk_guardduty::Client::list_detectors).then_output(|| list_output(&[DET]));
        let get = mock!(aws_sdk_guardduty::Client::get_detector)
            .then_output(|| GetDetectorOutput::builder().status(DetectorStatus::Disabled).build());
        let update = mock!(aws_sdk_guardduty::Client::update_detector)
            .match_requests(|r| r.detector_id() == Some(DET) && r.enable() == Some(true))
            .then_output(|| UpdateDetectorOutput::builder().build());
        let ctx = mocked(
            GuardDutyDetector::READS,
            GuardDutyDetector::WRITES,
            MockResponseInterceptor::new()
                .rule_mode(RuleMode::Sequential)
                .with_rule(&create)
                .with_rule(&list)
                .with_rule(&get)
                .with_rule(&update),
        );
        let after = GuardDutyDetector::apply_recorded(&ctx, "us-east-1", &state(vec![]), &[Change::Create])
            .await
            .unwrap();
        assert_eq!(update.num_calls(), 1);
        assert_eq!(
            after.detectors[0].id, NEW,
            "enabled, not created: no id recorded as created"
        );
    }
}
