//! AWS Security Hub: EventBridge `Security Hub Findings - Imported` events, each carrying
//! findings in the AWS Security Finding Format (ASFF) under `detail.findings[]` (the samples in
//! `tests/fixtures/securityhub-samples/` say where each comes from).
//!
//! Per finding, in this order:
//! - no `Compliance` (GuardDuty, Inspector, a partner's finding): acknowledged `NotACheck`;
//! - the control: `Compliance.SecurityControlId` (consolidated control findings), else, for the
//!   AWS Foundational Security Best Practices standard, the last part of
//!   `ProductFields.StandardsControlArn` (older findings); none: `NotACheck`;
//! - `RecordState` ARCHIVED: `Archived`; `Compliance.Status` PASSED: `Success`, WARNING or
//!   NOT_AVAILABLE: `NotFailed`; `Workflow.Status` (else the older `WorkflowState`) SUPPRESSED:
//!   `Suppressed`, RESOLVED: `Resolved`. Only FAILED, ACTIVE, NEW or NOTIFIED is acted on;
//! - the control's mapping ([`crate::catalog::sources`]): none, or a resource type its rules do not act
//!   on (an RDS cluster snapshot for RDS.1): `RuleNotHealed`; so is a mapped rule the config
//!   gave other values of the mapping's `params` (EC2-002 on another port than EC2.13's 22);
//! - the account: `AwsAccountId` (12 digits), checked against the config's `accounts` by the
//!   trigger like every source's; the region: `Region`, and `Resources[0].Region`, which must
//!   agree ([`super::resolve_region`]);
//! - the resource: `Resources[0].Id`, an ARN read by the one ARN reader
//!   ([`super::event::resource_from_arn`]: its account and region must be the finding's);
//!   region-level rules (GuardDuty.1) act on the region, their resource being the account
//!   (`AWS::::Account:<id>`, which must be the finding's);
//! - one finding per mapped rule, each with the finding's `Id` and `ProductArn` kept for
//!   `BatchUpdateFindings`, `UpdatedAt` as its discovery time (a failure raised again after a
//!   heal is a newer update, so it runs again) and `CreatedAt`, the resource's `Tags`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::Error;
use crate::families::helpers::family::Placement;
use crate::finding::{AccountSource, Finding, Status};
use crate::ids::{is_account_number, is_region_name};

use super::event::{mapped_rules, optional_date, optional_object, resource_from_arn, Envelope};
use super::fields::{self, free_text, optional_str};
use super::{checked_resource, resolve_region, AckReason, Intake, IntakeCtx};
use crate::catalog::sources::sources;

pub const SOURCE: &str = "aws.securityhub";
pub const DETAIL_TYPE: &str = "Security Hub Findings - Imported";
/// The most findings one event may carry (BatchImportFindings takes 100 at a time).
pub const MAX_FINDINGS: usize = 100;

/// Sorts every finding of one event, each on its own.
pub fn parse(env: &Envelope<'_>, cx: &IntakeCtx<'_>) -> Vec<Result<Intake, Error>> {
    let list = match env.detail.get("findings") {
        None | Some(Value::Null) => return vec![Err(Error::MissingField("detail.findings"))],
        Some(Value::Array(list)) => list,
        Some(_) => return vec![Err(Error::invalid_field("detail.findings", "expected an array"))],
    };
    if list.is_empty() {
        return vec![Err(Error::invalid_field("detail.findings", "is empty"))];
    }
    if list.len() > MAX_FINDINGS {
        return vec![Err(Error::invalid_field(
            "detail.findings",
            format!("more than {MAX_FINDINGS} findings"),
        ))];
    }
    list.iter()
        .flat_map(|f| match f {
            Value::Object(obj) => finding(obj, cx).unwrap_or_else(|e| vec![Err(e)]),
            _ => vec![Err(Error::invalid_field(
                "detail.findings",
                "a finding is not an object",
            ))],
        })
        .collect()
}

/// The control a finding is about, if it names one.
fn control_id(f: &Map<String, Value>, compliance: &Map<String, Value>) -> Result<Option<String>, Error> {
    if let Some(id) = optional_str(compliance, "SecurityControlId")? {
        return Ok(Some(id));
    }
    let Some(fields) = optional_object(f, "ProductFields")? else {
        return Ok(None);
    };
    let Some(arn) = optional_str(fields, "StandardsControlArn")? else {
        return Ok(None);
    };
    // arn:aws:securityhub:<region>:<account>:control/aws-foundational-security-best-practices/v/1.0.0/S3.2
    Ok(arn
        .contains("/aws-foundational-security-best-practices/")
        .then(|| arn.rsplit('/').next().unwrap_or_default().to_string())
        .filter(|c| !c.is_empty()))
}

fn is_control_id(id: &str) -> bool {
    (1..=40).contains(&id.len())
        && id
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_'))
}

fn ack(reason: AckReason, detail: String) -> Result<Vec<Result<Intake, Error>>, Error> {
    Ok(vec![Ok(Intake::ack(reason, None, detail))])
}

fn finding(f: &Map<String, Value>, cx: &IntakeCtx<'_>) -> Result<Vec<Result<Intake, Error>>, Error> {
    let id = optional_str(f, "Id")?.ok_or(Error::MissingField("Id"))?;
    let Some(compliance) = optional_object(f, "Compliance")? else {
        return ack(
            AckReason::NotACheck,
            "a Security Hub finding without `Compliance` is not a control check (GuardDuty, Inspector, a partner's)"
                .into(),
        );
    };
    let Some(control) = control_id(f, compliance)? else {
        return ack(
            AckReason::NotACheck,
            "a Security Hub finding naming no AWS Foundational Security Best Practices control (no \
             `Compliance.SecurityControlId`, no such `ProductFields.StandardsControlArn`)"
                .into(),
        );
    };
    if !is_control_id(&control) {
        return Err(Error::invalid_field(
            "Compliance.SecurityControlId",
            "not a control id like S3.2",
        ));
    }
    match optional_str(f, "RecordState")?.as_deref() {
        None | Some("ACTIVE") => {}
        Some("ARCHIVED") => {
            return ack(
                AckReason::Archived,
                format!("Security Hub {control} finding is archived (RecordState ARCHIVED): nothing to do"),
            )
        }
        Some(_) => return Err(Error::invalid_field("RecordState", "neither ACTIVE nor ARCHIVED")),
    }
    match optional_str(compliance, "Status")?.as_deref() {
        Some("FAILED") => {}
        Some("PASSED") => {
            return ack(
                AckReason::Success,
                format!("Security Hub {control} passed: nothing to do"),
            )
        }
        Some(s @ ("WARNING" | "NOT_AVAILABLE")) => {
            return ack(
                AckReason::NotFailed,
                format!("Security Hub {control} is {s}, not FAILED: nothing to do"),
            )
        }
        None => return Err(Error::MissingField("Compliance.Status")),
        Some(_) => return Err(Error::invalid_field("Compliance.Status", "not a compliance status")),
    }
    let workflow = match optional_object(f, "Workflow")? {
        Some(w) => optional_str(w, "Status")?,
        None => optional_str(f, "WorkflowState")?,
    };
    match workflow.as_deref() {
        None | Some("NEW" | "NOTIFIED" | "DEFERRED" | "IN_PROGRESS" | "ASSIGNED") => {}
        Some("SUPPRESSED") => {
            return ack(
                AckReason::Suppressed,
                format!("Security Hub {control} finding is suppressed: nothing starts"),
            )
        }
        Some("RESOLVED") => {
            return ack(
                AckReason::Resolved,
                format!("Security Hub {control} finding is marked resolved: nothing starts"),
            )
        }
        Some(_) => return Err(Error::invalid_field("Workflow.Status", "not a workflow status")),
    }
    let Some(mapping) = sources().control(&control) else {
        let why = sources()
            .unmapped
            .securityhub
            .get(&control)
            .map(|w| format!(": {w}"))
            .unwrap_or_default();
        return ack(
            AckReason::RuleNotHealed,
            format!("Security Hub control {control} is not one auto-remediate heals{why}"),
        );
    };

    let account = optional_str(f, "AwsAccountId")?.ok_or(Error::MissingField("AwsAccountId"))?;
    if !is_account_number(&account) {
        return Err(Error::invalid_field(
            "AwsAccountId",
            "not a 12-digit AWS account number",
        ));
    }
    let region_field = optional_str(f, "Region")?;
    if let Some(r) = &region_field {
        if !is_region_name(r) {
            return Err(Error::invalid_field("Region", "not an AWS region name"));
        }
    }
    let resources = match f.get("Resources") {
        Some(Value::Array(r)) if !r.is_empty() => r,
        None | Some(Value::Null) => return Err(Error::MissingField("Resources")),
        Some(_) => return Err(Error::invalid_field("Resources", "expected a non-empty array")),
    };
    let resource = resources[0]
        .as_object()
        .ok_or_else(|| Error::invalid_field("Resources", "a resource is not an object"))?;
    let resource_type = optional_str(resource, "Type")?.ok_or(Error::MissingField("Resources[0].Type"))?;
    let resource_id = optional_str(resource, "Id")?.ok_or(Error::MissingField("Resources[0].Id"))?;
    let resource_region = optional_str(resource, "Region")?;
    if let Some(r) = &resource_region {
        if !is_region_name(r) {
            return Err(Error::invalid_field("Resources[0].Region", "not an AWS region name"));
        }
    }
    if !mapping.resource_types.contains(&resource_type) {
        return ack(
            AckReason::RuleNotHealed,
            format!(
                "Security Hub {control} on a {}: its rules ({}) act on {} only",
                resource_type.chars().take(64).collect::<String>(),
                mapping.rules.join(", "),
                mapping.resource_types.join(", ")
            ),
        );
    }
    let tags = fields::tags(resource.get("Tags"))?;
    let title = free_text(f, "Title")?;
    let description = free_text(f, "Description")?;
    let severity = optional_object(f, "Severity")?
        .map(|s| optional_str(s, "Label"))
        .transpose()?
        .flatten();
    let updated = optional_date(f, "UpdatedAt")?;
    let created = optional_date(f, "CreatedAt")?;
    let mut source_ids = BTreeMap::from([("Id".to_string(), id.clone()), ("control".to_string(), control.clone())]);
    if let Some(p) = optional_str(f, "ProductArn")? {
        source_ids.insert("ProductArn".into(), p);
    }

    let mut out = Vec::with_capacity(mapping.rules.len());
    let check = format!("Security Hub {control}");
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
            let (region, reported_region) = resolve_region(
                region_field.as_deref(),
                resource_region.as_deref(),
                family.placement(),
                cx.region,
            )?;
            let resource = match family.placement() {
                Placement::Region => {
                    if let Some(named) = resource_id.strip_prefix("AWS::::Account:") {
                        if named != account {
                            return Err(Error::AccountMismatch(format!(
                                "`AwsAccountId` says {account}, `Resources[0].Id` names account {named}"
                            )));
                        }
                    }
                    region.clone()
                }
                _ => resource_from_arn("Resources[0].Id", &resource_id, family, &account, &region)?,
            };
            let resource = checked_resource(family, resource)?;
            Ok(Finding {
                source: "securityhub".into(),
                check_id: id.clone(),
                rule_id: rule_id.clone(),
                rule_title: title.clone(),
                service: spec.service.clone(),
                status: Status::Failure,
                account_id: account.clone(),
                account_source: Some(AccountSource::Event),
                scanner_account: None,
                region,
                reported_region,
                resource,
                risk_level: severity.clone(),
                message: description.clone(),
                discovered_at_ms: updated,
                created_at_ms: created,
                tags: tags.clone(),
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
