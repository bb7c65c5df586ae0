//! Organizations-002: an AWS organization runs with consolidated billing only, not all features.
//!
//! What a fix changes, never touches and how it is undone: [`OrganizationsAllFeatures::DOC`]
//! (RULES.md is generated from it). `EnableAllFeatures` only starts the handshake, which every
//! member account approves (AWS allows up to 90 days): until then the rule keeps failing, so a run
//! ends `VerificationFailed` ("awaiting the member accounts' approval"), never `Healed`.

use std::time::Duration;

use aws_sdk_organizations::types::{ActionType, HandshakeFilter};
use serde::{Deserialize, Serialize};

use crate::aws::Ctx;
use crate::error::Error;
use crate::families::helpers::family::{Assessment, FamilyDoc, NoParams, Placement, Read, RuleFamily, Tags, Target};
use crate::plan::Describe;

/// The family: `organizations-all-features` in the catalog.
pub struct OrganizationsAllFeatures;

const DESCRIBE_ORGANIZATION: &str = "organizations:DescribeOrganization";
const LIST_HANDSHAKES: &str = "organizations:ListHandshakesForOrganization";
/// An undo's retry only: whether a handshake it could not cancel is cancelled already.
const DESCRIBE_HANDSHAKE: &str = "organizations:DescribeHandshake";
const ENABLE_ALL_FEATURES: &str = "organizations:EnableAllFeatures";
/// An undo only: the handshake the fix started, cancelled while it is open.
const CANCEL_HANDSHAKE: &str = "organizations:CancelHandshake";
/// The id a handshake the plan starts has in the simulated state (its real id is AWS's).
const NEW: &str = "(new)";

/// Its rules take no parameters.
pub type Params = NoParams;

/// The organization's feature set as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    pub id: String,
    /// `ALL` or `CONSOLIDATED_BILLING`.
    pub feature_set: String,
    /// `ENABLE_ALL_FEATURES` handshakes still in progress (requested, open or accepted).
    pub open_handshakes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action")]
pub enum Change {
    #[serde(rename = "organizations:EnableAllFeatures")]
    EnableAllFeatures,
    /// An undo's: `CancelHandshake` of the handshake the fix started, while it is open.
    #[serde(rename = "organizations:CancelHandshake")]
    CancelHandshake { handshake_id: String },
}

impl Describe for Change {
    fn describe(&self) -> String {
        match self {
            Change::EnableAllFeatures => {
                "start the enable-all-features handshake (every member account must approve it)".into()
            }
            Change::CancelHandshake { handshake_id } => {
                format!("cancel the enable-all-features handshake {handshake_id}, the one the fix started")
            }
        }
    }
}

/// An organization id: `o-` and 10 to 32 lowercase letters or digits.
pub fn is_organization_id(id: &str) -> bool {
    id.strip_prefix("o-").is_some_and(|rest| {
        (10..=32).contains(&rest.len()) && rest.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    })
}

fn in_progress(o: &Organization) -> bool {
    !o.open_handshakes.is_empty()
}

impl RuleFamily for OrganizationsAllFeatures {
    const NAME: &'static str = "organizations-all-features";
    const DOC: FamilyDoc = FamilyDoc {
        changes:
            "EnableAllFeatures (starts the handshake the member accounts approve, within 90 days; an open one counts as in progress); the rule fails until every member approved, so a run ends VerificationFailed, not Healed, until then",
        never: "accounts, OUs, policies, an open handshake",
        undo: "CancelHandshake of exactly the handshake id EnableAllFeatures returned to the fix (recorded as its after-state; refused by name when the record has none), while it is open; once the organization has all features the undo is refused (CannotUndo): AWS cannot return it to consolidated billing only",
        tested: "request-level",
    };
    const RESOURCE: &'static str = "AWS organization id";
    const PLACEMENT: Placement = Placement::Global;
    const READS: &'static [&'static str] = &[DESCRIBE_ORGANIZATION, LIST_HANDSHAKES, DESCRIBE_HANDSHAKE];
    const WRITES: &'static [&'static str] = &[ENABLE_ALL_FEATURES, CANCEL_HANDSHAKE];
    const SETTLE: Duration = Duration::from_secs(30);
    type Params = Params;
    type State = Organization;
    type Change = Change;

    fn valid_id(id: &str) -> bool {
        is_organization_id(id)
    }

    async fn read(ctx: &Ctx, org: &str, _: Tags) -> Result<Option<Read<Organization>>, Error> {
        let orgs = crate::sdk_client!(ctx, aws_sdk_organizations);
        let out = match orgs.describe_organization().send().await {
            Ok(out) => out,
            Err(e) => {
                let err = Error::from_sdk(DESCRIBE_ORGANIZATION, e);
                return if err.aws_code() == Some("AWSOrganizationsNotInUseException") {
                    Ok(None)
                } else {
                    Err(err)
                };
            }
        };
        // The account belongs to another organization than the finding's (or to none).
        let Some(o) = out.organization().filter(|o| o.id() == Some(org)) else {
            return Ok(None);
        };
        let feature_set = o.feature_set().map(|f| f.as_str().to_string()).unwrap_or_default();
        let mut open_handshakes = Vec::new();
        if feature_set != "ALL" {
            let mut pages = orgs
                .list_handshakes_for_organization()
                .filter(
                    HandshakeFilter::builder()
                        .action_type(ActionType::EnableAllFeatures)
                        .build(),
                )
                .into_paginator()
                .send();
            while let Some(out) = pages.next().await {
                let out = out.map_err(|e| Error::from_sdk(LIST_HANDSHAKES, e))?;
                open_handshakes.extend(
                    out.handshakes()
                        .iter()
                        .filter(|h| {
                            h.state()
                                .is_some_and(|s| matches!(s.as_str(), "REQUESTED" | "OPEN" | "ACCEPTED"))
                        })
                        .filter_map(|h| h.id().map(str::to_string)),
                );
            }
        }
        // An organization has no tags of its own to exclude it by.
        Ok(Some(Read {
            state: Organization {
                id: org.to_string(),
                feature_set,
                open_handshakes,
            },
            tags: Default::default(),
        }))
    }

    fn assess(o: &Organization, _: &Params, t: Target<'_>) -> Assessment<Change> {
        let all = o.feature_set == "ALL";
        let pending = !all && in_progress(o);
        let summary = if all {
            format!("organization {} has all features: nothing to change", t.resource)
        } else if pending {
            format!(
                "organization {}: the enable-all-features handshake {} is in progress, waiting for the member \
                 accounts' approval: nothing to start",
                t.resource,
                o.open_handshakes.join(", ")
            )
        } else {
            format!(
                "start enabling all features in organization {} (the switch happens once every member account \
                 approves the handshake)",
                t.resource
            )
        };
        let changes = if all || pending {
            Vec::new()
        } else {
            vec![Change::EnableAllFeatures]
        };
        let mut plan = t.plan(summary, changes);
        plan.untouched = vec!["accounts, OUs and policies".into()];
        Assessment {
            // An open handshake is not all features yet: the rule still fails until every member
            // account approves, so Verify never calls it healed before then.
            offending: if all {
                Vec::new()
            } else if pending {
                vec![format!(
                    "feature set {} (handshake {} awaiting the member accounts' approval)",
                    o.feature_set,
                    o.open_handshakes.join(", ")
                )]
            } else {
                vec![format!("feature set {}", o.feature_set)]
            },
            plan,
        }
    }

    async fn apply(ctx: &Ctx, resource: &str, o: &Organization, changes: &[Change]) -> Result<(), Error> {
        Self::apply_recorded(ctx, resource, o, changes).await.map(|_| ())
    }

    /// The handshake `EnableAllFeatures` returned takes the place of the plan's [`NEW`].
    async fn apply_recorded(ctx: &Ctx, _: &str, o: &Organization, changes: &[Change]) -> Result<Organization, Error> {
        let orgs = crate::sdk_client!(ctx, aws_sdk_organizations);
        let mut started = None;
        for change in changes {
            match change {
                Change::EnableAllFeatures => started = enable(&orgs).await?,
                Change::CancelHandshake { handshake_id } => cancel(&orgs, handshake_id).await?,
            }
        }
        let mut after = Self::simulate(o, changes);
        if let Some(id) = started {
            for h in after.open_handshakes.iter_mut().filter(|h| h.as_str() == NEW) {
                *h = id.clone();
            }
        }
        Ok(after)
    }

    fn simulate(o: &Organization, changes: &[Change]) -> Organization {
        let mut out = o.clone();
        for c in changes {
            match c {
                Change::EnableAllFeatures if !in_progress(&out) => out.open_handshakes.push(NEW.into()),
                Change::EnableAllFeatures => {}
                Change::CancelHandshake { handshake_id } => out.open_handshakes.retain(|h| h != handshake_id),
            }
        }
        out
    }

    fn diff(before: &Organization, after: &Organization) -> Vec<String> {
        let (before, after) = (&named_new(before, after), &named_new(after, before));
        let mut out = Vec::new();
        if before.feature_set != after.feature_set {
            out.push(format!("feature set {} → {}", before.feature_set, after.feature_set));
        }
        for h in after
            .open_handshakes
            .iter()
            .filter(|h| !before.open_handshakes.contains(h))
        {
            out.push(format!("started the enable-all-features handshake {h}"));
        }
        for h in before
            .open_handshakes
            .iter()
            .filter(|h| !after.open_handshakes.contains(h))
        {
            out.push(format!(
                "the enable-all-features handshake {h} is no longer in progress"
            ));
        }
        out
    }

    /// Nothing without the record's after-state: the handshake the fix started is named only by
    /// the id `EnableAllFeatures` returned ([`RuleFamily::revert_recorded`]), never guessed.
    fn revert(_live: &Organization, _before: &Organization) -> Option<Vec<Change>> {
        Some(Vec::new())
    }

    /// Exactly the handshakes the fix's `after` has and `before` had not (the id
    /// `EnableAllFeatures` returned), while open; a record naming only the placeholder is refused.
    fn revert_recorded(
        live: &Organization,
        before: &Organization,
        after: &Organization,
    ) -> Result<Vec<Change>, String> {
        let started: Vec<&String> = after
            .open_handshakes
            .iter()
            .filter(|h| !before.open_handshakes.contains(h))
            .collect();
        if started.iter().any(|h| h.as_str() == NEW) {
            return Err(
                "the fix's record names no id for the handshake it started (recorded before started ids were kept, \
                 or one was already open): nothing is cancelled; cancel it by hand if it is the fix's"
                    .into(),
            );
        }
        Ok(started
            .into_iter()
            .filter(|h| live.open_handshakes.contains(h))
            .map(|h| Change::CancelHandshake {
                handshake_id: h.clone(),
            })
            .collect())
    }

    fn cannot_undo(live: &Organization, before: &Organization) -> Option<String> {
        (live.feature_set == "ALL" && before.feature_set != "ALL").then(|| {
            format!(
                "the member accounts approved the handshake and the organization has all features now: AWS cannot \
                 return an organization to {} only",
                before.feature_set
            )
        })
    }
}

/// `o` with the handshake a plan starts ([`NEW`]) named as the one handshake of `other` that `o`
/// does not know, if there is exactly one (the simulated state after the fix, against a read).
fn named_new(o: &Organization, other: &Organization) -> Organization {
    let mut out = o.clone();
    let unknown: Vec<&String> = other
        .open_handshakes
        .iter()
        .filter(|h| !o.open_handshakes.contains(h))
        .collect();
    if let [real] = unknown.as_slice() {
        for h in out.open_handshakes.iter_mut().filter(|h| h.as_str() == NEW) {
            *h = (*real).clone();
        }
    }
    out
}

/// `CancelHandshake` (an undo); a handshake no longer open (a retry: already cancelled) counts as
/// done when it is no longer in progress.
pub async fn cancel(orgs: &aws_sdk_organizations::Client, handshake: &str) -> Result<(), Error> {
    match orgs.cancel_handshake().handshake_id(handshake).send().await {
        Ok(_) => Ok(()),
        Err(e) => match Error::from_sdk(CANCEL_HANDSHAKE, e) {
            err if err.aws_code() == Some("InvalidHandshakeTransitionException") => {
                let h = orgs
                    .describe_handshake()
                    .handshake_id(handshake)
                    .send()
                    .await
                    .map_err(|e| Error::from_sdk(DESCRIBE_HANDSHAKE, e))?;
                let state = h.handshake().and_then(|h| h.state()).map(|s| s.as_str().to_string());
                if state.as_deref() == Some("CANCELED") {
                    Ok(())
                } else {
                    Err(err)
                }
            }
            err => Err(err),
        },
    }
}

/// `EnableAllFeatures`; the id of the handshake it started. A handshake already open
/// (`DuplicateHandshakeException`) counts as done (`None`: none started).
pub async fn enable(orgs: &aws_sdk_organizations::Client) -> Result<Option<String>, Error> {
    match orgs.enable_all_features().send().await {
        Ok(out) => Ok(out.handshake().and_then(|h| h.id()).map(str::to_string)),
        Err(e) => match Error::from_sdk(ENABLE_ALL_FEATURES, e) {
            err if err.aws_code() == Some("DuplicateHandshakeException") => Ok(None),
            err => Err(err),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::families::helpers::mock_ctx;
    use aws_sdk_organizations::operation::describe_organization::{
        DescribeOrganizationError, DescribeOrganizationOutput,
    };
    use aws_sdk_organizations::operation::enable_all_features::{EnableAllFeaturesError, EnableAllFeaturesOutput};
    use aws_sdk_organizations::operation::list_handshakes_for_organization::ListHandshakesForOrganizationOutput;
    use aws_sdk_organizations::types::{Handshake, HandshakeState, Organization as Org, OrganizationFeatureSet};
    use aws_smithy_mocks::mock;

    const ORG: &str = "o-a1b2c3d4e5";

    fn target() -> Target<'static> {
        Target {
            rule_id: "Organizations-002",
            resource: ORG,
            region: "us-east-1",
        }
    }

    fn org(features: &str, open: &[&str]) -> Organization {
        Organization {
            id: ORG.into(),
            feature_set: features.into(),
            open_handshakes: open.iter().map(|h| h.to_string()).collect(),
        }
    }

    #[test]
    fn consolidated_billing_starts_the_handshake_and_an_open_one_or_all_features_needs_nothing() {
        let a = OrganizationsAllFeatures::assess(&org("CONSOLIDATED_BILLING", &[]), &Params {}, target());
        assert_eq!(a.plan.changes, vec![Change::EnableAllFeatures]);
        assert_eq!(a.offending, vec!["feature set CONSOLIDATED_BILLING"]);
        assert!(a.plan.removes.is_empty());
        let after = OrganizationsAllFeatures::simulate(&org("CONSOLIDATED_BILLING", &[]), &a.plan.changes);
        assert!(OrganizationsAllFeatures::assess(&after, &Params {}, target())
            .plan
            .is_empty());
        let a = OrganizationsAllFeatures::assess(&org("CONSOLIDATED_BILLING", &["h-0123456789"]), &Params {}, target());
        assert!(a.plan.is_empty(), "no second handshake");
        assert_eq!(a.offending.len(), 1, "still failing until the members approve");
        assert!(a.plan.summary.contains("h-0123456789 is in progress"));
        let a = OrganizationsAllFeatures::assess(&org("ALL", &[]), &Params {}, target());
        assert!(a.plan.is_empty() && a.offending.is_empty());
        assert_eq!(
            OrganizationsAllFeatures::diff(
                &org("CONSOLIDATED_BILLING", &[]),
                &org("CONSOLIDATED_BILLING", &["h-1"])
            ),
            vec!["started the enable-all-features handshake h-1"]
        );
    }

    #[test]
    fn the_undo_cancels_the_handshake_the_fix_started_and_is_refused_once_all_features_are_on() {
        use crate::families::helpers::family::{DynFamily, Erased, ResourceState};
        let before = org("CONSOLIDATED_BILLING", &[]);
        let fix = OrganizationsAllFeatures::assess(&before, &Params {}, target())
            .plan
            .changes;
        let simulated = OrganizationsAllFeatures::simulate(&before, &fix);
        let live = org("CONSOLIDATED_BILLING", &["h-0123456789"]);
        assert!(
            OrganizationsAllFeatures::diff(&simulated, &live).is_empty(),
            "the open handshake is the one the fix started"
        );
        assert_eq!(
            OrganizationsAllFeatures::diff(&live, &before),
            vec!["the enable-all-features handshake h-0123456789 is no longer in progress"]
        );
        // The record's after names the handshake EnableAllFeatures returned: exactly that one.
        let undo = OrganizationsAllFeatures::revert_recorded(&live, &before, &live).unwrap();
        assert_eq!(
            undo,
            vec![Change::CancelHandshake {
                handshake_id: "h-0123456789".into()
            }]
        );
        let err = OrganizationsAllFeatures::revert_recorded(&live, &before, &simulated).unwrap_err();
        assert!(err.contains("names no id for the handshake it started"), "{err}");
        assert_eq!(OrganizationsAllFeatures::simulate(&live, &undo), before);
        assert!(OrganizationsAllFeatures::revert(&before, &before).unwrap().is_empty());
        assert!(OrganizationsAllFeatures::cannot_undo(&live, &before).is_none());
        // Once the members approved: refused by name, saying why (not as a mere difference).
        let tag = |o: &Organization| {
            let mut v = serde_json::to_value(o).unwrap();
            v["kind"] = "organizations-all-features".into();
            ResourceState(v)
        };
        let recorded = crate::finding::Recorded {
            execution: "arn:aws:states:us-east-1:111122223333:execution:auto-remediate:fix-1".into(),
            before: tag(&before),
            after: tag(&live),
            partial: None,
        };
        let err = Erased::<OrganizationsAllFeatures>::NEW
            .restore(&tag(&org("ALL", &[])), &recorded, target())
            .err()
            .unwrap();
        assert_eq!(err.name(), "CannotUndo");
        assert!(err.to_string().contains("has all features now"), "{err}");
        // While it is open, the undo's plan is the cancel.
        let (steps, plan) = Erased::<OrganizationsAllFeatures>::NEW
            .restore(&tag(&live), &recorded, target())
            .unwrap();
        assert_eq!(steps.len(), 1);
        assert_eq!(plan.changes.len(), 1);
    }

    #[tokio::test]
    async fn the_undo_sends_one_cancel_handshake_and_an_already_cancelled_one_counts_as_done() {
        use aws_sdk_organizations::operation::cancel_handshake::{CancelHandshakeError, CancelHandshakeOutput};
        use aws_sdk_organizations::operation::describe_handshake::DescribeHandshakeOutput;
        let cancel_ok = mock!(aws_sdk_organizations::Client::cancel_handshake)
            .match_requests(|r| r.handshake_id() == Some("h-0123456789"))
            .then_output(|| CancelHandshakeOutput::builder().build());
        let transition = mock!(aws_sdk_organizations::Client::cancel_handshake).then_error(|| {
            CancelHandshakeError::generic(
                aws_sdk_organizations::error::ErrorMetadata::builder()
                    .code("InvalidHandshakeTransitionException")
                    .build(),
            )
        });
        let described = mock!(aws_sdk_organizations::Client::describe_handshake)
            .match_requests(|r| r.handshake_id() == Some("h-0123456789"))
            .then_output(|| {
                DescribeHandshakeOutput::builder()
                    .handshake(
                        Handshake::builder()
                            .id("h-0123456789")
                            .state(HandshakeState::Canceled)
                            .build(),
                    )
                    .build()
            });
        let ctx = mock_ctx::ctx(
            OrganizationsAllFeatures::READS,
            OrganizationsAllFeatures::WRITES,
            &[&cancel_ok, &transition, &described],
        );
        let s = org("CONSOLIDATED_BILLING", &["h-0123456789"]);
        let undo = [Change::CancelHandshake {
            handshake_id: "h-0123456789".into(),
        }];
        OrganizationsAllFeatures::apply(&ctx, ORG, &s, &undo).await.unwrap();
        OrganizationsAllFeatures::apply(&ctx, ORG, &s, &undo).await.unwrap();
        assert_eq!(
            (cancel_ok.num_calls(), transition.num_calls(), described.num_calls()),
            (1, 1, 1)
        );
    }

    #[test]
    fn organization_ids_only() {
        assert!(is_organization_id(ORG));
        for bad in [
            "",
            "o-",
            "o-short",
            "111122223333",
            "o-A1B2C3D4E5",
            "o-a1b2c3d4e5/..",
            "r-a1b2",
        ] {
            assert!(!is_organization_id(bad), "{bad}");
        }
    }

    #[tokio::test]
    async fn apply_sends_exactly_one_enable_all_features_and_a_duplicate_counts_as_done() {
        let enable_ok = mock!(aws_sdk_organizations::Client::enable_all_features).then_output(|| {
            EnableAllFeaturesOutput::builder()
                .handshake(
                    aws_sdk_organizations::types::Handshake::builder()
                        .id("h-0123456789")
                        .build(),
                )
                .build()
        });
        let duplicate = mock!(aws_sdk_organizations::Client::enable_all_features).then_error(|| {
            EnableAllFeaturesError::generic(
                aws_sdk_organizations::error::ErrorMetadata::builder()
                    .code("DuplicateHandshakeException")
                    .build(),
            )
        });
        let ctx = mock_ctx::ctx(
            OrganizationsAllFeatures::READS,
            OrganizationsAllFeatures::WRITES,
            &[&enable_ok, &duplicate],
        );
        let s = org("CONSOLIDATED_BILLING", &[]);
        let after = OrganizationsAllFeatures::apply_recorded(&ctx, ORG, &s, &[Change::EnableAllFeatures])
            .await
            .unwrap();
        assert_eq!(
            after.open_handshakes,
            ["h-0123456789"],
            "the id EnableAllFeatures returned"
        );
        let after = OrganizationsAllFeatures::apply_recorded(&ctx, ORG, &s, &[Change::EnableAllFeatures])
            .await
            .unwrap();
        assert_eq!(
            after.open_handshakes,
            [NEW],
            "a duplicate started nothing: no id recorded"
        );
        assert_eq!((enable_ok.num_calls(), duplicate.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn read_lists_open_handshakes_and_no_or_another_organization_is_none() {
        let describe = |id: &'static str| {
            mock!(aws_sdk_organizations::Client::describe_organization).then_output(move || {
                DescribeOrganizationOutput::builder()
                    .organization(
                        Org::builder()
                            .id(id)
                            .feature_set(OrganizationFeatureSet::ConsolidatedBilling)
                            .build(),
                    )
                    .build()
            })
        };
        let ours = describe(ORG);
        let handshakes = mock!(aws_sdk_organizations::Client::list_handshakes_for_organization)
            .match_requests(|r| r.filter().and_then(|f| f.action_type()) == Some(&ActionType::EnableAllFeatures))
            .then_output(|| {
                ListHandshakesForOrganizationOutput::builder()
                    .handshakes(Handshake::builder().id("h-open").state(HandshakeState::Open).build())
                    .handshakes(Handshake::builder().id("h-old").state(HandshakeState::Expired).build())
                    .build()
            });
        let other = describe("o-zzzzzzzzzz");
        let none = mock!(aws_sdk_organizations::Client::describe_organization).then_error(|| {
            DescribeOrganizationError::generic(
                aws_sdk_organizations::error::ErrorMetadata::builder()
                    .code("AWSOrganizationsNotInUseException")
                    .build(),
            )
        });
        let ctx = mock_ctx::ctx(
            OrganizationsAllFeatures::READS,
            OrganizationsAllFeatures::WRITES,
            &[&ours, &handshakes, &other, &none],
        );
        let r = OrganizationsAllFeatures::read(&ctx, ORG, Tags::Read)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.state, org("CONSOLIDATED_BILLING", &["h-open"]));
        assert!(OrganizationsAllFeatures::read(&ctx, ORG, Tags::Read)
            .await
            .unwrap()
            .is_none());
        assert!(OrganizationsAllFeatures::read(&ctx, ORG, Tags::Read)
            .await
            .unwrap()
            .is_none());
    }
}
