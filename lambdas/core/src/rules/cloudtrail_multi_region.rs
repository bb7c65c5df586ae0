//! CT-001: no multi-region CloudTrail trail is logging in the account.
//!
//! Resource: this is an account-level check; Conformity reports it per region, and we take the
//! resource as the region the fix acts in (`us-east-1`). A trail name or ARN is accepted too (the
//! trail Conformity may name): then the fix acts in the finding's region (a name) or the ARN's
//! region, and never on that trail unless it is the configured one. The read lists every trail
//! visible there (`DescribeTrails` with shadow trails, `GetTrailStatus` of each).
//! Compliant: a trail that is multi-region, includes global service events and is logging.
//! Changes: when the trail named `params.trail_name` (default `auto-remediate`) exists,
//! `UpdateTrail` with `IsMultiRegionTrail=true` and `IncludeGlobalServiceEvents=true` (both always
//! sent) where it lacks either, then `StartLogging` if it is not logging; otherwise
//! `CreateTrail` of that name, delivering to `params.bucket` (required; its bucket policy must
//! let CloudTrail write), with both flags, then `StartLogging`.
//! Never touches: any other trail (not updated, started, stopped or deleted), the bucket.
//! Undo: from the recorded `before`, only what the fix changed: `DeleteTrail` of the trail it
//! created (not in `before`, by ARN); for a trail it updated or started, `StopLogging` where
//! `before` recorded it not logging, then `UpdateTrail` with the recorded flags (both sent) where
//! they differ. Other trails and the bucket are never touched; a trail already gone or stopped
//! (a retry) counts as done.

use serde::{Deserialize, Serialize};

use crate::aws::{partition, Ctx};
use crate::error::Error;
use crate::plan::{Describe, Plan};
use crate::rules::family::{Assessment, FamilyDoc, Placement, Read, RuleFamily, Tags, Target};
use crate::rules::ids;

/// The family: `cloudtrail-multi-region` in the catalog.
pub struct CloudTrailMultiRegion;

const DESCRIBE_TRAILS: &str = "cloudtrail:DescribeTrails";
const GET_TRAIL_STATUS: &str = "cloudtrail:GetTrailStatus";
const LIST_TAGS: &str = "cloudtrail:ListTags";
const CREATE_TRAIL: &str = "cloudtrail:CreateTrail";
const UPDATE_TRAIL: &str = "cloudtrail:UpdateTrail";
const START_LOGGING: &str = "cloudtrail:StartLogging";
/// An undo only: the trail the fix created, deleted.
const DELETE_TRAIL: &str = "cloudtrail:DeleteTrail";
/// An undo only: a trail the fix started, stopped again.
const STOP_LOGGING: &str = "cloudtrail:StopLogging";

fn default_trail_name() -> String {
    "auto-remediate".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The trail the fix creates or updates.
    #[serde(default = "default_trail_name")]
    pub trail_name: String,
    /// The S3 bucket a created trail delivers to (required to create one).
    #[serde(default)]
    pub bucket: Option<String>,
}

/// One trail as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrailInfo {
    pub name: String,
    pub arn: String,
    pub home_region: String,
    pub multi_region: bool,
    pub global_events: bool,
    pub logging: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
}

impl TrailInfo {
    fn heals(&self) -> bool {
        self.multi_region && self.global_events && self.logging
    }

    fn describe(&self) -> String {
        format!(
            "trail {} ({}, {}, global events {}, {})",
            self.name,
            self.home_region,
            if self.multi_region {
                "multi-region"
            } else {
                "single-region"
            },
            if self.global_events { "on" } else { "off" },
            if self.logging { "logging" } else { "not logging" }
        )
    }
}

/// The trails visible in a region of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trails {
    pub account: String,
    pub region: String,
    pub trails: Vec<TrailInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action")]
pub enum Change {
    /// Create the configured trail, multi-region with global service events.
    #[serde(rename = "cloudtrail:CreateTrail")]
    CreateTrail {
        name: String,
        /// `None`: `rules.CT-001.params.bucket` is not set (apply stops before any call).
        bucket: Option<String>,
    },
    /// Make the configured trail multi-region with global service events.
    #[serde(rename = "cloudtrail:UpdateTrail")]
    MakeMultiRegion { name: String, arn: String },
    #[serde(rename = "cloudtrail:StartLogging")]
    StartLogging { name: String },
    /// An undo's: `DeleteTrail` of the trail the fix created (by ARN).
    #[serde(rename = "cloudtrail:DeleteTrail")]
    DeleteTrail { name: String, arn: String },
    /// An undo's: `StopLogging` of a trail the fix started (recorded not logging).
    #[serde(rename = "cloudtrail:StopLogging")]
    StopLogging { name: String, arn: String },
    /// An undo's: `UpdateTrail` with the recorded flags of a trail the fix widened.
    #[serde(rename = "cloudtrail:RestoreTrailFlags")]
    RestoreFlags {
        name: String,
        arn: String,
        multi_region: bool,
        global_events: bool,
    },
}

impl Describe for Change {
    fn describe(&self) -> String {
        match self {
            Change::CreateTrail { name, bucket } => format!(
                "create trail {name}, multi-region with global service events, delivering to bucket {}",
                bucket.as_deref().unwrap_or("(NOT SET: rules.CT-001.params.bucket)")
            ),
            Change::MakeMultiRegion { name, .. } => {
                format!("make trail {name} multi-region with global service events")
            }
            Change::StartLogging { name } => format!("start logging on trail {name}"),
            Change::DeleteTrail { name, .. } => {
                format!("delete trail {name}, the one the fix created (none of that name before it)")
            }
            Change::StopLogging { name, .. } => {
                format!("stop logging on trail {name} again (not logging before the fix)")
            }
            Change::RestoreFlags {
                name,
                multi_region,
                global_events,
                ..
            } => format!(
                "set trail {name} back to {}, global service events {} (as recorded before the fix)",
                if *multi_region { "multi-region" } else { "single-region" },
                if *global_events { "on" } else { "off" }
            ),
        }
    }
}

/// The region a resource id names (a region, a trail ARN's region), else the finding's.
fn region_of<'a>(ctx: &'a Ctx, resource: &'a str) -> &'a str {
    if ids::is_region_name(resource) {
        resource
    } else if let Some((region, _)) = ids::trail_arn_parts(resource) {
        region
    } else {
        ctx.region()
    }
}

fn client_in(ctx: &Ctx, region: &str) -> aws_sdk_cloudtrail::Client {
    if region == ctx.region() {
        crate::sdk_client!(ctx, aws_sdk_cloudtrail)
    } else {
        crate::sdk_client!(ctx.in_region(region), aws_sdk_cloudtrail)
    }
}

fn is_configured_trail(t: &TrailInfo, name: &str) -> bool {
    t.name == name
}

impl RuleFamily for CloudTrailMultiRegion {
    const NAME: &'static str = "cloudtrail-multi-region";
    const DOC: FamilyDoc = FamilyDoc {
        changes: "the configured trail (params.trail_name): UpdateTrail IsMultiRegionTrail=true IncludeGlobalServiceEvents=true and StartLogging where needed, or CreateTrail with both flags delivering to params.bucket (required) then StartLogging",
        never: "any other trail (never updated, started, stopped or deleted), the log bucket",
        undo: "DeleteTrail of the trail the fix created (by ARN, not in the recorded before); for a trail it updated or started: StopLogging where it was recorded not logging, then UpdateTrail with the recorded IsMultiRegionTrail and IncludeGlobalServiceEvents; no other trail, not the bucket",
        tested: "local stack",
    };
    const RESOURCE: &'static str = "region name (or a CloudTrail trail name or ARN)";
    const PLACEMENT: Placement = Placement::Region;
    const READS: &'static [&'static str] = &[DESCRIBE_TRAILS, GET_TRAIL_STATUS, LIST_TAGS];
    const WRITES: &'static [&'static str] = &[CREATE_TRAIL, UPDATE_TRAIL, START_LOGGING, STOP_LOGGING, DELETE_TRAIL];
    type Params = Params;
    type State = Trails;
    type Change = Change;

    fn valid_id(id: &str) -> bool {
        ids::is_region_name(id) || ids::is_trail(id)
    }

    async fn read(ctx: &Ctx, resource: &str, tags: Tags) -> Result<Option<Read<Trails>>, Error> {
        let region = region_of(ctx, resource);
        let ct = client_in(ctx, region);
        let out = ct
            .describe_trails()
            .include_shadow_trails(true)
            .send()
            .await
            .map_err(|e| Error::from_sdk(DESCRIBE_TRAILS, e))?;
        let mut trails = Vec::new();
        for t in out.trail_list() {
            let (Some(name), Some(arn)) = (t.name(), t.trail_arn()) else {
                continue;
            };
            let status = ct
                .get_trail_status()
                .name(arn)
                .send()
                .await
                .map_err(|e| Error::from_sdk(GET_TRAIL_STATUS, e))?;
            trails.push(TrailInfo {
                name: name.to_string(),
                arn: arn.to_string(),
                home_region: t.home_region().unwrap_or(region).to_string(),
                multi_region: t.is_multi_region_trail().unwrap_or(false),
                global_events: t.include_global_service_events().unwrap_or(false),
                logging: status.is_logging().unwrap_or(false),
                bucket: t.s3_bucket_name().map(str::to_string),
            });
        }
        let mut live = std::collections::BTreeMap::new();
        let named = trails
            .iter()
            .find(|t| !ids::is_region_name(resource) && (t.name == resource || t.arn == resource));
        if let (Tags::Read, Some(t)) = (tags, named) {
            let out = client_in(ctx, &t.home_region)
                .list_tags()
                .resource_id_list(&t.arn)
                .send()
                .await
                .map_err(|e| Error::from_sdk(LIST_TAGS, e))?;
            for tag in out.resource_tag_list().iter().flat_map(|r| r.tags_list()) {
                live.insert(tag.key().to_string(), tag.value().unwrap_or_default().to_string());
            }
        }
        Ok(Some(Read {
            state: Trails {
                account: ctx.account().to_string(),
                region: region.to_string(),
                trails,
            },
            tags: live,
        }))
    }

    fn assess(s: &Trails, p: &Params, t: Target<'_>) -> Assessment<Change> {
        let healthy: Vec<&TrailInfo> = s.trails.iter().filter(|t| t.heals()).collect();
        let untouched: Vec<String> = s
            .trails
            .iter()
            .filter(|x| !healthy.is_empty() || !is_configured_trail(x, &p.trail_name))
            .map(TrailInfo::describe)
            .collect();
        if let Some(ok) = healthy.first() {
            let summary = format!(
                "trail {} is multi-region with global service events and logging: nothing to change",
                ok.name
            );
            let mut plan = Plan::new(t.rule_id, t.resource, t.region, summary, Vec::new());
            plan.untouched = untouched;
            return Assessment {
                offending: Vec::new(),
                plan,
            };
        }
        let mut changes = Vec::new();
        let summary = match s.trails.iter().find(|x| is_configured_trail(x, &p.trail_name)) {
            Some(ours) => {
                if !(ours.multi_region && ours.global_events) {
                    changes.push(Change::MakeMultiRegion {
                        name: ours.name.clone(),
                        arn: ours.arn.clone(),
                    });
                }
                if !ours.logging {
                    changes.push(Change::StartLogging { name: ours.arn.clone() });
                }
                format!(
                    "make trail {} multi-region with global service events and logging",
                    ours.name
                )
            }
            None => {
                changes.push(Change::CreateTrail {
                    name: p.trail_name.clone(),
                    bucket: p.bucket.clone(),
                });
                changes.push(Change::StartLogging {
                    name: p.trail_name.clone(),
                });
                match &p.bucket {
                    Some(b) => format!(
                        "create trail {} in {}, multi-region with global service events, logging to bucket {b}",
                        p.trail_name, s.region
                    ),
                    None => format!(
                        "create trail {} in {}: cannot, rules.{}.params.bucket is not set (the fix stops with ConfigInvalid)",
                        p.trail_name, s.region, t.rule_id
                    ),
                }
            }
        };
        let mut plan = Plan::new(t.rule_id, t.resource, t.region, summary, changes);
        plan.untouched = untouched;
        plan.untouched.push("every other trail and the log bucket".into());
        Assessment {
            offending: vec![format!(
                "no multi-region trail with global service events is logging in account {} (seen from {})",
                s.account, s.region
            )],
            plan,
        }
    }

    async fn apply(ctx: &Ctx, resource: &str, _: &Trails, changes: &[Change]) -> Result<(), Error> {
        // Everything a change needs is checked before the first call: nothing half-done.
        for c in changes {
            if let Change::CreateTrail { name, bucket } = c {
                if !ids::is_trail_name(name) {
                    return Err(Error::ConfigInvalid(format!(
                        "rules.CT-001.params.trail_name {name:?} is not a valid trail name"
                    )));
                }
                match bucket {
                    None => {
                        return Err(Error::ConfigInvalid(
                            "rules.CT-001.params.bucket is not set: the S3 bucket a new multi-region trail delivers its logs to"
                                .into(),
                        ))
                    }
                    Some(b) if !ids::is_bucket_name(b) => {
                        return Err(Error::ConfigInvalid(format!(
                            "rules.CT-001.params.bucket {b:?} is not a bucket name"
                        )))
                    }
                    Some(_) => {}
                }
            }
        }
        let region = region_of(ctx, resource);
        for c in changes {
            match c {
                Change::CreateTrail { name, bucket } => {
                    let ct = client_in(ctx, region);
                    let created = ct
                        .create_trail()
                        .name(name)
                        .s3_bucket_name(bucket.as_deref().unwrap_or_default())
                        .is_multi_region_trail(true)
                        .include_global_service_events(true)
                        .send()
                        .await;
                    if let Err(e) = created {
                        let err = Error::from_sdk(CREATE_TRAIL, e);
                        if err.aws_code() != Some("TrailAlreadyExistsException") {
                            return Err(err);
                        }
                        // Created meanwhile (a retry): make sure it has both flags.
                        update(&ct, name).await?;
                    }
                }
                Change::MakeMultiRegion { arn, .. } => {
                    let home = ids::trail_arn_parts(arn).map(|(r, _)| r).unwrap_or(region);
                    update(&client_in(ctx, home), arn).await?;
                }
                Change::StartLogging { name } => {
                    let home = ids::trail_arn_parts(name).map(|(r, _)| r).unwrap_or(region);
                    client_in(ctx, home)
                        .start_logging()
                        .name(name)
                        .send()
                        .await
                        .map_err(|e| Error::from_sdk(START_LOGGING, e))?;
                }
                Change::DeleteTrail { name, arn } => delete(&client_in(ctx, home_of(arn, region)), name).await?,
                Change::StopLogging { arn, .. } => stop(&client_in(ctx, home_of(arn, region)), arn).await?,
                Change::RestoreFlags {
                    arn,
                    multi_region,
                    global_events,
                    ..
                } => {
                    set_flags(
                        &client_in(ctx, home_of(arn, region)),
                        arn,
                        *multi_region,
                        *global_events,
                    )
                    .await?
                }
            }
        }
        Ok(())
    }

    fn simulate(s: &Trails, changes: &[Change]) -> Trails {
        let mut out = s.clone();
        for c in changes {
            match c {
                Change::CreateTrail { name, bucket } => {
                    if !out.trails.iter().any(|t| t.name == *name && t.home_region == s.region) {
                        out.trails.push(TrailInfo {
                            name: name.clone(),
                            arn: format!(
                                "arn:{}:cloudtrail:{}:{}:trail/{name}",
                                partition(&s.region),
                                s.region,
                                s.account
                            ),
                            home_region: s.region.clone(),
                            multi_region: true,
                            global_events: true,
                            logging: false,
                            bucket: bucket.clone(),
                        });
                    }
                }
                Change::MakeMultiRegion { arn, .. } => {
                    for t in out.trails.iter_mut().filter(|t| t.arn == *arn) {
                        t.multi_region = true;
                        t.global_events = true;
                    }
                }
                Change::StartLogging { name } => {
                    for t in out
                        .trails
                        .iter_mut()
                        .filter(|t| t.arn == *name || (t.name == *name && t.home_region == s.region))
                    {
                        t.logging = true;
                    }
                }
                Change::DeleteTrail { arn, .. } => out.trails.retain(|t| t.arn != *arn),
                Change::StopLogging { arn, .. } => {
                    for t in out.trails.iter_mut().filter(|t| t.arn == *arn) {
                        t.logging = false;
                    }
                }
                Change::RestoreFlags {
                    arn,
                    multi_region,
                    global_events,
                    ..
                } => {
                    for t in out.trails.iter_mut().filter(|t| t.arn == *arn) {
                        t.multi_region = *multi_region;
                        t.global_events = *global_events;
                    }
                }
            }
        }
        out
    }

    fn diff(before: &Trails, after: &Trails) -> Vec<String> {
        let mut out = Vec::new();
        for a in &after.trails {
            match before.trails.iter().find(|b| b.arn == a.arn) {
                None => out.push(format!("created {}", a.describe())),
                Some(b) => {
                    if b.multi_region != a.multi_region {
                        out.push(format!(
                            "trail {}: multi-region {} → {}",
                            a.name, b.multi_region, a.multi_region
                        ));
                    }
                    if b.global_events != a.global_events {
                        out.push(format!(
                            "trail {}: global service events {} → {}",
                            a.name, b.global_events, a.global_events
                        ));
                    }
                    if b.logging != a.logging {
                        out.push(format!("trail {}: logging {} → {}", a.name, b.logging, a.logging));
                    }
                }
            }
        }
        for b in &before.trails {
            if !after.trails.iter().any(|a| a.arn == b.arn) {
                out.push(format!("trail {} no longer exists", b.name));
            }
        }
        out
    }

    /// The undo: the trails `live` has and `before` did not (the one the fix created) deleted;
    /// a trail of `before` the fix started stopped again, and its recorded flags set back. A
    /// trail `before` had and `live` lacks is not re-created (no fix deletes one: the
    /// resource-changed check refuses first).
    fn revert(live: &Trails, before: &Trails) -> Option<Vec<Change>> {
        let mut out = Vec::new();
        for l in &live.trails {
            let Some(b) = before.trails.iter().find(|b| b.arn == l.arn) else {
                out.push(Change::DeleteTrail {
                    name: l.name.clone(),
                    arn: l.arn.clone(),
                });
                continue;
            };
            if l.logging && !b.logging {
                out.push(Change::StopLogging {
                    name: l.name.clone(),
                    arn: l.arn.clone(),
                });
            }
            if (l.multi_region, l.global_events) != (b.multi_region, b.global_events) {
                out.push(Change::RestoreFlags {
                    name: l.name.clone(),
                    arn: l.arn.clone(),
                    multi_region: b.multi_region,
                    global_events: b.global_events,
                });
            }
        }
        Some(out)
    }
}

/// The home region of a trail ARN, else `region`.
fn home_of<'a>(arn: &'a str, region: &'a str) -> &'a str {
    ids::trail_arn_parts(arn).map(|(r, _)| r).unwrap_or(region)
}

fn not_found(err: &Error) -> bool {
    err.aws_code() == Some("TrailNotFoundException")
}

/// `DeleteTrail` by name in the trail's home region (a name is unique there; moto finds a trail
/// to delete by name only); a trail already gone (a retry) counts as done.
async fn delete(ct: &aws_sdk_cloudtrail::Client, name: &str) -> Result<(), Error> {
    match ct.delete_trail().name(name).send().await {
        Ok(_) => Ok(()),
        Err(e) => {
            let err = Error::from_sdk(DELETE_TRAIL, e);
            if not_found(&err) {
                Ok(())
            } else {
                Err(err)
            }
        }
    }
}

/// `StopLogging` (an undo); stopping a stopped trail is allowed by CloudTrail.
async fn stop(ct: &aws_sdk_cloudtrail::Client, arn: &str) -> Result<(), Error> {
    ct.stop_logging()
        .name(arn)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| Error::from_sdk(STOP_LOGGING, e))
}

/// `UpdateTrail` with exactly the two recorded flags (an undo), nothing else.
async fn set_flags(ct: &aws_sdk_cloudtrail::Client, arn: &str, multi: bool, global: bool) -> Result<(), Error> {
    ct.update_trail()
        .name(arn)
        .is_multi_region_trail(multi)
        .include_global_service_events(global)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| Error::from_sdk(UPDATE_TRAIL, e))
}

/// `UpdateTrail` with both flags (moto, like AWS, wants them sent together), nothing else.
async fn update(ct: &aws_sdk_cloudtrail::Client, name_or_arn: &str) -> Result<(), Error> {
    ct.update_trail()
        .name(name_or_arn)
        .is_multi_region_trail(true)
        .include_global_service_events(true)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| Error::from_sdk(UPDATE_TRAIL, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudtrail::operation::create_trail::CreateTrailOutput;
    use aws_sdk_cloudtrail::operation::describe_trails::DescribeTrailsOutput;
    use aws_sdk_cloudtrail::operation::get_trail_status::GetTrailStatusOutput;
    use aws_sdk_cloudtrail::operation::start_logging::StartLoggingOutput;
    use aws_sdk_cloudtrail::operation::update_trail::UpdateTrailOutput;
    use aws_smithy_mocks::{mock, MockResponseInterceptor, RuleMode};

    const ACCOUNT: &str = "111122223333";

    fn target() -> Target<'static> {
        Target {
            rule_id: "CT-001",
            resource: "us-east-1",
            region: "us-east-1",
        }
    }

    fn params(bucket: Option<&str>) -> Params {
        Params {
            trail_name: default_trail_name(),
            bucket: bucket.map(str::to_string),
        }
    }

    fn trail(name: &str, multi: bool, global: bool, logging: bool) -> TrailInfo {
        TrailInfo {
            name: name.into(),
            arn: format!("arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/{name}"),
            home_region: "us-east-1".into(),
            multi_region: multi,
            global_events: global,
            logging,
            bucket: Some("logs".into()),
        }
    }

    fn trails(t: Vec<TrailInfo>) -> Trails {
        Trails {
            account: ACCOUNT.into(),
            region: "us-east-1".into(),
            trails: t,
        }
    }

    #[test]
    fn a_logging_multi_region_trail_with_global_events_is_compliant() {
        let s = trails(vec![trail("org", true, true, true), trail("local", false, true, false)]);
        let a = CloudTrailMultiRegion::assess(&s, &params(None), target());
        assert!(a.plan.is_empty() && a.offending.is_empty());
        assert_eq!(a.plan.untouched.len(), 2);
    }

    #[test]
    fn without_one_the_configured_trail_is_created_and_other_trails_are_left_alone() {
        // A multi-region trail that is not logging is someone else's: not started.
        let s = trails(vec![
            trail("stopped", true, true, false),
            trail("local", false, true, true),
        ]);
        let a = CloudTrailMultiRegion::assess(&s, &params(Some("ct-logs")), target());
        assert_eq!(
            a.plan.changes,
            vec![
                Change::CreateTrail {
                    name: "auto-remediate".into(),
                    bucket: Some("ct-logs".into())
                },
                Change::StartLogging {
                    name: "auto-remediate".into()
                }
            ]
        );
        assert_eq!(a.offending.len(), 1);
        assert!(a.plan.removes.is_empty(), "turning logging on removes nothing");
        assert!(a.plan.untouched.iter().any(|u| u.starts_with("trail stopped")));
        let after = CloudTrailMultiRegion::simulate(&s, &a.plan.changes);
        assert!(
            CloudTrailMultiRegion::assess(&after, &params(Some("ct-logs")), target())
                .plan
                .is_empty()
        );
        assert_eq!(
            CloudTrailMultiRegion::diff(&s, &after),
            vec!["created trail auto-remediate (us-east-1, multi-region, global events on, logging)"]
        );
    }

    #[test]
    fn the_configured_trail_is_updated_and_started_when_it_exists() {
        let s = trails(vec![trail("auto-remediate", false, false, false)]);
        let a = CloudTrailMultiRegion::assess(&s, &params(None), target());
        let arn = format!("arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/auto-remediate");
        assert_eq!(
            a.plan.changes,
            vec![
                Change::MakeMultiRegion {
                    name: "auto-remediate".into(),
                    arn: arn.clone()
                },
                Change::StartLogging { name: arn }
            ]
        );
        let s = trails(vec![trail("auto-remediate", true, true, false)]);
        let a = CloudTrailMultiRegion::assess(&s, &params(None), target());
        assert!(matches!(a.plan.changes[..], [Change::StartLogging { .. }]));
    }

    #[test]
    fn the_undo_deletes_only_the_created_trail_or_stops_and_narrows_the_widened_one() {
        // Created: exactly that trail goes; the other trails are not named.
        let before = trails(vec![trail("local", false, true, false)]);
        let fix = CloudTrailMultiRegion::assess(&before, &params(Some("ct-logs")), target())
            .plan
            .changes;
        let after = CloudTrailMultiRegion::simulate(&before, &fix);
        let undo = CloudTrailMultiRegion::revert(&after, &before).unwrap();
        assert_eq!(
            undo,
            vec![Change::DeleteTrail {
                name: "auto-remediate".into(),
                arn: format!("arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/auto-remediate"),
            }]
        );
        assert_eq!(CloudTrailMultiRegion::simulate(&after, &undo), before);
        // Widened and started: stopped again, then its recorded flags back.
        let before = trails(vec![
            trail("auto-remediate", false, true, false),
            trail("other", false, false, false),
        ]);
        let fix = CloudTrailMultiRegion::assess(&before, &params(None), target())
            .plan
            .changes;
        let after = CloudTrailMultiRegion::simulate(&before, &fix);
        let undo = CloudTrailMultiRegion::revert(&after, &before).unwrap();
        let arn = format!("arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/auto-remediate");
        assert_eq!(
            undo,
            vec![
                Change::StopLogging {
                    name: "auto-remediate".into(),
                    arn: arn.clone()
                },
                Change::RestoreFlags {
                    name: "auto-remediate".into(),
                    arn,
                    multi_region: false,
                    global_events: true
                },
            ]
        );
        assert_eq!(CloudTrailMultiRegion::simulate(&after, &undo), before);
        assert!(CloudTrailMultiRegion::diff(&after, &before).len() == 2);
        // Only started (flags were right): only stopped.
        let before = trails(vec![trail("auto-remediate", true, true, false)]);
        let fix = CloudTrailMultiRegion::assess(&before, &params(None), target())
            .plan
            .changes;
        let after = CloudTrailMultiRegion::simulate(&before, &fix);
        assert!(matches!(
            CloudTrailMultiRegion::revert(&after, &before).unwrap()[..],
            [Change::StopLogging { .. }]
        ));
        assert!(CloudTrailMultiRegion::revert(&before, &before).unwrap().is_empty());
    }

    /// An undo that died after its first write (StopLogging): refused as a change by someone
    /// else without its journaled plan; with it, the retry restores the rest (the flags) only.
    #[test]
    fn a_retried_undo_completes_from_where_its_earlier_attempt_stopped() {
        use crate::rules::family::{DynFamily, Erased};
        let tag = |s: &Trails| {
            let mut v = serde_json::to_value(s).unwrap();
            v["kind"] = "cloudtrail-multi-region".into();
            crate::rules::ResourceState(v)
        };
        let before = trails(vec![trail("auto-remediate", false, true, false)]);
        let fix = CloudTrailMultiRegion::assess(&before, &params(None), target())
            .plan
            .changes;
        let after = CloudTrailMultiRegion::simulate(&before, &fix);
        let mut recorded = crate::finding::Recorded {
            execution: format!("arn:aws:states:us-east-1:{ACCOUNT}:execution:auto-remediate:fix-1"),
            before: tag(&before),
            after: tag(&after),
            partial: None,
        };
        let (_, first) = Erased::<CloudTrailMultiRegion>::NEW
            .restore(&tag(&after), &recorded, target())
            .unwrap();
        let undo: Vec<Change> = first.changes_as().unwrap();
        assert_eq!(undo.len(), 2);
        let stopped = CloudTrailMultiRegion::simulate(&after, &undo[..1]);
        let err = Erased::<CloudTrailMultiRegion>::NEW
            .restore(&tag(&stopped), &recorded, target())
            .err()
            .unwrap();
        assert_eq!(err.name(), "ResourceChanged");
        recorded.partial = Some(first);
        let (steps, rest) = Erased::<CloudTrailMultiRegion>::NEW
            .restore(&tag(&stopped), &recorded, target())
            .unwrap();
        assert_eq!(steps, vec!["undo: trail auto-remediate: multi-region true → false"]);
        assert_eq!(rest.changes_as::<Change>().unwrap(), undo[1..]);
        // A state the plan cannot lead to (someone else's change) is still refused.
        let mut other = stopped.clone();
        other.trails[0].global_events = false;
        let err = Erased::<CloudTrailMultiRegion>::NEW
            .restore(&tag(&other), &recorded, target())
            .err()
            .unwrap();
        assert_eq!(err.name(), "ResourceChanged");
    }

    #[tokio::test]
    async fn the_undo_sends_stop_logging_then_update_with_the_recorded_flags_or_one_delete() {
        let arn = format!("arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/auto-remediate");
        let (a1, a2) = (arn.clone(), arn.clone());
        let stop = mock!(aws_sdk_cloudtrail::Client::stop_logging)
            .match_requests(move |r| r.name() == Some(a1.as_str()))
            .then_output(|| aws_sdk_cloudtrail::operation::stop_logging::StopLoggingOutput::builder().build());
        let update = mock!(aws_sdk_cloudtrail::Client::update_trail)
            .match_requests(move |r| {
                r.name() == Some(a2.as_str())
                    && r.is_multi_region_trail() == Some(false)
                    && r.include_global_service_events() == Some(true)
                    && r.s3_bucket_name().is_none()
            })
            .then_output(|| UpdateTrailOutput::builder().build());
        let delete = mock!(aws_sdk_cloudtrail::Client::delete_trail)
            .match_requests(|r| r.name() == Some("auto-remediate"))
            .then_error(|| {
                aws_sdk_cloudtrail::operation::delete_trail::DeleteTrailError::generic(
                    aws_sdk_cloudtrail::error::ErrorMetadata::builder()
                        .code("TrailNotFoundException")
                        .build(),
                )
            });
        let ctx = mock_ctx(
            MockResponseInterceptor::new()
                .rule_mode(RuleMode::Sequential)
                .with_rule(&stop)
                .with_rule(&update)
                .with_rule(&delete),
        );
        let before = trails(vec![trail("auto-remediate", false, true, false)]);
        let fix = CloudTrailMultiRegion::assess(&before, &params(None), target())
            .plan
            .changes;
        let after = CloudTrailMultiRegion::simulate(&before, &fix);
        let undo = CloudTrailMultiRegion::revert(&after, &before).unwrap();
        CloudTrailMultiRegion::apply(&ctx, "us-east-1", &after, &undo)
            .await
            .unwrap();
        // A trail already deleted (a retry after a crash) counts as done.
        CloudTrailMultiRegion::apply(
            &ctx,
            "us-east-1",
            &after,
            &[Change::DeleteTrail {
                name: "auto-remediate".into(),
                arn,
            }],
        )
        .await
        .unwrap();
        assert_eq!((stop.num_calls(), update.num_calls(), delete.num_calls()), (1, 1, 1));
    }

    fn mock_ctx(mocks: MockResponseInterceptor) -> Ctx {
        Ctx::new(
            crate::rules::mock_ctx::sdk_config(),
            ACCOUNT,
            CloudTrailMultiRegion::READS,
            CloudTrailMultiRegion::WRITES,
        )
        .with_interceptor(mocks)
    }

    #[tokio::test]
    async fn a_missing_bucket_stops_the_fix_before_any_call() {
        let s = trails(vec![]);
        let a = CloudTrailMultiRegion::assess(&s, &params(None), target());
        assert!(a.plan.summary.contains("rules.CT-001.params.bucket is not set"));
        let create =
            mock!(aws_sdk_cloudtrail::Client::create_trail).then_output(|| CreateTrailOutput::builder().build());
        let ctx = mock_ctx(MockResponseInterceptor::new().with_rule(&create));
        let err = CloudTrailMultiRegion::apply(&ctx, "us-east-1", &s, &a.plan.changes)
            .await
            .unwrap_err();
        assert_eq!(err.name(), "ConfigInvalid");
        assert!(err.to_string().contains("rules.CT-001.params.bucket"), "{err}");
        assert_eq!(create.num_calls(), 0);
    }

    #[tokio::test]
    async fn create_sends_both_flags_and_the_bucket_then_starts_logging() {
        let create = mock!(aws_sdk_cloudtrail::Client::create_trail)
            .match_requests(|r| {
                r.name() == Some("auto-remediate")
                    && r.s3_bucket_name() == Some("ct-logs")
                    && r.is_multi_region_trail() == Some(true)
                    && r.include_global_service_events() == Some(true)
                    && r.kms_key_id().is_none()
            })
            .then_output(|| CreateTrailOutput::builder().build());
        let start = mock!(aws_sdk_cloudtrail::Client::start_logging)
            .match_requests(|r| r.name() == Some("auto-remediate"))
            .then_output(|| StartLoggingOutput::builder().build());
        let ctx = mock_ctx(
            MockResponseInterceptor::new()
                .rule_mode(RuleMode::Sequential)
                .with_rule(&create)
                .with_rule(&start),
        );
        let s = trails(vec![]);
        let a = CloudTrailMultiRegion::assess(&s, &params(Some("ct-logs")), target());
        CloudTrailMultiRegion::apply(&ctx, "us-east-1", &s, &a.plan.changes)
            .await
            .unwrap();
        assert_eq!((create.num_calls(), start.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn update_sends_both_flags_only_to_the_configured_trail() {
        let arn = format!("arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/auto-remediate");
        let a2 = arn.clone();
        let update = mock!(aws_sdk_cloudtrail::Client::update_trail)
            .match_requests(move |r| {
                r.name() == Some(a2.as_str())
                    && r.is_multi_region_trail() == Some(true)
                    && r.include_global_service_events() == Some(true)
                    && r.s3_bucket_name().is_none()
            })
            .then_output(|| UpdateTrailOutput::builder().build());
        let ctx = mock_ctx(
            MockResponseInterceptor::new()
                .rule_mode(RuleMode::Sequential)
                .with_rule(&update),
        );
        let s = trails(vec![
            trail("auto-remediate", false, true, true),
            trail("other", false, false, false),
        ]);
        let a = CloudTrailMultiRegion::assess(&s, &params(None), target());
        assert_eq!(a.plan.changes.len(), 1);
        CloudTrailMultiRegion::apply(&ctx, "us-east-1", &s, &a.plan.changes)
            .await
            .unwrap();
        assert_eq!(update.num_calls(), 1);
    }

    #[tokio::test]
    async fn read_lists_shadow_trails_with_their_status() {
        let describe = mock!(aws_sdk_cloudtrail::Client::describe_trails)
            .match_requests(|r| r.include_shadow_trails() == Some(true))
            .then_output(|| {
                DescribeTrailsOutput::builder()
                    .trail_list(
                        aws_sdk_cloudtrail::types::Trail::builder()
                            .name("org")
                            .trail_arn("arn:aws:cloudtrail:eu-west-1:111122223333:trail/org")
                            .home_region("eu-west-1")
                            .is_multi_region_trail(true)
                            .include_global_service_events(true)
                            .build(),
                    )
                    .build()
            });
        let status = mock!(aws_sdk_cloudtrail::Client::get_trail_status)
            .match_requests(|r| r.name() == Some("arn:aws:cloudtrail:eu-west-1:111122223333:trail/org"))
            .then_output(|| GetTrailStatusOutput::builder().is_logging(true).build());
        let ctx = mock_ctx(
            MockResponseInterceptor::new()
                .rule_mode(RuleMode::Sequential)
                .with_rule(&describe)
                .with_rule(&status),
        );
        let r = CloudTrailMultiRegion::read(&ctx, "us-east-1", Tags::Read)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.state.trails.len(), 1);
        assert!(r.state.trails[0].heals());
        assert!(r.tags.is_empty(), "a region has no tags");
    }
}
