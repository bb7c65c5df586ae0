//! S3-014: a bucket policy allows everyone (`Principal: "*"`, `{"AWS": "*"}` or `{"AWS": ["*"]}`
//! in an `Allow` statement).
//!
//! What a fix changes, never touches and how it is undone: [`S3BucketPolicy::DOC`] (RULES.md is
//! generated from it). When every statement is offending the policy is deleted, since S3 refuses
//! a policy without statements. The judgement of a statement:
//! Kept: statements whose `Condition` restricts who can use them (a positive string/ARN/IP
//! condition on the source network `aws:SourceVpc`, `aws:SourceVpcArn`, `aws:SourceVpce`,
//! `aws:SourceIp`, `aws:VpcSourceIp`, `aws:VpceAccount`, `aws:VpceOrgID`, `aws:VpceOrgPaths`; the
//! caller `aws:PrincipalOrgID`, `aws:PrincipalOrgPaths`, `aws:PrincipalAccount`,
//! `aws:PrincipalArn`, `aws:PrincipalServiceName`, `aws:userid`; the source a service acts for
//! `aws:SourceAccount`, `aws:SourceArn`, `aws:SourceOwner`, `aws:SourceOrgID`,
//! `aws:SourceOrgPaths`; the access points `s3:DataAccessPointAccount`, `s3:DataAccessPointArn`
//! (the access-point delegation statement), whose values are not wildcards; `IfExists`,
//! `ForAllValues:` and negated operators do not restrict, since a request without the key passes
//! them), and, failing closed, statements with a condition on any key not known to leave them
//! open (known open: transport, time, MFA, user agent, referer, region, tags, resource account and
//! organization, S3's request headers and object keys, e.g. `aws:SecureTransport`,
//! `s3:x-amz-acl`); the plan names that condition. `Deny` statements, statements naming other
//! principals only. (`*Like` condition values whose account or organization is a wildcard
//! restrict no one, so they do not save a statement.)
//! Not this rule's: `Allow` with `NotPrincipal` and service principals are left as they are.
//! Narrowed: a public statement that also names other principals (`{"AWS": ["*", "<account>"]}`)
//! loses only `*`: the accounts it names keep exactly the access they had.
//!
//! The policy helpers are public: CT-003 (a CloudTrail log bucket made public) uses the same
//! judgement of statements.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::aws::Ctx;
use crate::error::Error;
use crate::families::helpers::family::{Assessment, FamilyDoc, NoParams, Placement, Read, RuleFamily, Tags, Target};
use crate::families::helpers::s3_bucket;
use crate::ids;
use crate::plan::Describe;

/// The family: `s3-bucket-policy` in the catalog.
pub struct S3BucketPolicy;

pub const GET_BUCKET_POLICY: &str = "s3:GetBucketPolicy";
pub const PUT_BUCKET_POLICY: &str = "s3:PutBucketPolicy";
pub const DELETE_BUCKET_POLICY: &str = "s3:DeleteBucketPolicy";

/// No parameters: the rule is the same for every bucket.
/// Its rules take no parameters.
pub type Params = NoParams;

/// A bucket's policy as read (`None`: the bucket has none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketPolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<Value>,
}

/// One write to a bucket policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action")]
pub enum PolicyChange {
    /// Drop these statements (as read), keep every other one; a statement that also names other
    /// principals comes back `narrowed`: the same statement without everyone.
    #[serde(rename = "s3:RemovePolicyStatements")]
    RemoveStatements {
        labels: Vec<String>,
        statements: Vec<Value>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        narrowed: Vec<Value>,
    },
    /// Every statement is offending: delete the whole policy.
    #[serde(rename = "s3:DeleteBucketPolicy")]
    DeletePolicy { labels: Vec<String> },
    /// An undo: put back these recorded statements, each at its index in the recorded policy,
    /// and drop `drop` (the narrowed copies the fix left); every other statement stays.
    /// `as_object`: the recorded policy's `Statement` was one object, not a list.
    #[serde(rename = "s3:RestorePolicyStatements")]
    RestoreStatements {
        labels: Vec<String>,
        statements: Vec<PlacedStatement>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        drop: Vec<Value>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        as_object: bool,
    },
    /// An undo of a deleted policy: put the recorded policy back whole.
    #[serde(rename = "s3:RestoreBucketPolicy")]
    RestorePolicy { labels: Vec<String>, policy: Value },
}

/// A statement and its index in the policy it was recorded in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlacedStatement {
    pub index: usize,
    pub statement: Value,
}

impl Describe for PolicyChange {
    fn describe(&self) -> String {
        match self {
            PolicyChange::RemoveStatements { labels, .. } => {
                format!("remove public policy statement(s) {}", labels.join(", "))
            }
            PolicyChange::DeletePolicy { labels } => format!(
                "delete the bucket policy (its every statement, {}, allows everyone)",
                labels.join(", ")
            ),
            PolicyChange::RestoreStatements { labels, drop, .. } if drop.is_empty() => {
                format!(
                    "put back policy statement(s) {} as recorded before the fix",
                    labels.join(", ")
                )
            }
            PolicyChange::RestoreStatements { labels, drop, .. } => format!(
                "put back policy statement(s) {} as recorded before the fix, in place of the {} narrowed \
                 statement(s) it left",
                labels.join(", "),
                drop.len()
            ),
            PolicyChange::RestorePolicy { labels, .. } => format!(
                "put back the bucket policy the fix deleted, as recorded (statement(s) {})",
                labels.join(", ")
            ),
        }
    }
}

/// The statements of a policy, as a list (`Statement` may be one object).
pub fn statements(policy: &Value) -> Vec<&Value> {
    match policy.get("Statement") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(s @ Value::Object(_)) => vec![s],
        _ => Vec::new(),
    }
}

fn strings(v: &Value) -> Vec<&str> {
    match v {
        Value::String(s) => vec![s.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Whether the statement's principal is everyone (`"*"`, `{"AWS": "*"}`, `{"AWS": ["*", ...]}`).
pub fn names_everyone(stmt: &Value) -> bool {
    match stmt.get("Principal") {
        Some(Value::String(s)) => s == "*",
        Some(Value::Object(m)) => m.get("AWS").is_some_and(|v| strings(v).contains(&"*")),
        _ => false,
    }
}

/// Condition keys that restrict who (or from where) a statement can be used: a positive match on
/// one of them with values that are not wildcards lets only the caller, network, access point or
/// source it names in. (Compared in lower case: IAM reads condition keys case-insensitively.)
const RESTRICTING_KEYS: &[&str] = &[
    // Network origin.
    "aws:sourcevpc",
    "aws:sourcevpcarn",
    "aws:sourcevpce",
    "aws:sourceip",
    "aws:vpcsourceip",
    "aws:vpceaccount",
    "aws:vpceorgid",
    "aws:vpceorgpaths",
    // The caller: its organization, account, ARN, unique id, service.
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:principalservicename",
    "aws:userid",
    // The source a service acts for (`aws:SourceOwner`: SNS's and SES's older form of the account).
    "aws:sourceaccount",
    "aws:sourcearn",
    "aws:sourceowner",
    "aws:sourceorgid",
    "aws:sourceorgpaths",
    // S3 access points: the bucket's access-point delegation (`Principal *` with the account
    // owning the access points) lets in only what the access points' own policies allow.
    "s3:dataaccesspointaccount",
    "s3:dataaccesspointarn",
];

/// Condition keys known not to restrict who can use a statement: facts of the request that any
/// caller chooses or meets (transport, time, headers, tags, MFA), or of the resource. A condition
/// on them alone leaves a statement to everyone. Entries ending in `/` or `-` are prefixes.
const NOT_RESTRICTING_KEYS: &[&str] = &[
    "aws:securetransport",
    "aws:currenttime",
    "aws:epochtime",
    "aws:useragent",
    "aws:referer",
    "aws:requestedregion",
    "aws:multifactorauthpresent",
    "aws:multifactorauthage",
    "aws:tokenissuetime",
    "aws:viaawsservice",
    "aws:principaltype",
    "aws:principalisawsservice",
    "aws:principaltag/",
    "aws:requesttag/",
    "aws:resourcetag/",
    "aws:tagkeys",
    "aws:resourceaccount",
    "aws:resourceorgid",
    "aws:resourceorgpaths",
    "s3:x-amz-",
    "s3:object-lock-",
    "s3:prefix",
    "s3:delimiter",
    "s3:max-keys",
    "s3:versionid",
    "s3:existingobjecttag/",
    "s3:requestobjecttag/",
    "s3:requestobjecttagkeys",
    "s3:signatureversion",
    "s3:signatureage",
    "s3:authtype",
    "s3:tlsversion",
    "s3:locationconstraint",
    "s3:resourceaccount",
];

fn known_not_restricting(key: &str) -> bool {
    NOT_RESTRICTING_KEYS.iter().any(|k| {
        if k.ends_with('/') || k.ends_with('-') {
            key.starts_with(k)
        } else {
            key == *k
        }
    })
}

/// Operators that pass only when the key is present and matches (so they restrict).
const MATCHING_OPERATORS: &[&str] = &[
    "stringequals",
    "stringequalsignorecase",
    "stringlike",
    "arnequals",
    "arnlike",
    "ipaddress",
];

/// How a statement's `Condition` bears on who can use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConditionJudgement {
    /// No condition, or only conditions known to let everyone in.
    Open,
    /// A condition restricts who can use it (`StringEquals aws:SourceVpce`).
    Restricted(String),
    /// Conditions this rule cannot judge (keys not known to restrict no one, e.g.
    /// `StringEquals s3:AccessPointNetworkOrigin`): the statement is kept (fail closed).
    Unjudged(Vec<String>),
}

/// Judges a statement's `Condition`: restricted when one condition restricts (conditions are
/// ANDed), else unjudged when a condition uses a key not known to restrict no one, else open.
pub fn judge_condition(stmt: &Value) -> ConditionJudgement {
    let Some(cond) = stmt.get("Condition") else {
        return ConditionJudgement::Open;
    };
    let Some(cond) = cond.as_object() else {
        return ConditionJudgement::Unjudged(vec!["Condition (not an object)".into()]);
    };
    let mut unjudged = Vec::new();
    for (op, block) in cond {
        let Some(block) = block.as_object() else {
            unjudged.push(format!("{op} (not an object)"));
            continue;
        };
        for key in block.keys() {
            let k = key.to_ascii_lowercase();
            if RESTRICTING_KEYS.contains(&k.as_str()) {
                if let Some(r) = restricts(op, key, &block[key]) {
                    return ConditionJudgement::Restricted(r);
                }
            } else if !known_not_restricting(&k) {
                unjudged.push(format!("{op} {key}"));
            }
        }
    }
    if unjudged.is_empty() {
        ConditionJudgement::Open
    } else {
        ConditionJudgement::Unjudged(unjudged)
    }
}

/// Whether `op key values` (on a restricting key) restricts: a matching operator, not
/// `...IfExists` nor `ForAllValues:` (a request without the key passes them), whose values are
/// all strings and none of them a wildcard or an open range.
fn restricts(op: &str, key: &str, values: &Value) -> Option<String> {
    let lower = op.to_ascii_lowercase();
    if lower.ends_with("ifexists") || lower.starts_with("forallvalues:") {
        return None;
    }
    let base = lower.strip_prefix("foranyvalue:").unwrap_or(&lower);
    if !MATCHING_OPERATORS.contains(&base) {
        return None;
    }
    let vals = strings(values);
    let all_strings = match values {
        Value::Array(a) => a.len() == vals.len(),
        _ => true,
    };
    let like = base.ends_with("like");
    let open = |v: &&str| {
        v.chars().all(|c| c == '*' || c == '?')
            || (base == "ipaddress" && v.ends_with("/0"))
            || (like && wildcard_identity(v))
    };
    (!vals.is_empty() && all_strings && !vals.iter().any(open)).then(|| format!("{op} {key}"))
}

/// The condition that restricts who can use the statement (`StringEquals aws:SourceVpce`), if any.
pub fn restriction(stmt: &Value) -> Option<String> {
    match judge_condition(stmt) {
        ConditionJudgement::Restricted(r) => Some(r),
        _ => None,
    }
}

/// Whether a `*Like` value leaves who it names open: an ARN whose account is a wildcard
/// (`arn:aws:iam::*:role/x`), or an account, organization or unique-id pattern with a wildcard
/// in its first segment (`o-*`, `*:session`).
fn wildcard_identity(v: &str) -> bool {
    let wild = |s: &str| s.contains('*') || s.contains('?');
    if v.starts_with("arn:") {
        v.split(':').nth(4).is_none_or(wild)
    } else {
        // An org path (`o-abc/r-ab12/*`) names its organization in its first segment, a
        // `aws:userid` (`AROAEXAMPLEID:*`) its role or account before the colon.
        v.split(['/', ':']).next().is_none_or(wild)
    }
}

/// Whether a statement fails the rule: `Allow` to everyone, with no condition that restricts it
/// or that this rule cannot judge (fail closed: an unknown condition key keeps the statement).
pub fn is_public(stmt: &Value) -> bool {
    stmt.get("Effect").and_then(Value::as_str) == Some("Allow")
        && names_everyone(stmt)
        && judge_condition(stmt) == ConditionJudgement::Open
}

/// A statement's name in plans: its `Sid`, else `#<index>` (0-based, in the policy as read).
pub fn label(index: usize, stmt: &Value) -> String {
    match stmt.get("Sid").and_then(Value::as_str) {
        Some(sid) if !sid.is_empty() => sid.to_string(),
        _ => format!("#{index}"),
    }
}

/// The canonical line of a public statement: `policy statement <label>: Allow * <actions>`.
pub fn removal_line(index: usize, stmt: &Value) -> String {
    let actions = match (stmt.get("Action"), stmt.get("NotAction")) {
        (Some(a), _) => strings(a).join(","),
        (None, Some(n)) => format!("all but {}", strings(n).join(",")),
        (None, None) => "(no action)".into(),
    };
    format!("policy statement {}: Allow * {actions}", label(index, stmt))
}

/// Principals a public statement names besides everyone (they keep their access).
fn other_principals(stmt: &Value) -> Vec<String> {
    let Some(Value::Object(m)) = stmt.get("Principal") else {
        return Vec::new();
    };
    m.iter()
        .flat_map(|(kind, v)| strings(v).into_iter().map(move |p| (kind, p)))
        .filter(|(_, p)| *p != "*")
        .map(|(kind, p)| format!("{kind} {p}"))
        .collect()
}

/// The statement with everyone taken out of its principal, when it names others too
/// (`{"AWS": ["*", "arn:aws:iam::111122223333:root"]}` keeps the account); `None` when everyone
/// is all it names. Nothing else of the statement changes.
fn narrowed(stmt: &Value) -> Option<Value> {
    let Some(Value::Object(principal)) = stmt.get("Principal") else {
        return None;
    };
    let mut principal = principal.clone();
    let others: Vec<Value> = principal
        .get("AWS")
        .map(|v| {
            strings(v)
                .into_iter()
                .filter(|p| *p != "*")
                .map(|p| Value::String(p.into()))
                .collect()
        })
        .unwrap_or_default();
    match others.len() {
        0 => principal.remove("AWS"),
        1 => principal.insert("AWS".into(), others[0].clone()),
        _ => principal.insert("AWS".into(), Value::Array(others)),
    };
    if principal.is_empty() {
        return None;
    }
    let mut out = stmt.clone();
    out["Principal"] = Value::Object(principal);
    Some(out)
}

/// What fails in a policy and the changes that fix it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyAssessment {
    pub offending: Vec<String>,
    pub changes: Vec<PolicyChange>,
    pub removes: Vec<String>,
    pub untouched: Vec<String>,
    pub cannot_keep: Vec<String>,
}

/// Judges each statement: public ones go (all of them: the policy is deleted), the rest stay.
pub fn assess_policy(policy: Option<&Value>) -> PolicyAssessment {
    let mut a = PolicyAssessment::default();
    let Some(policy) = policy else {
        return a;
    };
    let all = statements(policy);
    let mut labels = Vec::new();
    let mut gone = Vec::new();
    let mut kept_narrowed = Vec::new();
    for (i, stmt) in all.iter().enumerate() {
        if is_public(stmt) {
            let line = removal_line(i, stmt);
            a.offending.push(line.clone());
            a.removes.push(line);
            if let Some(n) = narrowed(stmt) {
                a.untouched.push(format!(
                    "policy statement {} for {} (only everyone is taken out of its principals)",
                    label(i, stmt),
                    other_principals(stmt).join(", ")
                ));
                kept_narrowed.push(n);
            }
            labels.push(label(i, stmt));
            gone.push((*stmt).clone());
        } else {
            let why = match judge_condition(stmt) {
                _ if !names_everyone(stmt) => String::new(),
                ConditionJudgement::Restricted(r) => format!(" (restricted by {r})"),
                ConditionJudgement::Unjudged(c) if stmt.get("Effect").and_then(Value::as_str) == Some("Allow") => {
                    format!(
                        " (kept, fail closed: its condition {} is not known to leave it open to everyone)",
                        c.join(", ")
                    )
                }
                _ => String::new(),
            };
            a.untouched.push(format!("policy statement {}{why}", label(i, stmt)));
        }
    }
    if gone.is_empty() {
        return a;
    }
    a.changes.push(if gone.len() == all.len() && kept_narrowed.is_empty() {
        PolicyChange::DeletePolicy { labels }
    } else {
        PolicyChange::RemoveStatements {
            labels,
            statements: gone,
            narrowed: kept_narrowed,
        }
    });
    a
}

/// The undo of a fix to `before`, from `live`: the statements `before` had and `live` lacks, back
/// at their recorded places, the statements `live` has and `before` lacked (the narrowed copies
/// the fix left) dropped; every other statement as `live` has it. A policy the fix deleted comes
/// back whole. `None` when `live` has a policy `before` did not (no fix adds one).
pub fn revert_policy(live: Option<&Value>, before: Option<&Value>) -> Option<Vec<PolicyChange>> {
    match (live, before) {
        (_, None) if live == before => Some(Vec::new()),
        (_, None) => None,
        (None, Some(b)) => Some(vec![PolicyChange::RestorePolicy {
            labels: statements(b).iter().enumerate().map(|(i, s)| label(i, s)).collect(),
            policy: b.clone(),
        }]),
        (Some(l), Some(b)) => {
            let (ls, bs) = (statements(l), statements(b));
            let placed: Vec<PlacedStatement> = bs
                .iter()
                .enumerate()
                .filter(|(_, s)| !ls.contains(s))
                .map(|(index, s)| PlacedStatement {
                    index,
                    statement: (*s).clone(),
                })
                .collect();
            let drop: Vec<Value> = ls.iter().filter(|s| !bs.contains(s)).map(|s| (*s).clone()).collect();
            if placed.is_empty() && drop.is_empty() {
                return Some(Vec::new());
            }
            Some(vec![PolicyChange::RestoreStatements {
                labels: placed.iter().map(|p| label(p.index, &p.statement)).collect(),
                statements: placed,
                drop,
                as_object: matches!(b.get("Statement"), Some(Value::Object(_))),
            }])
        }
    }
}

/// The policy after `changes` (`None`: deleted).
pub fn policy_after(policy: Option<&Value>, changes: &[PolicyChange]) -> Option<Value> {
    let mut current = policy.cloned();
    for c in changes {
        match c {
            PolicyChange::DeletePolicy { .. } => current = None,
            PolicyChange::RestorePolicy { policy, .. } => current = Some(policy.clone()),
            PolicyChange::RestoreStatements {
                statements: placed,
                drop,
                as_object,
                ..
            } => {
                if let Some(Value::Object(m)) = &mut current {
                    let mut kept: Vec<Value> = match m.get("Statement") {
                        Some(Value::Array(a)) => a.iter().filter(|s| !drop.contains(s)).cloned().collect(),
                        Some(s @ Value::Object(_)) if !drop.contains(s) => vec![s.clone()],
                        _ => Vec::new(),
                    };
                    let mut placed: Vec<&PlacedStatement> = placed.iter().collect();
                    placed.sort_by_key(|p| p.index);
                    for p in placed {
                        if !kept.contains(&p.statement) {
                            kept.insert(p.index.min(kept.len()), p.statement.clone());
                        }
                    }
                    let one = kept.len() == 1 && *as_object;
                    m.insert(
                        "Statement".into(),
                        if one { kept.remove(0) } else { Value::Array(kept) },
                    );
                }
            }
            PolicyChange::RemoveStatements {
                statements: drop,
                narrowed,
                ..
            } => {
                if let Some(Value::Object(m)) = &mut current {
                    let mut kept: Vec<Value> = match m.get("Statement") {
                        Some(Value::Array(a)) => a.iter().filter(|s| !drop.contains(s)).cloned().collect(),
                        Some(s @ Value::Object(_)) if !drop.contains(s) => vec![s.clone()],
                        _ => Vec::new(),
                    };
                    for n in narrowed {
                        if !kept.contains(n) {
                            kept.push(n.clone());
                        }
                    }
                    if kept.is_empty() {
                        current = None;
                    } else {
                        m.insert("Statement".into(), Value::Array(kept));
                    }
                }
            }
        }
    }
    current
}

/// What differs between two policies, one line per statement removed or added.
pub fn diff_policy(before: Option<&Value>, after: Option<&Value>) -> Vec<String> {
    match (before, after) {
        (None, None) => Vec::new(),
        (Some(_), None) => vec!["bucket policy deleted".into()],
        (None, Some(_)) => vec!["bucket policy added".into()],
        (Some(b), Some(a)) => {
            let (bs, as_) = (statements(b), statements(a));
            let mut out: Vec<String> = bs
                .iter()
                .enumerate()
                .filter(|(_, s)| !as_.contains(s))
                .map(|(i, s)| format!("removed policy statement {}", label(i, s)))
                .collect();
            out.extend(
                as_.iter()
                    .enumerate()
                    .filter(|(_, s)| !bs.contains(s))
                    .map(|(i, s)| format!("added policy statement {}", label(i, s))),
            );
            if out.is_empty() && a != b {
                out.push("bucket policy changed outside its statements".into());
            }
            out
        }
    }
}

/// Reads the policy: `None` when the bucket does not exist, `Some(None)` when it has no policy.
pub async fn read_policy(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<Option<Option<Value>>, Error> {
    let out = match s3.get_bucket_policy().bucket(bucket).send().await {
        Ok(out) => out,
        Err(e) => {
            let err = Error::from_sdk(GET_BUCKET_POLICY, e);
            return match err.aws_code() {
                Some("NoSuchBucketPolicy") => Ok(Some(None)),
                _ if s3_bucket::is_gone(&err) => Ok(None),
                _ => Err(err),
            };
        }
    };
    let Some(text) = out.policy() else {
        return Ok(Some(None));
    };
    match serde_json::from_str::<Value>(text) {
        Ok(v @ Value::Object(_)) => Ok(Some(Some(v))),
        _ => Err(Error::Aws {
            operation: GET_BUCKET_POLICY,
            code: "UnreadablePolicy".into(),
            message: "the bucket policy is not a JSON object; refusing to judge or rewrite it".into(),
        }),
    }
}

/// Writes `after` in place of `before`: nothing when equal, `DeleteBucketPolicy` when `None`,
/// else one `PutBucketPolicy` with the whole policy.
pub async fn write_policy(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    before: Option<&Value>,
    after: Option<&Value>,
) -> Result<(), Error> {
    if before == after {
        return Ok(());
    }
    match after {
        None => s3
            .delete_bucket_policy()
            .bucket(bucket)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| Error::from_sdk(DELETE_BUCKET_POLICY, e)),
        Some(p) => s3
            .put_bucket_policy()
            .bucket(bucket)
            .policy(p.to_string())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| Error::from_sdk(PUT_BUCKET_POLICY, e)),
    }
}

impl RuleFamily for S3BucketPolicy {
    const NAME: &'static str = "s3-bucket-policy";
    const DOC: FamilyDoc = FamilyDoc {
        changes: "drop exactly the Allow statements whose principal is everyone and whose Condition restricts no one, or, when such a statement also names other principals, take only everyone out of it (one PutBucketPolicy with every other statement as read); DeleteBucketPolicy when every statement is everyone's only",
        never: "the other principals, actions, resources and conditions of any statement, statements restricted by a Condition (source VPC/VPCE/IP, principal org/account/ARN/user id, source account/owner/ARN/org, access points: the delegation statement on s3:DataAccessPointAccount), statements with a condition key not known to leave them open (fail closed, the plan names it), Deny statements, Allow statements with NotPrincipal or a service principal, the ACL, Block Public Access, objects",
        undo: "one PutBucketPolicy putting back exactly the statements the fix removed, each at its recorded place, in place of the narrowed copies it left; every other statement stays as live has it; a policy the fix deleted whole is put back as recorded",
        tested: "local stack",
    };
    const RESOURCE: &'static str = "S3 bucket name";
    const PLACEMENT: Placement = Placement::Located;
    const READS: &'static [&'static str] = &[
        GET_BUCKET_POLICY,
        s3_bucket::GET_BUCKET_TAGGING,
        s3_bucket::GET_BUCKET_LOCATION,
    ];
    const WRITES: &'static [&'static str] = &[PUT_BUCKET_POLICY, DELETE_BUCKET_POLICY];
    type Params = Params;
    type State = BucketPolicy;
    type Change = PolicyChange;

    fn valid_id(id: &str) -> bool {
        ids::is_bucket_name(id)
    }

    async fn read(ctx: &Ctx, bucket: &str, tags: Tags) -> Result<Option<Read<BucketPolicy>>, Error> {
        let s3 = s3_bucket::client(ctx, bucket).await?;
        let state = async { Ok(read_policy(&s3, bucket).await?.map(|policy| BucketPolicy { policy })) };
        s3_bucket::read_with_tags(&s3, bucket, tags, state).await
    }

    fn assess(s: &BucketPolicy, _: &Params, t: Target<'_>) -> Assessment<PolicyChange> {
        let a = assess_policy(s.policy.as_ref());
        let summary = match a.changes.first() {
            None => format!(
                "the policy of bucket {} allows no one without restriction: nothing to change",
                t.resource
            ),
            Some(PolicyChange::DeletePolicy { .. }) => format!(
                "delete the policy of bucket {}: every statement of it allows everyone",
                t.resource
            ),
            Some(PolicyChange::RemoveStatements { labels, .. }) => format!(
                "remove {} public statement(s) from the policy of bucket {} ({} kept)",
                labels.len(),
                t.resource,
                a.untouched.len()
            ),
            // An assessment never restores (only an undo does).
            Some(c @ (PolicyChange::RestoreStatements { .. } | PolicyChange::RestorePolicy { .. })) => c.describe(),
        };
        let mut plan = t.plan(summary, a.changes);
        plan.removes = a.removes;
        plan.cannot_keep = a.cannot_keep;
        plan.untouched = a.untouched;
        plan.untouched
            .push("principals, the ACL, Block Public Access and objects".into());
        Assessment {
            offending: a.offending,
            plan,
        }
    }

    async fn apply(ctx: &Ctx, bucket: &str, s: &BucketPolicy, changes: &[PolicyChange]) -> Result<(), Error> {
        let after = policy_after(s.policy.as_ref(), changes);
        if after == s.policy {
            return Ok(());
        }
        write_policy(
            &s3_bucket::client(ctx, bucket).await?,
            bucket,
            s.policy.as_ref(),
            after.as_ref(),
        )
        .await
    }

    fn simulate(s: &BucketPolicy, changes: &[PolicyChange]) -> BucketPolicy {
        BucketPolicy {
            policy: policy_after(s.policy.as_ref(), changes),
        }
    }

    fn diff(before: &BucketPolicy, after: &BucketPolicy) -> Vec<String> {
        diff_policy(before.policy.as_ref(), after.policy.as_ref())
    }

    fn revert(live: &BucketPolicy, before: &BucketPolicy) -> Option<Vec<PolicyChange>> {
        revert_policy(live.policy.as_ref(), before.policy.as_ref())
    }
}

#[cfg(test)]
pub(crate) mod tests;
