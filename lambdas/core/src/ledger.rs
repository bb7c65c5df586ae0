//! The ledger: what makes auto-remediate safe under real scan traffic, in one DynamoDB table
//! (`STATE_TABLE`, partition key `pk`, TTL attribute `expires_at`).
//!
//! - **Leases** (`lease#<account>#<region>#<resource>`): one remediation per resource at a time.
//!   Remediate takes the lease before its fresh read; Verify releases it. A conditional write with
//!   an expiry: a crashed holder blocks others for at most [`LEASE_SECONDS`]. The holder is the
//!   execution, so a retried Remediate of the same execution re-enters its own lease.
//! - **Journals** (`journal#<execution ARN>`): written once before the first write of a fix, with the
//!   state before it and the plan. A retry after a crash between two writes finishes the same
//!   intent and reports the true `before`, so "nothing was changed" is never said when something was.
//!   Keyed by execution, never overwritten nor deleted (expiry only): the journal is also the
//!   record an undo restores from (`crate::undo`), with the resource it is about, the state the
//!   plan leaves (`after`) and, on an undo run, the run it undid.
//! - **Applied states** (`applied#<execution ARN>`): the state a fix left as its apply returned it,
//!   written once after the apply: the ids AWS gave to what it created (a detector, a flow log, a
//!   handshake), which the journal's computed `after` cannot know. An undo checks against it and
//!   deletes exactly what it names.
//! - **Checks** (`check#<digest>`): the generation of each scanner check, so a re-raised finding
//!   starts a new execution while duplicate deliveries of a running one start nothing.
//! - **Runs** (`run#<execution name>`): how each execution ended, written by its Notify task, so
//!   `auto-remediate runs` reads one table instead of describing every execution (Step
//!   Functions' DescribeExecution is throttled at 15 per second).
//!
//! No secret is ever stored here.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::finding::Finding;
use crate::finding::ResourceState;
use crate::plan::Plan;

/// How long a lease holds without its holder: longer than Remediate's and Verify's task timeouts.
pub const LEASE_SECONDS: u64 = 150;
/// Journals and check generations are kept this long for the audit trail, then expire by TTL.
const KEEP_SECONDS: u64 = 30 * 86400;
/// Run records are kept as long as Step Functions keeps a standard execution's history (90 days).
const RUN_KEEP_SECONDS: u64 = 90 * 86400;

/// How an execution ended, as `auto-remediate runs` shows it (the execution's name, status and
/// times come from the listing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    pub execution: String,
    /// The end state (`Healed`, `VerificationFailed`, ...).
    pub outcome: String,
    #[serde(default)]
    pub rule_id: Option<String>,
    #[serde(default)]
    pub resource: Option<String>,
    #[serde(default)]
    pub account_id: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    /// `auto`, `dry-run`, `approve` or `skip`.
    #[serde(default)]
    pub decision: Option<String>,
    #[serde(default)]
    pub approver: Option<String>,
}

pub fn now_epoch() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub fn json<T: Serialize>(v: &T) -> AttributeValue {
    AttributeValue::S(serde_json::to_string(v).expect("serializable"))
}

fn corrupt(operation: &'static str, what: String) -> Error {
    Error::Aws {
        operation,
        code: "CorruptItem".into(),
        message: what,
    }
}

/// A string attribute that may be absent.
pub fn get_s_opt(item: &HashMap<String, AttributeValue>, k: &str) -> Option<String> {
    item.get(k).and_then(|v| v.as_s().ok()).cloned()
}

pub fn get_s(item: &HashMap<String, AttributeValue>, k: &str) -> Result<String, Error> {
    item.get(k)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .ok_or_else(|| corrupt("dynamodb:GetItem", format!("item has no {k}")))
}

pub fn get_n(item: &HashMap<String, AttributeValue>, k: &str) -> Result<u64, Error> {
    item.get(k)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| corrupt("dynamodb:GetItem", format!("item has no numeric {k}")))
}

pub fn get_json<T: DeserializeOwned>(item: &HashMap<String, AttributeValue>, k: &str) -> Result<T, Error> {
    serde_json::from_str(&get_s(item, k)?).map_err(|e| corrupt("dynamodb:GetItem", format!("item {k}: {e}")))
}

/// Whether an error is DynamoDB's "the condition did not hold".
pub fn is_condition_failure(e: &Error) -> bool {
    e.aws_code() == Some("ConditionalCheckFailedException")
}

/// A conditional write's result: `true` when made, `false` when its condition did not hold.
pub fn conditional<T>(result: Result<T, Error>) -> Result<bool, Error> {
    match result {
        Ok(_) => Ok(true),
        Err(e) if is_condition_failure(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The resource a lease covers: the same resource in the same account and region, whatever rule
/// and whichever source named it, however ([`lease_id`]).
pub fn resource_key(finding: &Finding) -> String {
    format!(
        "{}#{}#{}",
        finding.account_id,
        finding.region,
        lease_id(&finding.resource)
    )
}

/// A resource as its lease names it, the account and region aside: the sources name one
/// resource in several ways, each of which a family accepts (Conformity an SQS queue by its URL,
/// Security Hub by its ARN, which intake shortens to the name; a KMS key by id or ARN; an IAM user
/// by name, ARN or as `user/AKIA...`, one of its keys), and one resource must be one lease. An
/// ARN is its resource id (`key/<id>` → `<id>`), a queue URL its queue name, `user/AKIA...` the
/// user; anything else as it is. Intake has already checked that an ARN's or URL's account and
/// region are the finding's, which the key holds.
pub fn lease_id(resource: &str) -> &str {
    if let Some(arn) = crate::ids::Arn::parse(resource) {
        return arn.resource_id();
    }
    if resource.starts_with("https://") {
        if let Some(q) = crate::families::sqs_encryption::queue_ref(resource) {
            return q.name;
        }
    }
    if let Some((user, _key)) = crate::families::helpers::iam_keys::user_key(resource) {
        return user;
    }
    resource
}

/// Who holds a resource, when another execution does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Busy {
    pub holder: String,
    pub expires_at: u64,
}

/// What Remediate wrote down before its first write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    pub rule_id: String,
    pub before: ResourceState,
    pub plan: Plan,
    /// The resource the fix is about (an undo must name the same one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// The state the plan leaves (`before` with the plan applied, computed): what an undo checks
    /// the live resource against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<ResourceState>,
    /// On an undo run: the execution it undid (an undo is never undone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undo_of: Option<String>,
}

/// A check's latest generation: which execution handles it, and the discovery time it came with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRecord {
    pub generation: u64,
    pub execution_name: String,
    pub stamp: Option<u64>,
}

#[derive(Clone, Debug)]
pub struct Ledger {
    pub client: aws_sdk_dynamodb::Client,
    pub table: String,
}

impl Ledger {
    /// Takes the lease on `resource` for `holder`, or says who holds it. Re-entrant for the holder.
    pub async fn acquire(&self, resource: &str, holder: &str, now: u64) -> Result<Result<(), Busy>, Error> {
        let pk = format!("lease#{resource}");
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(&pk))
            .item("holder", s(holder))
            .item("acquired_at", n(now))
            .item("expires_at", n(now + LEASE_SECONDS))
            .condition_expression("attribute_not_exists(pk) OR holder = :me OR expires_at < :now")
            .expression_attribute_values(":me", s(holder))
            .expression_attribute_values(":now", n(now))
            .send()
            .await
            .map_err(|e| Error::from_sdk("dynamodb:PutItem", e));
        match result {
            Ok(_) => Ok(Ok(())),
            Err(e) if is_condition_failure(&e) => {
                let item = self.get(&pk).await?;
                match item {
                    Some(item) => Ok(Err(Busy {
                        holder: get_s(&item, "holder")?,
                        expires_at: get_n(&item, "expires_at")?,
                    })),
                    // Released between our write and our read: report busy for a moment.
                    None => Ok(Err(Busy {
                        holder: "(just released)".into(),
                        expires_at: now,
                    })),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Takes the lease, polling for up to `patience` with jittered pauses (cheaper than a state
    /// machine wait for the short holds of a scan burst).
    pub async fn acquire_within(
        &self,
        resource: &str,
        holder: &str,
        patience: Duration,
    ) -> Result<Result<(), Busy>, Error> {
        let start = std::time::Instant::now();
        loop {
            match self.acquire(resource, holder, now_epoch()).await? {
                Ok(()) => return Ok(Ok(())),
                Err(busy) if start.elapsed() >= patience => return Ok(Err(busy)),
                Err(_) => tokio::time::sleep(Duration::from_millis(fastrand::u64(80..=250))).await,
            }
        }
    }

    /// Releases the lease if `holder` still holds it (a no-op otherwise).
    pub async fn release(&self, resource: &str, holder: &str) -> Result<(), Error> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(format!("lease#{resource}")))
            .condition_expression("holder = :me")
            .expression_attribute_values(":me", s(holder))
            .send()
            .await
            .map_err(|e| Error::from_sdk("dynamodb:DeleteItem", e));
        conditional(result).map(|_| ())
    }

    /// Releases the lease on the way out of a handler: a failure is logged, not raised, since
    /// the lease expires by itself.
    pub async fn release_quietly(&self, resource: &str, holder: &str) {
        if let Err(e) = self.release(resource, holder).await {
            tracing::warn!(error = e.name(), message = %e, "lease not released; it expires by itself");
        }
    }

    /// The journal of an execution's fix, if it wrote one.
    pub async fn journal(&self, execution: &str) -> Result<Option<Journal>, Error> {
        match self.get(&format!("journal#{execution}")).await? {
            Some(item) => Ok(Some(get_json(&item, "journal")?)),
            None => Ok(None),
        }
    }

    /// Writes the journal once; an existing one (an earlier attempt's) is kept, and returned.
    pub async fn write_journal(&self, execution: &str, journal: &Journal) -> Result<Journal, Error> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(format!("journal#{execution}")))
            .item("journal", json(journal))
            .item("expires_at", n(now_epoch() + KEEP_SECONDS))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(|e| Error::from_sdk("dynamodb:PutItem", e));
        match result {
            Ok(_) => Ok(journal.clone()),
            Err(e) if is_condition_failure(&e) => self
                .journal(execution)
                .await?
                .ok_or_else(|| corrupt("dynamodb:GetItem", "the journal vanished".into())),
            Err(e) => Err(e),
        }
    }

    /// Records the state a fix left as its apply returned it (`applied#<execution>`: the ids AWS
    /// gave to what it created, where the journal's computed `after` has only the plan's
    /// placeholder). Written once, after the apply; an existing one (an earlier attempt's) is kept.
    pub async fn record_after(&self, execution: &str, after: &ResourceState) -> Result<(), Error> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(format!("applied#{execution}")))
            .item("after", json(after))
            .item("expires_at", n(now_epoch() + KEEP_SECONDS))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(|e| Error::from_sdk("dynamodb:PutItem", e));
        conditional(result).map(|_| ())
    }

    /// The state a fix left as its apply returned it ([`Ledger::record_after`]), if recorded.
    pub async fn applied_after(&self, execution: &str) -> Result<Option<ResourceState>, Error> {
        match self.get(&format!("applied#{execution}")).await? {
            Some(item) => Ok(Some(get_json(&item, "after")?)),
            None => Ok(None),
        }
    }

    /// The record of the fix an undo run undoes (`finding.undo`): that run's journal, refused
    /// (`CannotUndo`, nothing read beyond it) when there is none (the run wrote nothing, or the
    /// name is not an execution ARN), when it is about another resource, account, region or rule
    /// than the undo finding names, or when the run was itself an undo.
    pub async fn recorded(&self, finding: &Finding) -> Result<Option<crate::finding::Recorded>, Error> {
        let Some(undo) = &finding.undo else {
            return Ok(None);
        };
        let run = crate::state::execution_name(&undo.execution);
        let journal = match undo.execution.contains(":execution:") {
            true => self.journal(&undo.execution).await?,
            false => None,
        };
        let Some(j) = journal else {
            return Err(Error::CannotUndo(format!("no recorded fix for {run}")));
        };
        if let Some(undid) = &j.undo_of {
            return Err(Error::CannotUndo(format!(
                "{run} is itself an undo (of {}); publish the finding again to heal the resource",
                crate::state::execution_name(undid)
            )));
        }
        let same = j.rule_id == finding.rule_id
            && j.account_id.as_deref() == Some(finding.account_id.as_str())
            && j.region.as_deref() == Some(finding.region.as_str())
            && j.resource.as_deref() == Some(finding.resource.as_str());
        if !same {
            return Err(Error::CannotUndo(format!(
                "the recorded fix of {run} is not about {} {} in {} {}",
                finding.rule_id, finding.resource, finding.account_id, finding.region
            )));
        }
        let Some(computed) = j.after else {
            return Err(Error::CannotUndo(format!(
                "the recorded fix of {run} has no after-state"
            )));
        };
        // What the apply returned (the real ids of what it created) over what was computed.
        let after = self.applied_after(&undo.execution).await?.unwrap_or(computed);
        Ok(Some(crate::finding::Recorded {
            execution: undo.execution.clone(),
            before: j.before,
            after,
            partial: None,
        }))
    }

    /// The latest generation of a check.
    pub async fn check(&self, check_key: &str) -> Result<Option<CheckRecord>, Error> {
        let Some(item) = self.get(&format!("check#{check_key}")).await? else {
            return Ok(None);
        };
        Ok(Some(CheckRecord {
            generation: get_n(&item, "generation")?,
            execution_name: get_s(&item, "execution_name")?,
            stamp: item
                .get("stamp")
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse().ok()),
        }))
    }

    /// Records generation `next.generation` of a check if the latest is still `previous`
    /// (`None`: no generation yet). False when another delivery got there first.
    pub async fn advance_check(
        &self,
        check_key: &str,
        previous: Option<u64>,
        next: &CheckRecord,
    ) -> Result<bool, Error> {
        let mut req = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(format!("check#{check_key}")))
            .item("generation", n(next.generation))
            .item("execution_name", s(&next.execution_name))
            .item("expires_at", n(now_epoch() + KEEP_SECONDS));
        if let Some(stamp) = next.stamp {
            req = req.item("stamp", n(stamp));
        }
        req = match previous {
            None => req.condition_expression("attribute_not_exists(pk)"),
            Some(g) => req
                .condition_expression("generation = :g")
                .expression_attribute_values(":g", n(g)),
        };
        conditional(req.send().await.map_err(|e| Error::from_sdk("dynamodb:PutItem", e)))
    }

    /// Records how an execution ended (a redelivered record overwrites its twin).
    pub async fn record_run(&self, record: &RunRecord) -> Result<(), Error> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(format!("run#{}", record.execution)))
            .item("run", json(record))
            .item("expires_at", n(now_epoch() + RUN_KEEP_SECONDS))
            .send()
            .await
            .map_err(|e| Error::from_sdk("dynamodb:PutItem", e))?;
        Ok(())
    }

    /// Every run record, by execution name (a paginated Scan of the `run#` items).
    pub async fn runs(&self) -> Result<HashMap<String, RunRecord>, Error> {
        let mut pages = self
            .client
            .scan()
            .table_name(&self.table)
            .filter_expression("begins_with(pk, :run)")
            .expression_attribute_values(":run", s("run#"))
            .projection_expression("#run")
            .expression_attribute_names("#run", "run")
            .into_paginator()
            .send();
        let mut out = HashMap::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| Error::from_sdk("dynamodb:Scan", e))?;
            for item in page.items() {
                let record: RunRecord = get_json(item, "run")?;
                out.insert(record.execution.clone(), record);
            }
        }
        Ok(out)
    }

    async fn get(&self, pk: &str) -> Result<Option<HashMap<String, AttributeValue>>, Error> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(pk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| Error::from_sdk("dynamodb:GetItem", e))?;
        Ok(out.item().cloned())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::catalog::Catalog;
    use crate::intake::{conformity, eventbridge, Intake, IntakeCtx};

    const ACCOUNT: &str = "111111111111";
    const REGION: &str = "us-east-1";

    fn cx() -> IntakeCtx<'static> {
        IntakeCtx::new(Catalog::builtin(), REGION)
    }

    fn failures(results: Vec<Result<Intake, Error>>) -> Vec<Finding> {
        results
            .into_iter()
            .map(|r| match r {
                Ok(Intake::Failure(f)) => *f,
                other => panic!("expected a failure to act on, got {other:?}"),
            })
            .collect()
    }

    /// Conformity's failure of `rule_id` on `resource`, as it sends it (`user/AKIA...` arrives
    /// as the key with its user in `extradata`).
    fn from_conformity(rule_id: &str, resource: &str) -> Finding {
        let m = conformity::failure_message(Catalog::builtin(), ACCOUNT, rule_id, REGION, resource, 1);
        failures(vec![conformity::parse(&m.to_string(), &cx())]).remove(0)
    }

    /// The Security Hub S3.2 sample made a failing finding of `control` on `arn`, in its event.
    fn from_security_hub(control: &str, resource_type: &str, arn: &str) -> Vec<Finding> {
        let mut f: Value = serde_json::from_str(include_str!(
            "../../../tests/fixtures/securityhub-samples/afsbp-s3.2.json"
        ))
        .unwrap();
        f["Compliance"] = json!({"Status": "FAILED", "SecurityControlId": control});
        f["Workflow"]["Status"] = json!("NEW");
        f["Resources"][0]["Type"] = json!(resource_type);
        f["Resources"][0]["Id"] = json!(arn);
        let event = json!({"version": "0", "id": "e", "detail-type": "Security Hub Findings - Imported",
            "source": "aws.securityhub", "account": ACCOUNT, "time": "2026-01-01T00:00:00Z",
            "region": REGION, "resources": [], "detail": {"findings": [f]}});
        failures(eventbridge::sort(&event, &cx()))
    }

    /// The AWS Config sample made a NON_COMPLIANT change of `rule_name` for `resource_id`.
    fn from_config(rule_name: &str, resource_type: &str, resource_id: &str) -> Vec<Finding> {
        let mut e: Value = serde_json::from_str(include_str!(
            "../../../tests/fixtures/config-samples/access-keys-rotated-noncompliant.json"
        ))
        .unwrap();
        e["detail"]["configRuleName"] = json!(rule_name);
        e["detail"]["resourceType"] = json!(resource_type);
        e["detail"]["resourceId"] = json!(resource_id);
        e["detail"]["awsAccountId"] = json!(ACCOUNT);
        failures(eventbridge::sort(&e, &cx()))
    }

    /// The lease key of `rule_id`'s finding among `findings`.
    fn key_of(findings: &[Finding], rule_id: &str) -> String {
        resource_key(findings.iter().find(|f| f.rule_id == rule_id).expect(rule_id))
    }

    /// One resource is one lease whichever source names it and however: a bucket by name or
    /// ARN, a queue by URL or ARN, a key by id or ARN, a user by name, ARN or one of its keys.
    #[test]
    fn the_same_resource_named_by_each_source_is_one_lease() {
        let bucket = [
            resource_key(&from_conformity("S3-001", "reports-bucket")),
            key_of(
                &from_security_hub("S3.2", "AwsS3Bucket", "arn:aws:s3:::reports-bucket"),
                "S3-001",
            ),
            key_of(
                &from_config("s3-bucket-public-read-prohibited", "AWS::S3::Bucket", "reports-bucket"),
                "S3-001",
            ),
        ];
        let sg = "sg-0123456789abcdef0";
        let group = [
            resource_key(&from_conformity("EC2-002", sg)),
            key_of(
                &from_security_hub(
                    "EC2.13",
                    "AwsEc2SecurityGroup",
                    &format!("arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/{sg}"),
                ),
                "EC2-002",
            ),
            key_of(&from_config("restricted-ssh", "AWS::EC2::SecurityGroup", sg), "EC2-002"),
        ];
        let queue = [
            resource_key(&from_conformity(
                "SQS-004",
                &format!("https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/test_queue_3"),
            )),
            resource_key(&from_conformity("SQS-004", "test_queue_3")),
            key_of(
                &from_security_hub(
                    "SQS.1",
                    "AwsSqsQueue",
                    &format!("arn:aws:sqs:{REGION}:{ACCOUNT}:test_queue_3"),
                ),
                "SQS-004",
            ),
        ];
        let key_id = "1234abcd-12ab-34cd-56ef-1234567890ab";
        let key_arn = format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}");
        let key = [
            resource_key(&from_conformity("KMS-002", key_id)),
            resource_key(&from_conformity("KMS-002", &key_arn)),
            key_of(&from_security_hub("KMS.4", "AwsKmsKey", &key_arn), "KMS-002"),
            key_of(
                &from_config("cmk-backing-key-rotation-enabled", "AWS::KMS::Key", key_id),
                "KMS-002",
            ),
        ];
        let user = [
            resource_key(&from_conformity("IAM-038", "alice")),
            resource_key(&from_conformity("IAM-038", "alice/AKIAI44QH8DHBEXAMPLE")),
            key_of(
                &from_security_hub("IAM.3", "AwsIamUser", &format!("arn:aws:iam::{ACCOUNT}:user/alice")),
                "IAM-038",
            ),
        ];
        let db = [
            resource_key(&from_conformity("RDS-008", "mydb")),
            key_of(
                &from_security_hub(
                    "RDS.2",
                    "AwsRdsDbInstance",
                    &format!("arn:aws:rds:{REGION}:{ACCOUNT}:db:mydb"),
                ),
                "RDS-008",
            ),
        ];
        for (what, keys) in [
            ("bucket", &bucket[..]),
            ("group", &group[..]),
            ("queue", &queue[..]),
            ("key", &key[..]),
            ("user", &user[..]),
            ("db", &db[..]),
        ] {
            assert!(keys.iter().all(|k| k == &keys[0]), "{what}: {keys:?}");
        }
        // Another resource of the same name shape is another lease.
        assert_ne!(bucket[0], resource_key(&from_conformity("S3-001", "reports-bucket-2")));
        assert_ne!(
            queue[0],
            resource_key(&from_conformity(
                "SQS-004",
                &format!("https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/test_queue_4")
            ))
        );
        assert_ne!(
            user[0],
            resource_key(&from_conformity("IAM-038", "bob/AKIAI44QH8DHBEXAMPLE"))
        );
    }
}
