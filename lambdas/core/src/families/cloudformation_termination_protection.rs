//! CFM-005: a CloudFormation stack's termination protection is off.
//!
//! What a fix changes, never touches and how it is undone: [`CfnTerminationProtection::DOC`]
//! (RULES.md is generated from it). A nested stack follows its root stack's protection (AWS
//! refuses the call on it): the fix refuses it by name and changes nothing.

use serde::{Deserialize, Serialize};

use crate::aws::Ctx;
use crate::error::Error;
use crate::families::helpers::family::{Assessment, FamilyDoc, NoParams, Read, RuleFamily, Tags, Target};
use crate::families::helpers::kit;
use crate::ids;
use crate::plan::Describe;

/// The family: `cloudformation-termination-protection` in the catalog.
pub struct CfnTerminationProtection;

const DESCRIBE_STACKS: &str = "cloudformation:DescribeStacks";
const UPDATE_TERMINATION_PROTECTION: &str = "cloudformation:UpdateTerminationProtection";

/// Its rules take no parameters.
pub type Params = NoParams;

/// A stack's protection as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stack {
    pub stack_id: String,
    pub status: String,
    pub termination_protection: bool,
    /// The root stack, when this one is nested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action")]
pub enum Change {
    #[serde(rename = "cloudformation:EnableTerminationProtection")]
    EnableTerminationProtection,
    /// `EnableTerminationProtection=false` (an undo: the recorded stack was unprotected).
    #[serde(rename = "cloudformation:DisableTerminationProtection")]
    DisableTerminationProtection,
}

impl Describe for Change {
    fn describe(&self) -> String {
        match self {
            Change::EnableTerminationProtection => "enable termination protection".into(),
            Change::DisableTerminationProtection => {
                "disable termination protection again, as recorded before the fix".into()
            }
        }
    }
}

/// A stack name (`[A-Za-z][A-Za-z0-9-]{0,127}`) or a stack id
/// (`arn:<partition>:cloudformation:<region>:<account>:stack/<name>/<uuid>`).
pub fn is_stack_ref(id: &str) -> bool {
    fn is_name(n: &str) -> bool {
        (1..=128).contains(&n.len())
            && n.as_bytes()[0].is_ascii_alphabetic()
            && n.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
    }
    if !id.starts_with("arn:") {
        return is_name(id);
    }
    let Some(arn) = ids::Arn::regional(id, "cloudformation") else {
        return false;
    };
    let mut res = arn.resource.split('/');
    res.next() == Some("stack")
        && res.next().is_some_and(is_name)
        && res
            .next()
            .is_some_and(|u| u.len() == 36 && u.bytes().all(|c| c.is_ascii_hexdigit() || c == b'-'))
        && res.next().is_none()
}

fn nested(s: &Stack) -> Option<&str> {
    s.root_id.as_deref().filter(|r| *r != s.stack_id)
}

impl RuleFamily for CfnTerminationProtection {
    const NAME: &'static str = "cloudformation-termination-protection";
    const DOC: FamilyDoc = FamilyDoc {
        changes: "UpdateTerminationProtection EnableTerminationProtection=true (a nested stack is refused: it follows its root)",
        never: "the stack's resources, template, parameters, tags, policies and drift",
        undo: "UpdateTerminationProtection EnableTerminationProtection=false on the stack id, when the recorded stack was unprotected",
        tested: "request-level",
    };
    const RESOURCE: &'static str = "CloudFormation stack name or stack id";
    const READS: &'static [&'static str] = &[DESCRIBE_STACKS];
    const WRITES: &'static [&'static str] = &[UPDATE_TERMINATION_PROTECTION];
    type Params = Params;
    type State = Stack;
    type Change = Change;

    fn valid_id(id: &str) -> bool {
        is_stack_ref(id)
    }

    async fn read(ctx: &Ctx, stack: &str, tags: Tags) -> Result<Option<Read<Stack>>, Error> {
        let cfn = crate::sdk_client!(ctx, aws_sdk_cloudformation);
        read_stack(&cfn, stack, tags).await
    }

    fn assess(s: &Stack, _: &Params, t: Target<'_>) -> Assessment<Change> {
        let on = s.termination_protection;
        let summary = match (on, nested(s)) {
            (true, _) => format!("stack {} is protected from deletion: nothing to change", t.resource),
            (false, Some(root)) => format!(
                "stack {} is nested in {root}: its termination protection is the root stack's; the fix refuses \
                 it and changes nothing (enable protection on the root stack)",
                t.resource
            ),
            (false, None) => format!("enable termination protection on stack {}", t.resource),
        };
        let changes = if on {
            Vec::new()
        } else {
            vec![Change::EnableTerminationProtection]
        };
        let mut plan = t.plan(summary, changes);
        plan.untouched = vec!["the stack's resources, template, parameters, tags and policies".into()];
        Assessment {
            offending: if on {
                Vec::new()
            } else {
                vec!["termination protection disabled".into()]
            },
            plan,
        }
    }

    async fn apply(ctx: &Ctx, stack: &str, s: &Stack, changes: &[Change]) -> Result<(), Error> {
        for c in changes {
            if let Some(root) = nested(s) {
                return Err(Error::InvalidInput(format!(
                    "stack {stack} is nested in {root}: AWS sets termination protection on the root stack only; \
                     nothing was changed"
                )));
            }
            let on = matches!(c, Change::EnableTerminationProtection);
            set(&crate::sdk_client!(ctx, aws_sdk_cloudformation), &s.stack_id, on).await?;
        }
        Ok(())
    }

    fn simulate(s: &Stack, changes: &[Change]) -> Stack {
        let mut out = s.clone();
        for c in changes {
            out.termination_protection = matches!(c, Change::EnableTerminationProtection);
        }
        out
    }

    /// The undo: protection off again when the recorded stack was unprotected.
    fn revert(live: &Stack, before: &Stack) -> Option<Vec<Change>> {
        Some(match (live.termination_protection, before.termination_protection) {
            (true, false) => vec![Change::DisableTerminationProtection],
            (false, true) => vec![Change::EnableTerminationProtection],
            _ => Vec::new(),
        })
    }

    fn diff(before: &Stack, after: &Stack) -> Vec<String> {
        if before.termination_protection == after.termination_protection {
            return Vec::new();
        }
        let show = |on: bool| if on { "enabled" } else { "disabled" };
        vec![format!(
            "termination protection {} → {}",
            show(before.termination_protection),
            show(after.termination_protection)
        )]
    }
}

/// The stack by name or id; `None` when it does not exist or is deleted.
pub async fn read_stack(
    cfn: &aws_sdk_cloudformation::Client,
    stack: &str,
    tags: Tags,
) -> Result<Option<Read<Stack>>, Error> {
    let out = match cfn.describe_stacks().stack_name(stack).send().await {
        Ok(out) => out,
        Err(e) => {
            let err = Error::from_sdk(DESCRIBE_STACKS, e);
            // CloudFormation says "Stack with id X does not exist" as a ValidationError.
            return match &err {
                Error::Aws { code, message, .. } if code == "ValidationError" && message.contains("does not exist") => {
                    Ok(None)
                }
                _ => Err(err),
            };
        }
    };
    let Some(found) = out.stacks().first() else {
        return Ok(None);
    };
    let status = found.stack_status().map(|s| s.as_str().to_string()).unwrap_or_default();
    if status == "DELETE_COMPLETE" {
        return Ok(None);
    }
    Ok(Some(Read {
        state: Stack {
            stack_id: found.stack_id().unwrap_or(stack).to_string(),
            status,
            termination_protection: found.enable_termination_protection().unwrap_or(false),
            root_id: found.root_id().map(str::to_string),
        },
        tags: match tags {
            Tags::Read => kit::tag_map(found.tags().iter().map(|t| (t.key(), t.value()))),
            Tags::Skip => Default::default(),
        },
    }))
}

/// `UpdateTerminationProtection` with `EnableTerminationProtection=true` (idempotent on AWS).
pub async fn enable(cfn: &aws_sdk_cloudformation::Client, stack_id: &str) -> Result<(), Error> {
    set(cfn, stack_id, true).await
}

/// `UpdateTerminationProtection` with `EnableTerminationProtection=on` (idempotent on AWS).
pub async fn set(cfn: &aws_sdk_cloudformation::Client, stack_id: &str, on: bool) -> Result<(), Error> {
    cfn.update_termination_protection()
        .stack_name(stack_id)
        .enable_termination_protection(on)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| Error::from_sdk(UPDATE_TERMINATION_PROTECTION, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::families::helpers::mock_ctx;
    use aws_sdk_cloudformation::operation::describe_stacks::{DescribeStacksError, DescribeStacksOutput};
    use aws_sdk_cloudformation::operation::update_termination_protection::UpdateTerminationProtectionOutput;
    use aws_sdk_cloudformation::types::{Stack as CfnStack, StackStatus, Tag};
    use aws_smithy_mocks::mock;

    const ID: &str = "arn:aws:cloudformation:us-east-1:111122223333:stack/web/0a1b2c3d-0000-1111-2222-333344445555";

    fn target() -> Target<'static> {
        Target {
            rule_id: "CFM-005",
            resource: "web",
            region: "us-east-1",
        }
    }

    fn stack(on: bool, root: Option<&str>) -> Stack {
        Stack {
            stack_id: ID.into(),
            status: "CREATE_COMPLETE".into(),
            termination_protection: on,
            root_id: root.map(str::to_string),
        }
    }

    #[test]
    fn an_unprotected_stack_gets_protection_and_a_protected_one_is_left_alone() {
        let a = CfnTerminationProtection::assess(&stack(false, None), &Params {}, target());
        assert_eq!(a.plan.changes, vec![Change::EnableTerminationProtection]);
        assert_eq!(a.offending, vec!["termination protection disabled"]);
        assert!(a.plan.removes.is_empty());
        let after = CfnTerminationProtection::simulate(&stack(false, None), &a.plan.changes);
        assert_eq!(after, stack(true, None));
        assert_eq!(
            CfnTerminationProtection::diff(&stack(false, None), &after),
            vec!["termination protection disabled → enabled"]
        );
        let a = CfnTerminationProtection::assess(&stack(true, None), &Params {}, target());
        assert!(a.plan.is_empty() && a.offending.is_empty());
    }

    #[test]
    fn stack_names_and_ids_only() {
        assert!(is_stack_ref("web") && is_stack_ref("Web-Prod-1") && is_stack_ref(ID));
        for bad in [
            "",
            "1web",
            "web/../x",
            "web_prod",
            "arn:aws:cloudformation:us-east-1:111122223333:stack/web",
            "arn:aws:s3:::bucket",
            "arn:aws:cloudformation:us-east-1:111122223333:stack/web/0a1b2c3d-0000-1111-2222-333344445555/x",
        ] {
            assert!(!is_stack_ref(bad), "{bad}");
        }
    }

    #[tokio::test]
    async fn apply_sends_exactly_one_update_with_protection_on_for_the_stack_id() {
        let update = mock!(aws_sdk_cloudformation::Client::update_termination_protection)
            .match_requests(|r| r.stack_name() == Some(ID) && r.enable_termination_protection() == Some(true))
            .then_output(|| UpdateTerminationProtectionOutput::builder().stack_id(ID).build());
        let ctx = mock_ctx::ctx(
            CfnTerminationProtection::READS,
            CfnTerminationProtection::WRITES,
            &[&update],
        );
        CfnTerminationProtection::apply(&ctx, "web", &stack(false, None), &[Change::EnableTerminationProtection])
            .await
            .unwrap();
        assert_eq!(update.num_calls(), 1);
    }

    #[test]
    fn fix_then_revert_is_the_before_state_and_an_unchanged_stack_needs_nothing() {
        let before = stack(false, None);
        let fixed = CfnTerminationProtection::simulate(
            &before,
            &CfnTerminationProtection::assess(&before, &Params {}, target())
                .plan
                .changes,
        );
        let undo = CfnTerminationProtection::revert(&fixed, &before).unwrap();
        assert_eq!(undo, vec![Change::DisableTerminationProtection]);
        assert_eq!(CfnTerminationProtection::simulate(&fixed, &undo), before);
        assert!(CfnTerminationProtection::revert(&before, &before).unwrap().is_empty());
        assert!(CfnTerminationProtection::revert(&fixed, &fixed).unwrap().is_empty());
    }

    #[tokio::test]
    async fn the_undo_sends_exactly_one_update_with_protection_off_for_the_stack_id() {
        let update = mock!(aws_sdk_cloudformation::Client::update_termination_protection)
            .match_requests(|r| r.stack_name() == Some(ID) && r.enable_termination_protection() == Some(false))
            .then_output(|| UpdateTerminationProtectionOutput::builder().stack_id(ID).build());
        let ctx = mock_ctx::ctx(
            CfnTerminationProtection::READS,
            CfnTerminationProtection::WRITES,
            &[&update],
        );
        CfnTerminationProtection::apply(&ctx, "web", &stack(true, None), &[Change::DisableTerminationProtection])
            .await
            .unwrap();
        assert_eq!(update.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_nested_stack_is_refused_without_a_call() {
        let root = "arn:aws:cloudformation:us-east-1:111122223333:stack/root/0a1b2c3d-0000-1111-2222-999999999999";
        let a = CfnTerminationProtection::assess(&stack(false, Some(root)), &Params {}, target());
        assert!(a.plan.summary.contains("nested"));
        let ctx = mock_ctx::ctx(CfnTerminationProtection::READS, CfnTerminationProtection::WRITES, &[]);
        let err = CfnTerminationProtection::apply(&ctx, "web", &stack(false, Some(root)), &a.plan.changes)
            .await
            .unwrap_err();
        assert_eq!(err.name(), "InvalidInput");
    }

    #[tokio::test]
    async fn read_records_the_flag_and_tags_and_a_missing_or_deleted_stack_is_none() {
        let found = mock!(aws_sdk_cloudformation::Client::describe_stacks)
            .match_requests(|r| r.stack_name() == Some("web"))
            .then_output(|| {
                DescribeStacksOutput::builder()
                    .stacks(
                        CfnStack::builder()
                            .stack_id(ID)
                            .stack_name("web")
                            .stack_status(StackStatus::UpdateComplete)
                            .enable_termination_protection(false)
                            .tags(Tag::builder().key("team").value("web").build())
                            .build(),
                    )
                    .build()
            });
        let missing = mock!(aws_sdk_cloudformation::Client::describe_stacks).then_error(|| {
            DescribeStacksError::generic(
                aws_sdk_cloudformation::error::ErrorMetadata::builder()
                    .code("ValidationError")
                    .message("Stack with id web does not exist")
                    .build(),
            )
        });
        let deleted = mock!(aws_sdk_cloudformation::Client::describe_stacks).then_output(|| {
            DescribeStacksOutput::builder()
                .stacks(
                    CfnStack::builder()
                        .stack_id(ID)
                        .stack_name("web")
                        .stack_status(StackStatus::DeleteComplete)
                        .build(),
                )
                .build()
        });
        let ctx = mock_ctx::ctx(
            CfnTerminationProtection::READS,
            CfnTerminationProtection::WRITES,
            &[&found, &missing, &deleted],
        );
        let r = CfnTerminationProtection::read(&ctx, "web", Tags::Read)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            r.state,
            Stack {
                status: "UPDATE_COMPLETE".into(),
                ..stack(false, None)
            }
        );
        assert_eq!(r.tags.get("team").map(String::as_str), Some("web"));
        assert!(CfnTerminationProtection::read(&ctx, "web", Tags::Skip)
            .await
            .unwrap()
            .is_none());
        assert!(CfnTerminationProtection::read(&ctx, ID, Tags::Skip)
            .await
            .unwrap()
            .is_none());
    }
}
