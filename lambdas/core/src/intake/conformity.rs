//! Conformity's check messages, as Conformity really publishes them to the SNS topic (the
//! verbatim samples in `tests/fixtures/conformity-samples/`; README, "Intake", has the field
//! table).
//!
//! - The **AWS account** comes from `cloudProviderId`, else from an AWS ARN inside `link`, else
//!   from the config's `accounts` entry listing the message's `accountId` (Conformity's own id);
//!   never from the `ccrn`, whose account part is Conformity's id too. Sources that disagree are
//!   refused (`AccountMismatch`); none at all is acknowledged (`AccountUnresolved`).
//! - The **region**: `region` and the `ccrn`'s may differ (`global` in one, a region in the
//!   other); two real regions that differ are refused (`RegionMismatch`); see
//!   [`super::resolve_region`] for which decides per family.
//! - The **resource**: `resource`, or the region for region-level checks that name none
//!   (GD-001, Config-001, CT-001); the family may complete it from `extradata` (IAM-001's
//!   `UserName`). The `ccrn`'s resource part may hold `:` and `/`.

use crate::config::{is_account_number, is_scanner_account_id};
use crate::error::Error;
use crate::families::helpers::family::Placement;
use crate::finding::{AccountSource, Finding, Status};
use crate::ids::{is_region_name, Arn};

use super::fields::{self, free_text, long_str, optional_epoch_ms, optional_str};
use super::{checked_resource, resolve_region, AckReason, Intake, IntakeCtx};

/// The plain string Conformity sends when a user sets the SNS channel up (not JSON).
pub const CHANNEL_TEST_MESSAGE: &str = "Test Message from Cloud Conformity";

/// `ccrn:aws:<Conformity account>:<service>:<region>:<resource>`, split on the first five colons.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Ccrn<'a> {
    region: Option<&'a str>,
    resource: Option<&'a str>,
}

fn ccrn(text: &str) -> Result<Ccrn<'_>, Error> {
    let parts: Vec<&str> = text.splitn(6, ':').collect();
    if parts.len() < 5 || parts[0] != "ccrn" || parts[1] != "aws" {
        return Err(Error::invalid_field(
            "ccrn",
            "expected ccrn:aws:<account>:<service>:<region>:<resource>",
        ));
    }
    if !is_scanner_account_id(parts[2]) {
        return Err(Error::invalid_field("ccrn", "its account part is not an account id"));
    }
    let region = Some(parts[4]).filter(|r| !r.is_empty());
    if let Some(r) = region {
        if r != "global" && !is_region_name(r) {
            return Err(Error::invalid_field(
                "ccrn",
                "its region is neither `global` nor an AWS region",
            ));
        }
    }
    Ok(Ccrn {
        region,
        resource: parts.get(5).copied().filter(|r| !r.is_empty()),
    })
}

/// The AWS accounts named by ARNs inside a console link (percent-encoded or not), each once.
pub fn accounts_in_link(link: &str) -> Vec<String> {
    let decoded = percent_encoding::percent_decode_str(link).decode_utf8_lossy();
    let mut found: Vec<String> = Vec::new();
    for (at, _) in decoded.match_indices("arn:") {
        if decoded[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            continue;
        }
        let rest = &decoded[at..];
        let end = rest
            .find(|c: char| c.is_whitespace() || matches!(c, '?' | '#' | '&' | '"' | '\'' | ',' | ';' | '<' | '>'))
            .unwrap_or(rest.len());
        if let Some(arn) = Arn::parse(&rest[..end]).filter(|a| !a.account.is_empty()) {
            if !found.iter().any(|a| a == arn.account) {
                found.push(arn.account.to_string());
            }
        }
    }
    found
}

/// The finding's AWS account and where it came from; `None` when no source names one.
fn account(
    obj: &serde_json::Map<String, serde_json::Value>,
    cx: &IntakeCtx<'_>,
    scanner_account: Option<&str>,
) -> Result<Option<(String, AccountSource)>, Error> {
    let provider = optional_str(obj, "cloudProviderId")?;
    if let Some(p) = &provider {
        if !is_account_number(p) {
            return Err(Error::invalid_field(
                "cloudProviderId",
                "not a 12-digit AWS account number",
            ));
        }
    }
    let in_link = match long_str(obj, "link")? {
        Some(link) => accounts_in_link(link),
        None => Vec::new(),
    };
    if in_link.len() > 1 {
        return Err(Error::AccountMismatch(format!(
            "`link` names accounts {}",
            in_link.join(" and ")
        )));
    }
    let mapped = scanner_account.and_then(|id| cx.config.account_for_scanner_id(id));
    let sources = [
        (provider.as_deref(), AccountSource::CloudProviderId, "`cloudProviderId`"),
        (
            in_link.first().map(String::as_str),
            AccountSource::Link,
            "the ARN in `link`",
        ),
        (mapped, AccountSource::Config, "the config's `accounts` for `accountId`"),
    ];
    let mut named = sources.iter().filter_map(|(a, s, what)| a.map(|a| (a, *s, *what)));
    let Some((first, source, first_what)) = named.next() else {
        return Ok(None);
    };
    if let Some((other, _, what)) = named.find(|(a, _, _)| *a != first) {
        return Err(Error::AccountMismatch(format!(
            "{first_what} says {first}, {what} says {other}"
        )));
    }
    Ok(Some((first.to_string(), source)))
}

/// Sorts one SNS `Message` string into acted on, acknowledged, or rejected (an error).
pub fn parse(message: &str, cx: &IntakeCtx<'_>) -> Result<Intake, Error> {
    if message.len() <= 256 && message.trim().eq_ignore_ascii_case(CHANNEL_TEST_MESSAGE) {
        return Ok(Intake::ack(
            AckReason::ChannelTest,
            None,
            "the channel's set-up test message: the topic reaches auto-remediate",
        ));
    }
    let obj = fields::json_object(message)?;
    let rule_id = match obj.get("ruleId") {
        None | Some(serde_json::Value::Null) => {
            return Ok(Intake::ack(
                AckReason::NotACheck,
                None,
                "a message without `ruleId` is not a check (Real-Time Monitoring activity, or another publisher's)",
            ))
        }
        Some(_) => optional_str(&obj, "ruleId")?.ok_or_else(|| Error::invalid_field("ruleId", "is empty"))?,
    };
    if !crate::catalog::is_rule_id_shaped(&rule_id) {
        return Err(Error::invalid_field("ruleId", "not a rule id like S3-001"));
    }
    let status = fields::status(&obj)?;
    if status == Status::Success {
        return Ok(Intake::ack(
            AckReason::Success,
            Some(&rule_id),
            format!("check {rule_id} passed (status SUCCESS): nothing to do"),
        ));
    }
    let Some(spec) = cx.catalog.get(&rule_id) else {
        return Ok(Intake::ack(
            AckReason::RuleNotHealed,
            Some(&rule_id),
            format!("rule {rule_id} is not one auto-remediate heals"),
        ));
    };
    let family = spec.family_impl();

    // A failure of a rule we heal: every field that decides where to act must be right.
    let ccrn_text = optional_str(&obj, "ccrn")?;
    let ccrn = ccrn_text.as_deref().map(ccrn).transpose()?;
    let region_field = optional_str(&obj, "region")?;
    if let Some(r) = &region_field {
        if r != "global" && !is_region_name(r) {
            return Err(Error::invalid_field("region", "not `global` nor an AWS region name"));
        }
    }
    if let Some(service) = optional_str(&obj, "service")? {
        if !service.eq_ignore_ascii_case(&spec.service) {
            return Err(Error::invalid_field(
                "service",
                format!(
                    "rule {} is an {} rule, the message says {service:?}",
                    spec.id, spec.service
                ),
            ));
        }
    }
    let (region, reported_region) = resolve_region(
        region_field.as_deref(),
        ccrn.as_ref().and_then(|c| c.region),
        family.placement(),
        cx.region,
    )?;
    let sent = optional_str(&obj, "resource")?;
    if let (Some(sent), Some(named)) = (&sent, ccrn.as_ref().and_then(|c| c.resource)) {
        if sent != named {
            return Err(Error::invalid_field(
                "ccrn",
                "its resource differs from the message's `resource`",
            ));
        }
    }
    let extradata = fields::extradata(obj.get("extradata"))?;
    let resource = match (&sent, family.placement()) {
        (Some(sent), Placement::Region) if is_region_name(sent) && *sent != region => {
            return Err(Error::RegionMismatch(format!(
                "the check is about region {sent}, the message's region is {region}"
            )))
        }
        (Some(sent), _) => family.resource_from(sent, &extradata),
        (None, Placement::Region) => region.clone(),
        (None, _) => return Err(Error::MissingField("resource")),
    };
    let resource = checked_resource(family, resource)?;
    let scanner_account = optional_str(&obj, "accountId")?.filter(|a| is_scanner_account_id(a));
    let check_id = optional_str(&obj, "id")?;
    let rule_title = free_text(&obj, "ruleTitle")?;
    let risk_level = optional_str(&obj, "riskLevel")?;
    let text = free_text(&obj, "message")?;
    let created_at_ms = optional_epoch_ms(&obj, "createdDate")?;
    let discovered_at_ms = optional_epoch_ms(&obj, "failureDiscoveryDate")?;
    let tags = fields::tags(obj.get("tags"))?;
    let Some((account_id, account_source)) = account(&obj, cx, scanner_account.as_deref())? else {
        return Ok(Intake::ack(
            AckReason::AccountUnresolved,
            Some(&rule_id),
            format!(
                "no AWS account for {rule_id} on {resource}: no `cloudProviderId`, no ARN in `link`, and {}",
                match &scanner_account {
                    Some(id) => format!("no `accounts` entry lists Conformity account {id}"),
                    None => "no `accountId`".to_string(),
                }
            ),
        ));
    };
    Ok(Intake::Failure(Box::new(Finding {
        source: "conformity".into(),
        check_id: check_id
            .or(ccrn_text.map(|c| format!("{c}:{rule_id}")))
            .unwrap_or_else(|| format!("{rule_id}:{reported_region}:{resource}")),
        rule_id,
        rule_title,
        service: spec.service.clone(),
        status,
        account_id,
        account_source: Some(account_source),
        scanner_account,
        region,
        reported_region,
        resource,
        risk_level,
        message: text,
        discovered_at_ms,
        created_at_ms,
        tags,
        source_ids: Default::default(),
        undo: None,
    })))
}

/// A failure as Conformity publishes it today (`cloudProviderId`, Conformity's own account id
/// in `accountId`, `id` and `ccrn`, tags as `key::value`), for `rule_id` on `resource` in AWS
/// account `account` and `region`: what the demo publishes, and what the tests build on. Per
/// the rule's family: S3 arrives with `region` global and the bucket's region in the `ccrn`;
/// IAM and Organizations with `global`; region-level checks without a resource when `resource`
/// is the region; an access key as `user/AKIA...` arrives as the key id with the user in
/// `extradata`.
pub fn failure_message(
    catalog: &crate::catalog::Catalog,
    account: &str,
    rule_id: &str,
    region: &str,
    resource: &str,
    discovered_ms: u64,
) -> serde_json::Value {
    let conformity_account = "b9f1ce2e-4a43-4c34-b0c6-0d2a4c2bd0f4";
    let rule = catalog.get(rule_id);
    let service = rule
        .map(|r| r.service.clone())
        .unwrap_or_else(|| rule_id.split('-').next().unwrap_or_default().to_string());
    let placement = rule.map(|r| r.family_impl().placement()).unwrap_or(Placement::Regional);
    let (message_region, ccrn_region) = match placement {
        Placement::Located => ("global", region),
        Placement::Global => ("global", "global"),
        Placement::Regional | Placement::Region => (region, region),
    };
    let (sent, extradata) = match crate::families::helpers::iam_keys::user_key(resource) {
        Some((user, key)) => (
            key,
            serde_json::json!([{"name": "UserName", "label": "User Name", "type": "META", "value": user}]),
        ),
        None => (resource, serde_json::json!([])),
    };
    let sent = if placement == Placement::Region && sent == region {
        ""
    } else {
        sent
    };
    let mut m = serde_json::json!({
        "id": format!("ccc:{conformity_account}:{rule_id}:{service}:{ccrn_region}:{sent}"),
        "organisationId": "9bZA_h76p",
        "accountId": conformity_account,
        "cloudProviderId": account,
        "ruleId": rule_id,
        "ruleTitle": rule.map(|r| r.title.as_str()),
        "service": service,
        "region": message_region,
        "riskLevel": rule.map(|r| r.risk.as_str()).unwrap_or("HIGH"),
        "categories": ["security"],
        "compliances": ["AWAF"],
        "message": format!("{resource} fails {rule_id}"),
        "status": "FAILURE",
        "notScored": false,
        "failureDiscoveryDate": discovered_ms,
        "lastStatusUpdateDate": discovered_ms,
        "ccrn": format!("ccrn:aws:{conformity_account}:{service}:{ccrn_region}:{sent}"),
        "tags": ["team::platform"],
        "extradata": extradata,
        "cost": null,
        "waste": null,
        "lastModifiedDate": discovered_ms,
        "createdDate": discovered_ms,
        "resolutionPageURL": format!("https://www.cloudconformity.com/knowledge-base/aws/{service}/"),
    });
    if !sent.is_empty() {
        m["resource"] = serde_json::Value::String(sent.to_string());
    }
    m
}

#[cfg(test)]
mod tests;

/// Intake never panics, whatever arrives, and never acts on an account other than the one the
/// message's sources name.
#[cfg(test)]
mod properties;
