//! CT-001: no multi-region CloudTrail trail is logging in the account.
//!
//! Resource: this is an account-level check; Conformity reports it per region, and we take the
//! resource as the region the fix acts in (`us-east-1`). A trail name or ARN is accepted too (the
//! trail Conformity may name): then the fix acts in the finding's region (a name) or the ARN's
//! region, and never on that trail unless it is the configured one. The read lists every trail
//! visible there (`DescribeTrails` with shadow trails, `GetTrailStatus` of each).
//! Compliant: a trail that is multi-region, includes global service events and is logging.
//!
//! What a fix changes, never touches and how it is undone: [`CloudTrailMultiRegion::DOC`]
//! (RULES.md is generated from it). `UpdateTrail` always sends both flags, and the undo puts back
//! only what the fix changed, from the recorded `before`.

use serde::{Deserialize, Serialize};

use crate::aws::{partition, Ctx};
use crate::error::Error;
use crate::families::helpers::family::{Assessment, FamilyDoc, Placement, Read, RuleFamily, Tags, Target};
use crate::ids;
use crate::plan::Describe;

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
        undo: "DeleteTrail of the trail the fix created (by ARN, not in the recorded before); for a trail it updated or started: StopLogging where it was recorded not logging, then UpdateTrail with the recorded IsMultiRegionTrail and IncludeGlobalServiceEvents; no other trail, not the bucket; a trail already gone or stopped (a retry) counts as done",
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
            let mut plan = t.plan(summary, Vec::new());
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
        let mut plan = t.plan(summary, changes);
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
mod tests;
