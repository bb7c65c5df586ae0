//! AWS Config: EventBridge `Config Rules Compliance Change` events (the samples in
//! `tests/fixtures/config-samples/` say where each comes from).
//!
//! - The status: `newEvaluationResult.complianceType`; NON_COMPLIANT is acted on, COMPLIANT is
//!   acknowledged `Success`, NOT_APPLICABLE and INSUFFICIENT_DATA `NotFailed`.
//! - The rule: the event names the Config rule (`configRuleName`, `configRuleARN`), never its
//!   managed rule identifier. The identifier is found from the name by the name AWS documents for
//!   each managed rule (its default name: `restricted-ssh` is `INCOMING_SSH_DISABLED`), also as
//!   Security Hub names its own rules (`securityhub-<name>-<suffix>`) and a conformance pack
//!   (`<name>-conformance-pack-<suffix>`) ([`crate::catalog::sources::Sources::config_rule`]). A rule
//!   named otherwise is found by the config's `sources.config_rules` (rule name to identifier,
//!   looked up first and exactly: [`crate::catalog::sources::Sources::config_rule_named`]), else
//!   acknowledged `RuleNotHealed`, its name in the detail with the config key to set.
//! - The resource: `resourceId` (a bucket name, `sg-...`, a key id; an ARN is read by the one
//!   ARN reader), of `resourceType` (the CloudFormation type), which must be one the mapping's
//!   rules act on; region-level rules act on the region, their resource being the account.
//! - A mapped rule the config gave other values of the mapping's `params` (EC2-002 on another
//!   port than restricted-ssh's 22) is acknowledged `RuleNotHealed`.
//! - The account: `awsAccountId`; the region: `awsRegion`.
//! - Dates: `newEvaluationResult.resultRecordedTime` (each compliance change is a new failure),
//!   the evaluation's `orderingTimestamp` as its creation.

use std::collections::BTreeMap;

use crate::error::Error;
use crate::families::helpers::family::Placement;
use crate::finding::{AccountSource, Finding, Status};
use crate::ids::{is_account_number, is_region_name};

use super::event::{mapped_rules, optional_date, optional_object, resource_from_arn, Envelope};
use super::fields::{free_text, optional_str};
use super::{checked_resource, resolve_region, AckReason, Intake, IntakeCtx};
use crate::catalog::sources::sources;

pub const SOURCE: &str = "aws.config";
pub const DETAIL_TYPE: &str = "Config Rules Compliance Change";

/// Sorts one event: one result per catalog rule the managed rule maps to, or one
/// acknowledgement or rejection for the event.
pub fn parse(env: &Envelope<'_>, cx: &IntakeCtx<'_>) -> Vec<Result<Intake, Error>> {
    match rules(env, cx) {
        Ok(out) => out,
        Err(e) => vec![Err(e)],
    }
}

fn ack(reason: AckReason, detail: String) -> Result<Vec<Result<Intake, Error>>, Error> {
    Ok(vec![Ok(Intake::ack(reason, None, detail))])
}

fn rules(env: &Envelope<'_>, cx: &IntakeCtx<'_>) -> Result<Vec<Result<Intake, Error>>, Error> {
    let d = env.detail;
    let rule_name = optional_str(d, "configRuleName")?.ok_or(Error::MissingField("configRuleName"))?;
    let new = optional_object(d, "newEvaluationResult")?.ok_or(Error::MissingField("newEvaluationResult"))?;
    match optional_str(new, "complianceType")?.as_deref() {
        Some("NON_COMPLIANT") => {}
        Some("COMPLIANT") => {
            return ack(
                AckReason::Success,
                format!("Config rule {rule_name} is compliant: nothing to do"),
            )
        }
        Some(s @ ("NOT_APPLICABLE" | "INSUFFICIENT_DATA")) => {
            return ack(
                AckReason::NotFailed,
                format!("Config rule {rule_name} is {s}, not NON_COMPLIANT: nothing to do"),
            )
        }
        None => return Err(Error::MissingField("newEvaluationResult.complianceType")),
        Some(_) => {
            return Err(Error::invalid_field(
                "newEvaluationResult.complianceType",
                "not a compliance type",
            ))
        }
    }
    let Some((identifier, mapping)) = sources().config_rule_named(&rule_name, &cx.config.sources.config_rules) else {
        let shown: String = rule_name.chars().take(128).collect();
        return ack(
            AckReason::RuleNotHealed,
            format!(
                "Config rule {shown} is not a managed rule auto-remediate heals (by its documented name, \
                 securityhub-<name>-<suffix> or <name>-conformance-pack-<suffix>, or by the config's \
                 sources.config_rules); if it runs a managed rule auto-remediate heals under a name of \
                 your own, map it in the config: \"sources\": {{\"config_rules\": {{\"{shown}\": \"<managed rule identifier>\"}}}}"
            ),
        );
    };
    let resource_type = optional_str(d, "resourceType")?.ok_or(Error::MissingField("resourceType"))?;
    if !mapping.resource_types.contains(&resource_type) {
        return ack(
            AckReason::RuleNotHealed,
            format!(
                "Config {identifier} on a {}: its rules act on {} only",
                resource_type.chars().take(64).collect::<String>(),
                mapping.resource_types.join(", ")
            ),
        );
    }
    let account = optional_str(d, "awsAccountId")?.ok_or(Error::MissingField("awsAccountId"))?;
    if !is_account_number(&account) {
        return Err(Error::invalid_field(
            "awsAccountId",
            "not a 12-digit AWS account number",
        ));
    }
    let region_field = optional_str(d, "awsRegion")?.ok_or(Error::MissingField("awsRegion"))?;
    if !is_region_name(&region_field) {
        return Err(Error::invalid_field("awsRegion", "not an AWS region name"));
    }
    let resource_id = optional_str(d, "resourceId")?.ok_or(Error::MissingField("resourceId"))?;
    let recorded = optional_date(new, "resultRecordedTime")?;
    let ordering = optional_object(new, "evaluationResultIdentifier")?
        .map(|i| optional_date(i, "orderingTimestamp"))
        .transpose()?
        .flatten();
    let annotation = free_text(new, "annotation")?;
    let rule_arn = optional_str(d, "configRuleARN")?;

    let mut source_ids = BTreeMap::from([
        ("configRuleName".to_string(), rule_name.clone()),
        ("identifier".to_string(), identifier.to_string()),
        ("resourceType".to_string(), resource_type.clone()),
        ("resourceId".to_string(), resource_id.clone()),
    ]);
    if let Some(arn) = rule_arn {
        source_ids.insert("configRuleARN".into(), arn);
    }
    let mut out = Vec::with_capacity(mapping.rules.len());
    let check = format!("Config {identifier}");
    for spec in mapped_rules(mapping, cx, &check) {
        let spec = match spec {
            Ok(spec) => spec,
            Err(ack) => {
                out.push(Ok(ack));
                continue;
            }
        };
        let rule_id = &spec.id;
        let family = spec.family_impl();
        let one = (|| -> Result<Finding, Error> {
            let (region, reported_region) = resolve_region(Some(&region_field), None, family.placement(), cx.region)?;
            let resource = match family.placement() {
                Placement::Region => {
                    if is_account_number(&resource_id) && resource_id != account {
                        return Err(Error::AccountMismatch(format!(
                            "`awsAccountId` says {account}, `resourceId` names account {resource_id}"
                        )));
                    }
                    region.clone()
                }
                _ if resource_id.starts_with("arn:") => {
                    resource_from_arn("resourceId", &resource_id, family, &account, &region)?
                }
                _ => resource_id.clone(),
            };
            let resource = checked_resource(family, resource)?;
            Ok(Finding {
                source: "config".into(),
                check_id: format!("config:{rule_name}:{resource_type}:{resource_id}"),
                rule_id: rule_id.clone(),
                rule_title: Some(rule_name.clone()),
                service: spec.service.clone(),
                status: Status::Failure,
                account_id: account.clone(),
                account_source: Some(AccountSource::Event),
                scanner_account: None,
                region,
                reported_region,
                resource,
                risk_level: None,
                message: annotation.clone(),
                discovered_at_ms: recorded,
                created_at_ms: ordering,
                tags: BTreeMap::new(),
                source_ids: source_ids.clone(),
                undo: None,
            })
        })();
        out.push(one.map(|f| Intake::Failure(Box::new(f))));
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests;
