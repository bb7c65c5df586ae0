//! S3-014: a bucket policy allows everyone (`Principal: "*"`, `{"AWS": "*"}` or `{"AWS": ["*"]}`
//! in an `Allow` statement).
//!
//! Changes: drops exactly the offending statements, one `PutBucketPolicy` with every other
//! statement as read; when every statement is offending, `DeleteBucketPolicy` (S3 refuses a
//! policy without statements).
//! Kept: statements whose `Condition` restricts who can use them (a positive string/ARN/IP
//! condition on `aws:SourceVpc`, `aws:SourceVpce`, `aws:SourceIp`, `aws:PrincipalOrgID`,
//! `aws:PrincipalAccount`, `aws:SourceAccount`, `aws:SourceArn`, `aws:PrincipalArn`, ... whose
//! values are not wildcards; `IfExists`, `ForAllValues:` and negated operators do not restrict,
//! since a request without the key passes them), `Deny` statements, statements naming other
//! principals only.
//! Not this rule's: `Allow` with `NotPrincipal` and service principals are left as they are.
//! Narrowed: a public statement that also names other principals (`{"AWS": ["*", "<account>"]}`)
//! loses only `*`: the accounts it names keep exactly the access they had.
//! Never touches: the other principals, actions, resources and conditions of any statement, the
//! ACL, Block Public Access, objects. (`*Like` condition values whose account or organization is
//! a wildcard restrict no one, so they do not save a statement.)
//! Undo: `PutBucketPolicy` with the recorded `before` policy.
//!
//! The policy helpers are public: CT-003 (a CloudTrail log bucket made public) uses the same
//! judgement of statements.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::aws::Ctx;
use crate::error::Error;
use crate::plan::{Describe, Plan};
use crate::rules::family::{Assessment, FamilyDoc, Placement, Read, RuleFamily, Tags, Target};
use crate::rules::{ids, s3_bucket};

/// The family: `s3-bucket-policy` in the catalog.
pub struct S3BucketPolicy;

pub const GET_BUCKET_POLICY: &str = "s3:GetBucketPolicy";
pub const PUT_BUCKET_POLICY: &str = "s3:PutBucketPolicy";
pub const DELETE_BUCKET_POLICY: &str = "s3:DeleteBucketPolicy";

/// No parameters: the rule is the same for every bucket.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {}

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

/// Condition keys that restrict who (or from where) a statement can be used.
const RESTRICTING_KEYS: &[&str] = &[
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:sourceip",
    "aws:vpcsourceip",
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:principalservicename",
    "aws:sourceaccount",
    "aws:sourcearn",
    "aws:sourceorgid",
    "aws:sourceorgpaths",
    "aws:userid",
];

/// Operators that pass only when the key is present and matches (so they restrict).
const MATCHING_OPERATORS: &[&str] = &[
    "stringequals",
    "stringequalsignorecase",
    "stringlike",
    "arnequals",
    "arnlike",
    "ipaddress",
];

/// The condition that restricts who can use the statement (`StringEquals aws:SourceVpce`), if any.
pub fn restriction(stmt: &Value) -> Option<String> {
    let cond = stmt.get("Condition")?.as_object()?;
    for (op, block) in cond {
        let lower = op.to_ascii_lowercase();
        // A missing key passes `...IfExists` and `ForAllValues:`: they restrict nothing.
        if lower.ends_with("ifexists") || lower.starts_with("forallvalues:") {
            continue;
        }
        let base = lower.strip_prefix("foranyvalue:").unwrap_or(&lower);
        if !MATCHING_OPERATORS.contains(&base) {
            continue;
        }
        let Some(block) = block.as_object() else { continue };
        for (key, values) in block {
            if !RESTRICTING_KEYS.contains(&key.to_ascii_lowercase().as_str()) {
                continue;
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
            if !vals.is_empty() && all_strings && !vals.iter().any(open) {
                return Some(format!("{op} {key}"));
            }
        }
    }
    None
}

/// Whether a `*Like` value leaves who it names open: an ARN whose account is a wildcard
/// (`arn:aws:iam::*:role/x`), or an account or organization pattern with a wildcard (`o-*`).
fn wildcard_identity(v: &str) -> bool {
    let wild = |s: &str| s.contains('*') || s.contains('?');
    if v.starts_with("arn:") {
        v.split(':').nth(4).is_none_or(wild)
    } else {
        // An org path (`o-abc/r-ab12/*`) names its organization in its first segment.
        v.split('/').next().is_none_or(wild)
    }
}

/// Whether a statement fails the rule: `Allow` to everyone, without a restricting condition.
pub fn is_public(stmt: &Value) -> bool {
    stmt.get("Effect").and_then(Value::as_str) == Some("Allow") && names_everyone(stmt) && restriction(stmt).is_none()
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
            let why = match restriction(stmt) {
                Some(r) if names_everyone(stmt) => format!(" (restricted by {r})"),
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

/// The policy after `changes` (`None`: deleted).
pub fn policy_after(policy: Option<&Value>, changes: &[PolicyChange]) -> Option<Value> {
    let mut current = policy.cloned();
    for c in changes {
        match c {
            PolicyChange::DeletePolicy { .. } => current = None,
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
        never: "the other principals, actions, resources and conditions of any statement, statements restricted by a Condition (source VPC/VPCE/IP, principal org/account/ARN, source account/ARN), Deny statements, the ACL, Block Public Access, objects",
        undo: "PutBucketPolicy with the recorded before policy",
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
        };
        let mut plan = Plan::new(t.rule_id, t.resource, t.region, summary, a.changes);
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
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use aws_sdk_s3::operation::delete_bucket_policy::DeleteBucketPolicyOutput;
    use aws_sdk_s3::operation::get_bucket_location::GetBucketLocationOutput;
    use aws_sdk_s3::operation::get_bucket_policy::{GetBucketPolicyError, GetBucketPolicyOutput};
    use aws_sdk_s3::operation::put_bucket_policy::PutBucketPolicyOutput;
    use aws_smithy_mocks::{mock, mock_client, MockResponseInterceptor, RuleMode};
    use serde_json::json;

    fn target() -> Target<'static> {
        Target {
            rule_id: "S3-014",
            resource: "b",
            region: "us-east-1",
        }
    }

    fn public_read() -> Value {
        json!({"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"})
    }

    fn from_vpce() -> Value {
        json!({"Sid": "FromVpce", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": ["s3:GetObject", "s3:PutObject"],
               "Resource": "arn:aws:s3:::b/*", "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-0123abcd"}}})
    }

    fn partner() -> Value {
        json!({"Sid": "Partner", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"})
    }

    fn policy(stmts: Vec<Value>) -> BucketPolicy {
        BucketPolicy {
            policy: Some(json!({"Version": "2012-10-17", "Statement": stmts})),
        }
    }

    #[test]
    fn only_unrestricted_public_statements_go_and_restricted_ones_stay() {
        let s = policy(vec![public_read(), from_vpce(), partner()]);
        let a = S3BucketPolicy::assess(&s, &Params {}, target());
        assert_eq!(
            a.plan.changes,
            vec![PolicyChange::RemoveStatements {
                labels: vec!["PublicRead".into()],
                statements: vec![public_read()],
                narrowed: vec![],
            }]
        );
        assert_eq!(a.offending, vec!["policy statement PublicRead: Allow * s3:GetObject"]);
        assert_eq!(a.plan.removes, a.offending);
        assert_eq!(
            a.plan.untouched[..2],
            [
                "policy statement FromVpce (restricted by StringEquals aws:SourceVpce)".to_string(),
                "policy statement Partner".to_string()
            ]
        );
        let after = S3BucketPolicy::simulate(&s, &a.plan.changes);
        assert_eq!(after, policy(vec![from_vpce(), partner()]));
        assert_eq!(
            S3BucketPolicy::diff(&s, &after),
            vec!["removed policy statement PublicRead"]
        );
        assert!(S3BucketPolicy::assess(&after, &Params {}, target()).plan.is_empty());
    }

    #[test]
    fn a_like_condition_whose_account_or_org_is_a_wildcard_restricts_no_one() {
        for cond in [
            json!({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:*"}}),
            json!({"StringLike": {"aws:PrincipalOrgID": "o-*"}}),
            json!({"ArnLike": {"aws:SourceArn": "arn:aws:sns:us-east-1:*:topic"}}),
        ] {
            let stmt = json!({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*", "Condition": cond});
            assert!(is_public(&stmt), "{cond}");
        }
        // A wildcard after a fixed account or organization still names that one only.
        for cond in [
            json!({"ArnLike": {"aws:SourceArn": "arn:aws:sns:us-east-1:123456789012:*"}}),
            json!({"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": "o-a1b2c3d4e5/r-ab12/*"}}),
        ] {
            let stmt = json!({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*", "Condition": cond});
            assert!(!is_public(&stmt), "{cond}");
        }
    }

    #[test]
    fn every_wildcard_principal_form_is_public() {
        for principal in [json!("*"), json!({"AWS": "*"}), json!({"AWS": ["*"]})] {
            let stmt = json!({"Effect": "Allow", "Principal": principal, "Action": "s3:*", "Resource": "*"});
            assert!(is_public(&stmt), "{stmt}");
        }
        let deny = json!({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"});
        assert!(!is_public(&deny));
        assert!(!is_public(&partner()));
    }

    #[test]
    fn a_condition_that_does_not_restrict_the_principal_does_not_count() {
        for cond in [
            json!({"Bool": {"aws:SecureTransport": "true"}}),
            json!({"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1"}}),
            json!({"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}),
            json!({"ForAllValues:StringEquals": {"aws:PrincipalOrgID": "o-abc"}}),
            json!({"StringLike": {"aws:PrincipalOrgID": "*"}}),
            json!({"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}),
            json!({"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "::/0"]}}),
            json!({"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}),
        ] {
            let stmt = json!({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*", "Condition": cond});
            assert!(is_public(&stmt), "{stmt}");
        }
        for cond in [
            json!({"IpAddress": {"aws:SourceIp": ["203.0.113.0/24"]}}),
            json!({"StringEquals": {"aws:PrincipalOrgID": "o-abc"}}),
            json!({"ArnLike": {"aws:SourceArn": "arn:aws:cloudtrail:*:111122223333:trail/*"}}),
            json!({"StringEquals": {"AWS:SourceAccount": "111122223333"}}),
            json!({"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": ["o-a/r-b/ou-c/*"]}}),
        ] {
            let stmt = json!({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*", "Condition": cond});
            assert!(!is_public(&stmt), "{stmt}");
        }
    }

    #[test]
    fn a_statement_naming_others_too_is_narrowed_and_a_policy_of_public_statements_only_is_deleted() {
        let mixed = json!({"Effect": "Allow", "Principal": {"AWS": ["*", "arn:aws:iam::111122223333:root"]}, "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b"});
        let s = BucketPolicy {
            policy: Some(json!({"Version": "2012-10-17", "Statement": [public_read(), mixed.clone()]})),
        };
        let a = S3BucketPolicy::assess(&s, &Params {}, target());
        let partner_only = json!({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b"});
        assert_eq!(
            a.plan.changes,
            vec![PolicyChange::RemoveStatements {
                labels: vec!["PublicRead".into(), "#1".into()],
                statements: vec![public_read(), mixed],
                narrowed: vec![partner_only.clone()],
            }]
        );
        assert_eq!(
            a.plan.removes,
            vec![
                "policy statement PublicRead: Allow * s3:GetObject",
                "policy statement #1: Allow * s3:ListBucket"
            ]
        );
        assert!(a
            .plan
            .untouched
            .iter()
            .any(|u| u.contains("AWS arn:aws:iam::111122223333:root")));
        let after = S3BucketPolicy::simulate(&s, &a.plan.changes);
        assert_eq!(
            after.policy,
            Some(json!({"Version": "2012-10-17", "Statement": [partner_only]}))
        );
        assert!(S3BucketPolicy::assess(&after, &Params {}, target())
            .offending
            .is_empty());
        // Everyone and nothing else: the statement goes; all of them: the policy goes.
        let s = BucketPolicy {
            policy: Some(json!({"Version": "2012-10-17", "Statement": [public_read()]})),
        };
        let a = S3BucketPolicy::assess(&s, &Params {}, target());
        assert!(matches!(a.plan.changes[..], [PolicyChange::DeletePolicy { .. }]));
        assert_eq!(S3BucketPolicy::simulate(&s, &a.plan.changes).policy, None);
        // A single statement object (not a list) works the same.
        let single = BucketPolicy {
            policy: Some(json!({"Version": "2012-10-17", "Statement": public_read()})),
        };
        let a = S3BucketPolicy::assess(&single, &Params {}, target());
        assert!(matches!(a.plan.changes[..], [PolicyChange::DeletePolicy { .. }]));
    }

    #[test]
    fn no_policy_or_a_restricted_policy_is_compliant() {
        for s in [BucketPolicy { policy: None }, policy(vec![from_vpce(), partner()])] {
            let a = S3BucketPolicy::assess(&s, &Params {}, target());
            assert!(a.plan.is_empty() && a.offending.is_empty() && a.plan.removes.is_empty());
        }
    }

    #[tokio::test]
    async fn the_put_carries_every_kept_statement_and_nothing_else_is_sent() {
        let before = policy(vec![public_read(), from_vpce(), partner()]).policy.unwrap();
        let after = policy_after(Some(&before), &assess_policy(Some(&before)).changes);
        let put = mock!(aws_sdk_s3::Client::put_bucket_policy)
            .match_requests(|r| {
                let sent: Value = serde_json::from_str(r.policy().unwrap()).unwrap();
                r.bucket() == Some("b")
                    && sent == json!({"Version": "2012-10-17", "Statement": [from_vpce(), partner()]})
            })
            .then_output(|| PutBucketPolicyOutput::builder().build());
        let s3 = mock_client!(aws_sdk_s3, RuleMode::Sequential, [&put]);
        write_policy(&s3, "b", Some(&before), after.as_ref()).await.unwrap();
        assert_eq!(put.num_calls(), 1);
        // Already done: nothing sent.
        write_policy(&s3, "b", after.as_ref(), after.as_ref()).await.unwrap();
        assert_eq!(put.num_calls(), 1);
    }

    /// Through the family with its guard: location, then exactly one DeleteBucketPolicy.
    #[tokio::test]
    async fn apply_deletes_a_policy_of_public_statements_only() {
        let loc =
            mock!(aws_sdk_s3::Client::get_bucket_location).then_output(|| GetBucketLocationOutput::builder().build());
        let del = mock!(aws_sdk_s3::Client::delete_bucket_policy)
            .match_requests(|r| r.bucket() == Some("all-public-policy"))
            .then_output(|| DeleteBucketPolicyOutput::builder().build());
        let mocks = MockResponseInterceptor::new()
            .rule_mode(RuleMode::Sequential)
            .with_rule(&loc)
            .with_rule(&del);
        let ctx = Ctx::new(
            crate::rules::mock_ctx::sdk_config(),
            "111122223333",
            S3BucketPolicy::READS,
            S3BucketPolicy::WRITES,
        )
        .with_interceptor(mocks);
        let s = policy(vec![public_read()]);
        let t = Target {
            resource: "all-public-policy",
            ..target()
        };
        let a = S3BucketPolicy::assess(&s, &Params {}, t);
        S3BucketPolicy::apply(&ctx, "all-public-policy", &s, &a.plan.changes)
            .await
            .unwrap();
        assert_eq!((loc.num_calls(), del.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn no_policy_reads_as_none_and_a_missing_bucket_as_gone() {
        let no_policy = mock!(aws_sdk_s3::Client::get_bucket_policy).then_error(|| {
            GetBucketPolicyError::generic(
                aws_sdk_s3::error::ErrorMetadata::builder()
                    .code("NoSuchBucketPolicy")
                    .build(),
            )
        });
        let s3 = mock_client!(aws_sdk_s3, [&no_policy]);
        assert_eq!(read_policy(&s3, "b").await.unwrap(), Some(None));
        let gone = mock!(aws_sdk_s3::Client::get_bucket_policy).then_error(|| {
            GetBucketPolicyError::generic(aws_sdk_s3::error::ErrorMetadata::builder().code("NoSuchBucket").build())
        });
        let s3 = mock_client!(aws_sdk_s3, [&gone]);
        assert_eq!(read_policy(&s3, "b").await.unwrap(), None);
        let text = mock!(aws_sdk_s3::Client::get_bucket_policy)
            .then_output(|| GetBucketPolicyOutput::builder().policy("not json").build());
        let s3 = mock_client!(aws_sdk_s3, [&text]);
        assert_eq!(
            read_policy(&s3, "b").await.unwrap_err().aws_code(),
            Some("UnreadablePolicy")
        );
    }
}
