//! Config-001: AWS Config is not recording in a region.
//!
//! Resource: the region (Conformity reports this check per region; we take the region name as
//! its resource). A configuration recorder's name is accepted too: then the finding's region is
//! the one acted in.
//! Compliant: a (customer-managed) configuration recorder is recording and a delivery channel
//! exists.
//!
//! What a fix changes, never touches and how it is undone: [`ConfigRecorder::DOC`] (RULES.md is
//! generated from it). An existing recorder or channel is reused as it is; the undo deletes only
//! what is absent from the recorded `before`, by name.

use serde::{Deserialize, Serialize};

use crate::aws::Ctx;
use crate::error::Error;
use crate::families::helpers::family::{
    ActionCondition, Assessment, FamilyDoc, Placement, Read, RuleFamily, Tags, Target,
};
use crate::ids;
use crate::plan::Describe;

/// The family: `config-recorder` in the catalog.
pub struct ConfigRecorder;

const DESCRIBE_RECORDERS: &str = "config:DescribeConfigurationRecorders";
const DESCRIBE_RECORDER_STATUS: &str = "config:DescribeConfigurationRecorderStatus";
const DESCRIBE_CHANNELS: &str = "config:DescribeDeliveryChannels";
const PUT_RECORDER: &str = "config:PutConfigurationRecorder";
const PUT_CHANNEL: &str = "config:PutDeliveryChannel";
const START_RECORDER: &str = "config:StartConfigurationRecorder";
/// Undo only: stop a recorder the fix started, delete what the fix created.
const STOP_RECORDER: &str = "config:StopConfigurationRecorder";
const DELETE_CHANNEL: &str = "config:DeleteDeliveryChannel";
const DELETE_RECORDER: &str = "config:DeleteConfigurationRecorder";

fn default_name() -> String {
    "default".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(default = "default_name")]
    pub recorder_name: String,
    #[serde(default = "default_name")]
    pub channel_name: String,
    /// The IAM role AWS Config records with (required to create a recorder).
    #[serde(default)]
    pub role_arn: Option<String>,
    /// The S3 bucket the delivery channel writes to (required to create a channel).
    #[serde(default)]
    pub bucket: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recorder {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    pub all_supported: bool,
    pub include_global: bool,
    pub recording: bool,
    /// A service-linked recorder (another service's): not the account's own.
    #[serde(default)]
    pub service_linked: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
}

/// AWS Config in one region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigState {
    pub region: String,
    pub recorders: Vec<Recorder>,
    pub channels: Vec<Channel>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action")]
pub enum Change {
    /// Create the recorder: all supported resource types, global ones included.
    #[serde(rename = "config:PutConfigurationRecorder")]
    PutRecorder {
        name: String,
        /// `None`: `rules.Config-001.params.role_arn` is not set (apply stops before any call).
        role_arn: Option<String>,
    },
    #[serde(rename = "config:PutDeliveryChannel")]
    PutChannel {
        name: String,
        /// `None`: `rules.Config-001.params.bucket` is not set (apply stops before any call).
        bucket: Option<String>,
    },
    #[serde(rename = "config:StartConfigurationRecorder")]
    StartRecorder { name: String },
    /// An undo's: stop a recorder the fix started.
    #[serde(rename = "config:StopConfigurationRecorder")]
    StopRecorder { name: String },
    /// An undo's: delete the delivery channel the fix created.
    #[serde(rename = "config:DeleteDeliveryChannel")]
    DeleteChannel { name: String },
    /// An undo's: delete the recorder the fix created.
    #[serde(rename = "config:DeleteConfigurationRecorder")]
    DeleteRecorder { name: String },
}

impl Describe for Change {
    fn describe(&self) -> String {
        match self {
            Change::PutRecorder { name, role_arn } => format!(
                "create configuration recorder {name} (all supported resource types, global ones included) with role {}",
                role_arn.as_deref().unwrap_or("(NOT SET: rules.Config-001.params.role_arn)")
            ),
            Change::PutChannel { name, bucket } => format!(
                "create delivery channel {name} to bucket {}",
                bucket.as_deref().unwrap_or("(NOT SET: rules.Config-001.params.bucket)")
            ),
            Change::StartRecorder { name } => format!("start configuration recorder {name}"),
            Change::StopRecorder { name } => {
                format!("stop configuration recorder {name} (not recording before the fix)")
            }
            Change::DeleteChannel { name } => format!("delete delivery channel {name}, the one the fix created"),
            Change::DeleteRecorder { name } => {
                format!("delete configuration recorder {name}, the one the fix created")
            }
        }
    }
}

fn region_of<'a>(ctx: &'a Ctx, resource: &'a str) -> &'a str {
    if ids::is_region_name(resource) {
        resource
    } else {
        ctx.region()
    }
}

fn client_in(ctx: &Ctx, region: &str) -> aws_sdk_config::Client {
    if region == ctx.region() {
        crate::sdk_client!(ctx, aws_sdk_config)
    } else {
        crate::sdk_client!(ctx.in_region(region), aws_sdk_config)
    }
}

/// A configuration recorder's name: 1-256 of `[A-Za-z0-9_.-]`.
fn is_recorder_name(id: &str) -> bool {
    (1..=256).contains(&id.len())
        && id
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'.')
        && !id.contains("..")
}

fn is_role_arn(arn: &str) -> bool {
    ids::Arn::global(arn, "iam").is_some_and(|a| a.resource.strip_prefix("role/").is_some_and(|r| !r.is_empty()))
}

fn own(s: &ConfigState) -> Option<&Recorder> {
    s.recorders.iter().find(|r| !r.service_linked)
}

/// `PutConfigurationRecorder` hands `params.role_arn` to AWS Config: AWS checks `iam:PassRole` on
/// it for the caller (no call of its own).
const PASS_ROLE: &str = "iam:PassRole";

impl RuleFamily for ConfigRecorder {
    const NAME: &'static str = "config-recorder";
    const DOC: FamilyDoc = FamilyDoc {
        changes: "each only if missing: PutConfigurationRecorder (params.recorder_name, role params.role_arn, all supported resource types incl. global), PutDeliveryChannel (params.channel_name to params.bucket), StartConfigurationRecorder; an existing stopped recorder is only started",
        never: "an existing recorder's settings, an existing delivery channel, service-linked recorders, Config rules; nothing is deleted or replaced",
        undo: "StopConfigurationRecorder of a recorder the fix started; then DeleteDeliveryChannel and DeleteConfigurationRecorder of exactly those the fix created (not in the recorded before); a recorder or channel that existed before is never deleted",
        tested: "local stack",
    };
    const RESOURCE: &'static str = "region name (or an AWS Config recorder name)";
    const PLACEMENT: Placement = Placement::Region;
    const READS: &'static [&'static str] = &[DESCRIBE_RECORDERS, DESCRIBE_RECORDER_STATUS, DESCRIBE_CHANNELS];
    const WRITES: &'static [&'static str] = &[
        PUT_RECORDER,
        PUT_CHANNEL,
        START_RECORDER,
        PASS_ROLE,
        STOP_RECORDER,
        DELETE_CHANNEL,
        DELETE_RECORDER,
    ];
    /// The recorder's role may be handed to AWS Config only.
    const CONDITIONS: &'static [ActionCondition] = &[ActionCondition::string_equals(
        PASS_ROLE,
        "iam:PassedToService",
        &["config.amazonaws.com"],
    )];
    type Params = Params;
    type State = ConfigState;
    type Change = Change;

    fn valid_id(id: &str) -> bool {
        ids::is_region_name(id) || is_recorder_name(id)
    }

    async fn read(ctx: &Ctx, resource: &str, _: Tags) -> Result<Option<Read<ConfigState>>, Error> {
        let region = region_of(ctx, resource);
        let cfg = client_in(ctx, region);
        let recorders = cfg
            .describe_configuration_recorders()
            .send()
            .await
            .map_err(|e| Error::from_sdk(DESCRIBE_RECORDERS, e))?;
        let status = cfg
            .describe_configuration_recorder_status()
            .send()
            .await
            .map_err(|e| Error::from_sdk(DESCRIBE_RECORDER_STATUS, e))?;
        let channels = cfg
            .describe_delivery_channels()
            .send()
            .await
            .map_err(|e| Error::from_sdk(DESCRIBE_CHANNELS, e))?;
        let recording = |name: &str| {
            status
                .configuration_recorders_status()
                .iter()
                .any(|s| s.name() == Some(name) && s.recording())
        };
        Ok(Some(Read {
            state: ConfigState {
                region: region.to_string(),
                recorders: recorders
                    .configuration_recorders()
                    .iter()
                    .filter_map(|r| {
                        let name = r.name()?;
                        Some(Recorder {
                            name: name.to_string(),
                            role_arn: r.role_arn().map(str::to_string),
                            all_supported: r.recording_group().is_some_and(|g| g.all_supported()),
                            include_global: r.recording_group().is_some_and(|g| g.include_global_resource_types()),
                            recording: recording(name),
                            service_linked: r.service_principal().is_some(),
                        })
                    })
                    .collect(),
                channels: channels
                    .delivery_channels()
                    .iter()
                    .filter_map(|c| {
                        Some(Channel {
                            name: c.name()?.to_string(),
                            bucket: c.s3_bucket_name().map(str::to_string),
                        })
                    })
                    .collect(),
            },
            // Recorders carry no tags.
            tags: Default::default(),
        }))
    }

    fn assess(s: &ConfigState, p: &Params, t: Target<'_>) -> Assessment<Change> {
        let recorder = own(s);
        let mut untouched: Vec<String> = s
            .recorders
            .iter()
            .map(|r| {
                format!(
                    "{}configuration recorder {} (its role and recording group)",
                    if r.service_linked { "service-linked " } else { "" },
                    r.name
                )
            })
            .chain(s.channels.iter().map(|c| format!("delivery channel {}", c.name)))
            .collect();
        untouched.push("Config rules".into());
        let compliant = recorder.is_some_and(|r| r.recording) && !s.channels.is_empty();
        if compliant {
            let mut plan = t.plan(
                format!("AWS Config is recording in {}: nothing to change", s.region),
                Vec::new(),
            );
            plan.untouched = untouched;
            return Assessment {
                offending: Vec::new(),
                plan,
            };
        }
        let mut offending = Vec::new();
        let mut changes = Vec::new();
        let name = match recorder {
            Some(r) => r.name.clone(),
            None => {
                offending.push(format!("no configuration recorder in {}", s.region));
                changes.push(Change::PutRecorder {
                    name: p.recorder_name.clone(),
                    role_arn: p.role_arn.clone(),
                });
                p.recorder_name.clone()
            }
        };
        if s.channels.is_empty() {
            offending.push(format!("no delivery channel in {}", s.region));
            changes.push(Change::PutChannel {
                name: p.channel_name.clone(),
                bucket: p.bucket.clone(),
            });
        }
        if let Some(r) = recorder.filter(|r| !r.recording) {
            offending.push(format!("configuration recorder {} is not recording", r.name));
        }
        changes.push(Change::StartRecorder { name });
        let missing: Vec<String> = changes
            .iter()
            .filter_map(|c| match c {
                Change::PutRecorder { role_arn: None, .. } => Some(format!("rules.{}.params.role_arn", t.rule_id)),
                Change::PutChannel { bucket: None, .. } => Some(format!("rules.{}.params.bucket", t.rule_id)),
                _ => None,
            })
            .collect();
        let summary = if missing.is_empty() {
            format!("turn AWS Config on in {} ({} change(s))", s.region, changes.len())
        } else {
            format!(
                "turn AWS Config on in {}: cannot, {} not set (the fix stops with ConfigInvalid)",
                s.region,
                missing.join(" and ")
            )
        };
        let mut plan = t.plan(summary, changes);
        plan.untouched = untouched;
        Assessment { offending, plan }
    }

    async fn apply(ctx: &Ctx, resource: &str, _: &ConfigState, changes: &[Change]) -> Result<(), Error> {
        // Everything a change needs is checked before the first call: nothing half-done.
        for c in changes {
            match c {
                Change::PutRecorder { role_arn: None, .. } => {
                    return Err(Error::ConfigInvalid(
                        "rules.Config-001.params.role_arn is not set: the IAM role AWS Config records with".into(),
                    ))
                }
                Change::PutRecorder {
                    role_arn: Some(arn), ..
                } if !is_role_arn(arn) => {
                    return Err(Error::ConfigInvalid(format!(
                        "rules.Config-001.params.role_arn {arn:?} is not an IAM role ARN"
                    )))
                }
                Change::PutChannel { bucket: None, .. } => {
                    return Err(Error::ConfigInvalid(
                        "rules.Config-001.params.bucket is not set: the S3 bucket AWS Config delivers to".into(),
                    ))
                }
                Change::PutChannel { bucket: Some(b), .. } if !ids::is_bucket_name(b) => {
                    return Err(Error::ConfigInvalid(format!(
                        "rules.Config-001.params.bucket {b:?} is not a bucket name"
                    )))
                }
                Change::PutRecorder { name, .. } | Change::PutChannel { name, .. } if !is_recorder_name(name) => {
                    return Err(Error::ConfigInvalid(format!(
                        "rules.Config-001.params: {name:?} is not a valid recorder or channel name"
                    )))
                }
                _ => {}
            }
        }
        let cfg = client_in(ctx, region_of(ctx, resource));
        for c in changes {
            match c {
                Change::PutRecorder { name, role_arn } => {
                    use aws_sdk_config::types::{ConfigurationRecorder as Rec, RecordingGroup};
                    cfg.put_configuration_recorder()
                        .configuration_recorder(
                            Rec::builder()
                                .name(name)
                                .role_arn(role_arn.as_deref().unwrap_or_default())
                                .recording_group(
                                    RecordingGroup::builder()
                                        .all_supported(true)
                                        .include_global_resource_types(true)
                                        .build(),
                                )
                                .build(),
                        )
                        .send()
                        .await
                        .map_err(|e| Error::from_sdk(PUT_RECORDER, e))?;
                }
                Change::PutChannel { name, bucket } => {
                    cfg.put_delivery_channel()
                        .delivery_channel(
                            aws_sdk_config::types::DeliveryChannel::builder()
                                .name(name)
                                .s3_bucket_name(bucket.as_deref().unwrap_or_default())
                                .build(),
                        )
                        .send()
                        .await
                        .map_err(|e| Error::from_sdk(PUT_CHANNEL, e))?;
                }
                Change::StartRecorder { name } => {
                    cfg.start_configuration_recorder()
                        .configuration_recorder_name(name)
                        .send()
                        .await
                        .map_err(|e| Error::from_sdk(START_RECORDER, e))?;
                }
                // Stopping a stopped recorder is a no-op on AWS.
                Change::StopRecorder { name } => {
                    cfg.stop_configuration_recorder()
                        .configuration_recorder_name(name)
                        .send()
                        .await
                        .map_err(|e| Error::from_sdk(STOP_RECORDER, e))?;
                }
                // Already gone (a retry): done.
                Change::DeleteChannel { name } => {
                    if let Err(e) = cfg.delete_delivery_channel().delivery_channel_name(name).send().await {
                        let err = Error::from_sdk(DELETE_CHANNEL, e);
                        if err.aws_code() != Some("NoSuchDeliveryChannelException") {
                            return Err(err);
                        }
                    }
                }
                Change::DeleteRecorder { name } => {
                    if let Err(e) = cfg
                        .delete_configuration_recorder()
                        .configuration_recorder_name(name)
                        .send()
                        .await
                    {
                        let err = Error::from_sdk(DELETE_RECORDER, e);
                        if err.aws_code() != Some("NoSuchConfigurationRecorderException") {
                            return Err(err);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn simulate(s: &ConfigState, changes: &[Change]) -> ConfigState {
        let mut out = s.clone();
        for c in changes {
            match c {
                Change::PutRecorder { name, role_arn } => {
                    if !out.recorders.iter().any(|r| r.name == *name) {
                        out.recorders.push(Recorder {
                            name: name.clone(),
                            role_arn: role_arn.clone(),
                            all_supported: true,
                            include_global: true,
                            recording: false,
                            service_linked: false,
                        });
                    }
                }
                Change::PutChannel { name, bucket } => {
                    if !out.channels.iter().any(|c| c.name == *name) {
                        out.channels.push(Channel {
                            name: name.clone(),
                            bucket: bucket.clone(),
                        });
                    }
                }
                Change::StartRecorder { name } => {
                    for r in out.recorders.iter_mut().filter(|r| r.name == *name) {
                        r.recording = true;
                    }
                }
                Change::StopRecorder { name } => {
                    for r in out.recorders.iter_mut().filter(|r| r.name == *name) {
                        r.recording = false;
                    }
                }
                Change::DeleteChannel { name } => out.channels.retain(|c| c.name != *name),
                Change::DeleteRecorder { name } => out.recorders.retain(|r| r.name != *name),
            }
        }
        out
    }

    fn revert(live: &ConfigState, before: &ConfigState) -> Option<Vec<Change>> {
        let was = |name: &str| before.recorders.iter().find(|r| r.name == name);
        let created = |name: &str| was(name).is_none();
        // Stop first: AWS refuses to delete the channel of a running recorder.
        let stop = live
            .recorders
            .iter()
            .filter(|r| !r.service_linked && r.recording)
            .filter(|r| was(&r.name).is_none_or(|b| !b.recording))
            .map(|r| Change::StopRecorder { name: r.name.clone() });
        let channels = live
            .channels
            .iter()
            .filter(|c| !before.channels.iter().any(|b| b.name == c.name))
            .map(|c| Change::DeleteChannel { name: c.name.clone() });
        let recorders = live
            .recorders
            .iter()
            .filter(|r| !r.service_linked && created(&r.name))
            .map(|r| Change::DeleteRecorder { name: r.name.clone() });
        Some(stop.chain(channels).chain(recorders).collect())
    }

    fn diff(before: &ConfigState, after: &ConfigState) -> Vec<String> {
        let mut out = Vec::new();
        for a in &after.recorders {
            match before.recorders.iter().find(|b| b.name == a.name) {
                None => out.push(format!(
                    "created configuration recorder {} ({})",
                    a.name,
                    if a.recording { "recording" } else { "not recording" }
                )),
                Some(b) if b != a => {
                    if b.recording != a.recording {
                        out.push(format!(
                            "configuration recorder {}: recording {} → {}",
                            a.name, b.recording, a.recording
                        ));
                    }
                    if (b.role_arn.as_ref(), b.all_supported, b.include_global)
                        != (a.role_arn.as_ref(), a.all_supported, a.include_global)
                    {
                        out.push(format!("configuration recorder {}: settings changed", a.name));
                    }
                }
                Some(_) => {}
            }
        }
        for b in &before.recorders {
            if !after.recorders.iter().any(|a| a.name == b.name) {
                out.push(format!("configuration recorder {} no longer exists", b.name));
            }
        }
        for a in &after.channels {
            match before.channels.iter().find(|b| b.name == a.name) {
                None => out.push(format!(
                    "created delivery channel {} to bucket {}",
                    a.name,
                    a.bucket.as_deref().unwrap_or("?")
                )),
                Some(b) if b != a => out.push(format!("delivery channel {}: bucket changed", a.name)),
                Some(_) => {}
            }
        }
        for b in &before.channels {
            if !after.channels.iter().any(|a| a.name == b.name) {
                out.push(format!("delivery channel {} no longer exists", b.name));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
