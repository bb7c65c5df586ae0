//! Intake: whatever arrives on the topic becomes one of three kinds of delivery, never confused.
//!
//! - **acted on** ([`Intake::Failure`]): a failed check of a catalog rule, in a resolved AWS
//!   account (the trigger then applies the allow-list and the rule's mode, and starts a run);
//! - **acknowledged** ([`Intake::Acknowledged`]): well formed, but nothing to do, with its
//!   [`AckReason`] (a passed check, a rule this project does not heal, the channel's test string…);
//! - **rejected** (an [`Error`]): malformed or hostile, named by what is wrong.
//!
//! Each source is one module turning its message into the same [`Finding`]: [`conformity`]
//! (SNS), [`securityhub`] and [`awsconfig`] (EventBridge events, told apart and handed over by
//! [`eventbridge`]); which catalog rules a Security Hub control or Config rule heals is data,
//! [`sources`] (`catalog/sources.json`). Adding a source is one module here and its table
//! entries: no family changes. Nothing here performs I/O: an acknowledged or rejected message
//! touches nothing.

pub mod awsconfig;
pub mod conformity;
pub mod event;
pub mod eventbridge;
mod fields;
pub mod securityhub;

use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::config::Config;
use crate::error::Error;
use crate::families::helpers::family::{DynFamily, Placement};
use crate::finding::Finding;
use crate::ids::is_region_name;

pub use fields::MAX_MESSAGE_BYTES;

/// What intake needs besides the message: the rules, the deployment's region (where global
/// services are addressed) and the config (its `accounts` map the scanner's account ids).
#[derive(Debug, Clone, Copy)]
pub struct IntakeCtx<'a> {
    pub catalog: &'a Catalog,
    pub region: &'a str,
    pub config: &'a Config,
}

static NO_CONFIG: LazyLock<Config> = LazyLock::new(Config::default);

impl<'a> IntakeCtx<'a> {
    /// With the default config (no account mapping).
    pub fn new(catalog: &'a Catalog, region: &'a str) -> Self {
        IntakeCtx {
            catalog,
            region,
            config: &NO_CONFIG,
        }
    }
}

/// Why a well-formed delivery starts nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AckReason {
    /// The check passed (`status` SUCCESS).
    Success,
    /// A failure of a rule this project does not heal (most of Conformity's ~1,000).
    RuleNotHealed,
    /// A rule the config turns `off`.
    RuleOff,
    /// The finding's AWS account is not one this deployment acts in.
    AccountNotAllowed,
    /// No AWS account could be found for the finding (no `cloudProviderId`, no ARN in `link`,
    /// no `accounts` entry for the scanner's account id).
    AccountUnresolved,
    /// The channel's set-up string, `Test Message from Cloud Conformity`.
    ChannelTest,
    /// A JSON message that is not a check (no `ruleId`: Real-Time Monitoring activity, ...; a
    /// Security Hub finding without `Compliance`; an EventBridge event no source reads).
    NotACheck,
    /// A check neither passed nor failed (Security Hub `WARNING`/`NOT_AVAILABLE`, Config
    /// `NOT_APPLICABLE`/`INSUFFICIENT_DATA`).
    NotFailed,
    /// A Security Hub finding someone suppressed (`Workflow.Status` SUPPRESSED).
    Suppressed,
    /// A Security Hub finding marked resolved (`Workflow.Status` RESOLVED).
    Resolved,
    /// A Security Hub finding no longer live (`RecordState` ARCHIVED: the resource or control is gone).
    Archived,
}

impl AckReason {
    pub const ALL: [AckReason; 11] = [
        AckReason::Success,
        AckReason::RuleNotHealed,
        AckReason::RuleOff,
        AckReason::AccountNotAllowed,
        AckReason::AccountUnresolved,
        AckReason::ChannelTest,
        AckReason::NotACheck,
        AckReason::NotFailed,
        AckReason::Suppressed,
        AckReason::Resolved,
        AckReason::Archived,
    ];

    pub fn name(self) -> &'static str {
        match self {
            AckReason::Success => "Success",
            AckReason::RuleNotHealed => "RuleNotHealed",
            AckReason::RuleOff => "RuleOff",
            AckReason::AccountNotAllowed => "AccountNotAllowed",
            AckReason::AccountUnresolved => "AccountUnresolved",
            AckReason::ChannelTest => "ChannelTest",
            AckReason::NotACheck => "NotACheck",
            AckReason::NotFailed => "NotFailed",
            AckReason::Suppressed => "Suppressed",
            AckReason::Resolved => "Resolved",
            AckReason::Archived => "Archived",
        }
    }
}

/// An acknowledged delivery: why, and about which rule when it says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ack {
    pub reason: AckReason,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<String>,
    pub detail: String,
}

/// What intake makes of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intake {
    /// A failure to act on (boxed: a finding is much larger than an acknowledgement).
    Failure(Box<Finding>),
    /// Nothing to do, and why.
    Acknowledged(Ack),
}

impl Intake {
    pub fn ack(reason: AckReason, rule_id: Option<&str>, detail: impl Into<String>) -> Intake {
        Intake::Acknowledged(Ack {
            reason,
            rule_id: rule_id.map(str::to_string),
            detail: detail.into(),
        })
    }
}

/// The three kinds of delivery, for logs, metrics (`Delivery` dimension) and `/_local/deliveries`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Delivery {
    ActedOn,
    Acknowledged,
    Rejected,
}

impl Delivery {
    pub fn name(self) -> &'static str {
        match self {
            Delivery::ActedOn => "ActedOn",
            Delivery::Acknowledged => "Acknowledged",
            Delivery::Rejected => "Rejected",
        }
    }
}

/// The region a finding acts in, and the region it reported, from the two places a message
/// may name one (its `region` and, for Conformity, the `ccrn`'s), each `global`, a region or
/// absent. Two real regions that differ are refused. Where the family's resources are global
/// or located by the live resource, the deployment's region is used whatever the message says;
/// otherwise the named region, the deployment's for `global`, and an error when neither says.
pub fn resolve_region(
    message: Option<&str>,
    other: Option<&str>,
    placement: Placement,
    deployment: &str,
) -> Result<(String, String), Error> {
    fn real(r: Option<&str>) -> Option<&str> {
        r.filter(|r| is_region_name(r))
    }
    if let (Some(a), Some(b)) = (real(message), real(other)) {
        if a != b {
            return Err(Error::RegionMismatch(format!("`region` says {a}, the ccrn {b}")));
        }
    }
    let named = real(message).or(real(other));
    let reported = message.or(other).unwrap_or("global").to_string();
    let act = match (placement, named) {
        (Placement::Located | Placement::Global, _) => deployment,
        (Placement::Regional | Placement::Region, Some(r)) => r,
        (Placement::Regional | Placement::Region, None) if message.is_some() || other.is_some() => deployment,
        (Placement::Regional | Placement::Region, None) => return Err(Error::MissingField("region")),
    };
    Ok((act.to_string(), reported))
}

/// `resource` if `family` takes it as an id, else `InvalidResourceId` naming it (cut to 80
/// characters) and what the family expected: every source's last check before a finding.
pub fn checked_resource(family: &dyn DynFamily, resource: String) -> Result<String, Error> {
    if family.valid_id(&resource) {
        Ok(resource)
    } else {
        Err(Error::InvalidResourceId {
            id: resource.chars().take(80).collect(),
            kind: family.resource(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_resolve_by_placement_and_disagreement_is_refused() {
        let r = |m, o, p| resolve_region(m, o, p, "eu-west-1");
        let ok = |m, o, p| r(m, o, p).unwrap().0;
        // S3: the live bucket decides; the message's region either way is only reported.
        assert_eq!(
            ok(Some("ap-southeast-2"), Some("global"), Placement::Located),
            "eu-west-1"
        );
        assert_eq!(ok(Some("global"), Some("us-east-1"), Placement::Located), "eu-west-1");
        assert_eq!(
            r(Some("global"), Some("us-east-1"), Placement::Located).unwrap().1,
            "global"
        );
        assert_eq!(ok(None, None, Placement::Global), "eu-west-1");
        assert_eq!(ok(Some("global"), Some("us-west-2"), Placement::Regional), "us-west-2");
        assert_eq!(ok(Some("us-west-2"), None, Placement::Region), "us-west-2");
        assert_eq!(ok(Some("global"), None, Placement::Regional), "eu-west-1");
        assert_eq!(r(None, None, Placement::Regional).unwrap_err().name(), "MissingField");
        for p in [
            Placement::Regional,
            Placement::Located,
            Placement::Global,
            Placement::Region,
        ] {
            assert_eq!(
                r(Some("us-east-1"), Some("us-west-2"), p).unwrap_err().name(),
                "RegionMismatch"
            );
        }
    }
}
