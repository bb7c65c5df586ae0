//! What the EventBridge sources ([`super::securityhub`], [`super::awsconfig`]) share: the event
//! envelope, RFC 3339 dates, and an ARN's resource id as a family takes it (through the one ARN
//! reader). Which source reads an event is [`super::eventbridge`]'s.

use serde_json::{Map, Value};

use crate::catalog::sources::Mapping;
use crate::error::Error;
use crate::families::helpers::family::DynFamily;
use crate::ids::Arn;
use crate::spec::RuleSpec;

use super::fields::{free_text, optional_str};
use super::{AckReason, Intake, IntakeCtx};

/// The envelope of one EventBridge event.
#[derive(Debug, Clone)]
pub struct Envelope<'a> {
    /// The event's id (logged as the delivery's message id).
    pub id: String,
    pub source: String,
    pub detail_type: String,
    pub detail: &'a Map<String, Value>,
}

/// The event's id, for logs, whatever else is wrong with it.
pub fn event_id(event: &Value) -> &str {
    event
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| s.len() <= 128)
        .unwrap_or("")
}

pub fn envelope(event: &Value) -> Result<Envelope<'_>, Error> {
    let obj = event
        .as_object()
        .ok_or_else(|| Error::InvalidEnvelope("an EventBridge event is a JSON object".into()))?;
    let text =
        |field: &'static str| -> Result<String, Error> { optional_str(obj, field)?.ok_or(Error::MissingField(field)) };
    let source = text("source")?;
    let detail_type = free_text(obj, "detail-type")?.ok_or(Error::MissingField("detail-type"))?;
    let detail = match obj.get("detail") {
        Some(Value::Object(d)) => d,
        None | Some(Value::Null) => return Err(Error::MissingField("detail")),
        Some(_) => return Err(Error::invalid_field("detail", "expected an object")),
    };
    Ok(Envelope {
        id: optional_str(obj, "id")?.unwrap_or_default(),
        source,
        detail_type,
        detail,
    })
}

/// An RFC 3339 date (`2021-07-22T15:22:40.888Z`, an offset `+hh:mm` allowed) as epoch
/// milliseconds, read by the SDK's own date parser; before 1970 is refused.
pub fn rfc3339_ms(field: &'static str, s: &str) -> Result<u64, Error> {
    use aws_smithy_types::date_time::{DateTime, Format};
    let bad = || Error::invalid_field(field, "expected an RFC 3339 date like 2021-07-22T15:22:40.888Z");
    let t = DateTime::from_str(s, Format::DateTimeWithOffset).map_err(|_| bad())?;
    t.to_millis().ok().and_then(|ms| u64::try_from(ms).ok()).ok_or_else(bad)
}

/// An optional RFC 3339 date field of `obj`.
pub fn optional_date(obj: &Map<String, Value>, field: &'static str) -> Result<Option<u64>, Error> {
    optional_str(obj, field)?.map(|s| rfc3339_ms(field, &s)).transpose()
}

/// An optional object field of `obj`.
pub fn optional_object<'a>(
    obj: &'a Map<String, Value>,
    field: &'static str,
) -> Result<Option<&'a Map<String, Value>>, Error> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(_) => Err(Error::invalid_field(field, "expected an object")),
    }
}

/// The catalog rules a source check's mapping heals with, in its order: each rule's spec, or
/// the acknowledgement (`RuleNotHealed`) saying why that rule does not heal `check` here (this
/// catalog does not hold it; it is configured for other parameters than the check is about).
pub fn mapped_rules<'c>(
    mapping: &'c Mapping,
    cx: &'c IntakeCtx<'c>,
    check: &'c str,
) -> impl Iterator<Item = Result<&'c RuleSpec, Intake>> + 'c {
    mapping.rules.iter().map(move |rule_id| {
        let spec = cx.catalog.get(rule_id).ok_or_else(|| {
            Intake::ack(
                AckReason::RuleNotHealed,
                Some(rule_id),
                format!("{check} maps to {rule_id}, which this catalog does not hold"),
            )
        })?;
        match mapping.params_differ(spec) {
            Some(why) => Err(Intake::ack(
                AckReason::RuleNotHealed,
                Some(rule_id),
                format!("{check} is not healed by this deployment's {rule_id}: {why}"),
            )),
            None => Ok(spec),
        }
    })
}

/// The resource a family acts on, from an ARN the source names: its short id when the family
/// takes it (so the same resource flagged by two sources is one resource, one lease), else the
/// whole ARN. The ARN's account and region, when it has them, must be the finding's.
pub fn resource_from_arn(
    field: &'static str,
    text: &str,
    family: &dyn DynFamily,
    account: &str,
    region: &str,
) -> Result<String, Error> {
    let arn = Arn::parse(text).ok_or_else(|| Error::invalid_field(field, "not an AWS ARN"))?;
    if !arn.account.is_empty() && arn.account != account {
        return Err(Error::AccountMismatch(format!(
            "the finding's account is {account}, its resource's ARN names {}",
            arn.account
        )));
    }
    if !arn.region.is_empty() && arn.region != region {
        return Err(Error::RegionMismatch(format!(
            "the finding's region is {region}, its resource's ARN names {}",
            arn.region
        )));
    }
    let short = arn.resource_id();
    if family.valid_id(short) {
        Ok(short.to_string())
    } else if family.valid_id(text) {
        Ok(text.to_string())
    } else {
        Err(Error::InvalidResourceId {
            id: short.chars().take(80).collect(),
            kind: family.resource(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates_are_epoch_milliseconds_and_anything_else_is_named() {
        assert_eq!(rfc3339_ms("t", "1970-01-01T00:00:00Z").unwrap(), 0);
        assert_eq!(rfc3339_ms("t", "2021-07-22T15:22:40.888Z").unwrap(), 1_626_967_360_888);
        assert_eq!(
            rfc3339_ms("t", "2021-07-22T17:22:40.888+02:00").unwrap(),
            1_626_967_360_888
        );
        assert_eq!(rfc3339_ms("t", "2020-02-29T00:00:00.5Z").unwrap(), 1_582_934_400_500);
        for bad in [
            "",
            "2021-07-22",
            "2021-07-22 15:22:40Z",
            "2021-13-22T15:22:40Z",
            "2021-07-22T15:22:40",
            "2021-07-22T15:22:40.Z",
            "1969-12-31T23:59:59Z",
            "２０21-07-22T15:22:40Z",
            "2021-07-22T15:22:40+0200",
        ] {
            assert_eq!(rfc3339_ms("t", bad).unwrap_err().name(), "InvalidField", "{bad}");
        }
    }
}
