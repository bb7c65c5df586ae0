//! Lambda-003: a Lambda function's active tracing (X-Ray) is off.
//!
//! What a fix changes, never touches and how it is undone: [`LambdaTracing::DOC`] (RULES.md is
//! generated from it). The seed attached X-Ray policies to workloads' roles; this family reads
//! whether the role may write to X-Ray (`SimulatePrincipalPolicy`) and, when it may not, says so
//! and leaves the role to its owner.

use std::time::Duration;

use aws_sdk_lambda::types::{TracingConfig, TracingMode};
use serde::{Deserialize, Serialize};

use crate::aws::Ctx;
use crate::error::Error;
use crate::families::helpers::family::{Assessment, FamilyDoc, NoParams, Read, RuleFamily, Tags, Target};
use crate::families::helpers::kit;
use crate::ids;
use crate::plan::Describe;

/// The family: `lambda-tracing` in the catalog.
pub struct LambdaTracing;

const GET_FUNCTION_CONFIGURATION: &str = "lambda:GetFunctionConfiguration";
const LIST_TAGS: &str = "lambda:ListTags";
const UPDATE_FUNCTION_CONFIGURATION: &str = "lambda:UpdateFunctionConfiguration";
/// Reads (never changes) whether the function's role may write traces.
const SIMULATE_PRINCIPAL_POLICY: &str = "iam:SimulatePrincipalPolicy";

/// What the function's role needs to send traces.
const XRAY_ACTIONS: [&str; 2] = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"];

/// Its rules take no parameters.
pub type Params = NoParams;

/// A function's tracing as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tracing {
    pub function_arn: String,
    /// `Active` or `PassThrough`.
    pub mode: String,
    /// The execution role (read, never changed).
    pub role: String,
    /// Whether that role allows the X-Ray writes (`None`: could not be checked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_allows_xray: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action")]
pub enum Change {
    #[serde(rename = "lambda:EnableActiveTracing")]
    EnableActiveTracing,
    /// `TracingConfig.Mode=PassThrough` (an undo: the recorded function did not trace actively).
    #[serde(rename = "lambda:DisableActiveTracing")]
    DisableActiveTracing,
}

impl Describe for Change {
    fn describe(&self) -> String {
        match self {
            Change::EnableActiveTracing => "set TracingConfig Mode=Active".into(),
            Change::DisableActiveTracing => "set TracingConfig Mode=PassThrough, as recorded before the fix".into(),
        }
    }
}

fn is_function_name(n: &str) -> bool {
    (1..=64).contains(&n.len()) && n.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
}

/// `(account, region)` of an unqualified function ARN, `None` for a plain name; `Err` for
/// anything else (qualified ARNs included: tracing is set on the function, not a version).
fn function_ref(id: &str) -> Result<Option<(&str, &str)>, ()> {
    if !id.starts_with("arn:") {
        return if is_function_name(id) { Ok(None) } else { Err(()) };
    }
    match ids::Arn::regional(id, "lambda") {
        Some(arn) if arn.resource.strip_prefix("function:").is_some_and(is_function_name) => {
            Ok(Some((arn.account, arn.region)))
        }
        _ => Err(()),
    }
}

fn active(t: &Tracing) -> bool {
    t.mode == "Active"
}

impl RuleFamily for LambdaTracing {
    const NAME: &'static str = "lambda-tracing";
    const DOC: FamilyDoc = FamilyDoc {
        changes: "UpdateFunctionConfiguration with only TracingConfig Mode=Active (a role without X-Ray rights is \
                  reported in the plan, not changed)",
        never: "the execution role or any role or policy, code, environment, layers, VPC, memory, timeout",
        undo: "UpdateFunctionConfiguration with only TracingConfig Mode set back to the recorded PassThrough (the role is not touched)",
        tested: "request-level",
    };
    const RESOURCE: &'static str = "Lambda function name or ARN";
    const READS: &'static [&'static str] = &[GET_FUNCTION_CONFIGURATION, LIST_TAGS, SIMULATE_PRINCIPAL_POLICY];
    const WRITES: &'static [&'static str] = &[UPDATE_FUNCTION_CONFIGURATION];
    /// An update is `InProgress` for seconds, up to a minute or so for functions in a VPC.
    const SETTLE: Duration = Duration::from_secs(90);
    type Params = Params;
    type State = Tracing;
    type Change = Change;

    fn valid_id(id: &str) -> bool {
        function_ref(id).is_ok()
    }

    async fn read(ctx: &Ctx, function: &str, tags: Tags) -> Result<Option<Read<Tracing>>, Error> {
        match function_ref(function) {
            Err(()) => {
                return Err(Error::InvalidInput(format!(
                    "{function:?} is not a function name or ARN"
                )))
            }
            Ok(Some((account, region))) if account != ctx.account() || region != ctx.region() => {
                return Err(Error::InvalidInput(format!(
                    "function {function} is not in the finding's account {} and region {}",
                    ctx.account(),
                    ctx.region()
                )))
            }
            Ok(_) => {}
        }
        let lambda = crate::sdk_client!(ctx, aws_sdk_lambda);
        let got = lambda
            .get_function_configuration()
            .function_name(function)
            .send()
            .await
            .map_err(|e| Error::from_sdk(GET_FUNCTION_CONFIGURATION, e));
        let Some(out) = kit::gone_if(got, &["ResourceNotFoundException"])? else {
            return Ok(None);
        };
        let function_arn = out.function_arn().unwrap_or(function).to_string();
        let role = out.role().unwrap_or_default().to_string();
        let mode = out
            .tracing_config()
            .and_then(|t| t.mode())
            .map(|m| m.as_str().to_string())
            .unwrap_or_else(|| "PassThrough".into());
        let role_allows_xray = if mode == "Active" || role.is_empty() {
            None
        } else {
            role_allows_xray(&crate::sdk_client!(ctx, aws_sdk_iam), &role).await
        };
        let live_tags = kit::tags_if(tags, || async {
            let out = lambda
                .list_tags()
                .resource(&function_arn)
                .send()
                .await
                .map_err(|e| Error::from_sdk(LIST_TAGS, e))?;
            Ok(kit::string_tags(out.tags()))
        })
        .await?;
        Ok(Some(Read {
            state: Tracing {
                function_arn,
                mode,
                role,
                role_allows_xray,
            },
            tags: live_tags,
        }))
    }

    fn assess(s: &Tracing, _: &Params, t: Target<'_>) -> Assessment<Change> {
        let on = active(s);
        let summary = if on {
            format!("function {} traces actively: nothing to change", t.resource)
        } else {
            let role = match s.role_allows_xray {
                Some(true) => format!("its role {} may write to X-Ray", s.role),
                Some(false) => format!(
                    "but its role {} lacks xray:PutTraceSegments/PutTelemetryRecords, and Lambda refuses active \
                     tracing until the role's owner grants them (e.g. AWSXRayDaemonWriteAccess): this fix will \
                     stop before any change; the role is not changed",
                    s.role
                ),
                None => format!(
                    "whether its role {} may write to X-Ray could not be checked; the role is not changed",
                    s.role
                ),
            };
            format!("turn on active tracing for function {} ({role})", t.resource)
        };
        let mut plan = t.plan(
            summary,
            if on {
                Vec::new()
            } else {
                vec![Change::EnableActiveTracing]
            },
        );
        plan.untouched = vec![
            format!("the execution role {}", s.role),
            "code, environment, layers, VPC, memory and timeout".into(),
        ];
        Assessment {
            offending: if on {
                Vec::new()
            } else {
                vec![format!("tracing mode {}", s.mode)]
            },
            plan,
        }
    }

    async fn apply(ctx: &Ctx, _: &str, s: &Tracing, changes: &[Change]) -> Result<(), Error> {
        if changes.contains(&Change::EnableActiveTracing) && s.role_allows_xray == Some(false) {
            // Lambda would refuse the update (InvalidParameterValueException); say why, change nothing.
            return Err(Error::InvalidInput(format!(
                "function {}: its execution role {} lacks xray:PutTraceSegments/PutTelemetryRecords, which active \
                 tracing needs; the role is another workload's to change (e.g. attach AWSXRayDaemonWriteAccess), \
                 then run the fix again. Nothing was changed",
                s.function_arn, s.role
            )));
        }
        for c in changes {
            let mode = match c {
                Change::EnableActiveTracing => TracingMode::Active,
                Change::DisableActiveTracing => TracingMode::PassThrough,
            };
            set_mode(&crate::sdk_client!(ctx, aws_sdk_lambda), &s.function_arn, mode).await?;
        }
        Ok(())
    }

    fn simulate(s: &Tracing, changes: &[Change]) -> Tracing {
        let mut out = s.clone();
        for c in changes {
            out.mode = match c {
                Change::EnableActiveTracing => "Active",
                Change::DisableActiveTracing => "PassThrough",
            }
            .into();
        }
        out
    }

    /// The undo: the recorded tracing mode back when it was not active (the fix only turns it on).
    fn revert(live: &Tracing, before: &Tracing) -> Option<Vec<Change>> {
        Some(match (active(live), active(before)) {
            (true, false) => vec![Change::DisableActiveTracing],
            (false, true) => vec![Change::EnableActiveTracing],
            _ => Vec::new(),
        })
    }

    fn diff(before: &Tracing, after: &Tracing) -> Vec<String> {
        let mut out = Vec::new();
        if before.mode != after.mode {
            out.push(format!("tracing mode {} → {}", before.mode, after.mode));
        }
        if before.role != after.role {
            out.push(format!("execution role {} → {}", before.role, after.role));
        }
        out
    }
}

/// Whether `role` may call the X-Ray write actions, by `SimulatePrincipalPolicy` (a read); `None`
/// when it cannot be told (no permission to simulate, the role elsewhere, ...).
async fn role_allows_xray(iam: &aws_sdk_iam::Client, role: &str) -> Option<bool> {
    let out = iam
        .simulate_principal_policy()
        .policy_source_arn(role)
        .set_action_names(Some(XRAY_ACTIONS.iter().map(|a| a.to_string()).collect()))
        .send()
        .await
        .map_err(|e| tracing::info!(role, error = %Error::from_sdk(SIMULATE_PRINCIPAL_POLICY, e), "X-Ray rights not checked"))
        .ok()?;
    let results = out.evaluation_results();
    if results.len() != XRAY_ACTIONS.len() {
        return None;
    }
    Some(results.iter().all(|r| r.eval_decision().as_str() == "allowed"))
}

/// `UpdateFunctionConfiguration` with `TracingConfig.Mode=Active` and nothing else.
pub async fn enable(lambda: &aws_sdk_lambda::Client, function: &str) -> Result<(), Error> {
    set_mode(lambda, function, TracingMode::Active).await
}

/// `UpdateFunctionConfiguration` with `TracingConfig.Mode=mode` and nothing else. An update in
/// progress (`ResourceConflictException`) is transient: the state machine retries.
pub async fn set_mode(lambda: &aws_sdk_lambda::Client, function: &str, mode: TracingMode) -> Result<(), Error> {
    match lambda
        .update_function_configuration()
        .function_name(function)
        .tracing_config(TracingConfig::builder().mode(mode).build())
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) => match Error::from_sdk(UPDATE_FUNCTION_CONFIGURATION, e) {
            err if err.aws_code() == Some("ResourceConflictException") => Err(Error::AwsTransient {
                operation: UPDATE_FUNCTION_CONFIGURATION,
                detail: format!("an update of {function} is in progress (ResourceConflictException)"),
            }),
            err => Err(err),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::families::helpers::mock_ctx;
    use aws_sdk_iam::operation::simulate_principal_policy::SimulatePrincipalPolicyOutput;
    use aws_sdk_iam::types::{EvaluationResult, PolicyEvaluationDecisionType};
    use aws_sdk_lambda::operation::get_function_configuration::{
        GetFunctionConfigurationError, GetFunctionConfigurationOutput,
    };
    use aws_sdk_lambda::operation::list_tags::ListTagsOutput;
    use aws_sdk_lambda::operation::update_function_configuration::UpdateFunctionConfigurationOutput;
    use aws_sdk_lambda::types::TracingConfigResponse;
    use aws_smithy_mocks::mock;

    const ARN: &str = "arn:aws:lambda:us-east-1:111122223333:function:orders";
    const ROLE: &str = "arn:aws:iam::111122223333:role/orders-exec";

    fn target() -> Target<'static> {
        Target {
            rule_id: "Lambda-003",
            resource: "orders",
            region: "us-east-1",
        }
    }

    fn tracing(mode: &str, xray: Option<bool>) -> Tracing {
        Tracing {
            function_arn: ARN.into(),
            mode: mode.into(),
            role: ROLE.into(),
            role_allows_xray: xray,
        }
    }

    #[test]
    fn pass_through_becomes_active_and_the_role_is_only_reported() {
        let a = LambdaTracing::assess(&tracing("PassThrough", Some(false)), &Params {}, target());
        assert_eq!(a.plan.changes, vec![Change::EnableActiveTracing]);
        assert!(
            a.plan.summary.contains("lacks xray:PutTraceSegments"),
            "{}",
            a.plan.summary
        );
        assert!(a.plan.summary.contains("the role is not changed"));
        assert!(a.plan.untouched.contains(&format!("the execution role {ROLE}")));
        assert!(a.plan.removes.is_empty());
        let after = LambdaTracing::simulate(&tracing("PassThrough", Some(false)), &a.plan.changes);
        assert_eq!(after.role, ROLE);
        assert_eq!(
            LambdaTracing::diff(&tracing("PassThrough", Some(false)), &after),
            vec!["tracing mode PassThrough → Active"]
        );
        let a = LambdaTracing::assess(&tracing("PassThrough", Some(true)), &Params {}, target());
        assert!(a.plan.summary.contains("may write to X-Ray"));
        let a = LambdaTracing::assess(&tracing("Active", None), &Params {}, target());
        assert!(a.plan.is_empty() && a.offending.is_empty());
    }

    #[test]
    fn function_names_and_unqualified_arns_only() {
        assert!(LambdaTracing::valid_id("orders") && LambdaTracing::valid_id(ARN));
        for bad in [
            "",
            "orders/../x",
            "arn:aws:lambda:us-east-1:111122223333:function:orders:1",
            "arn:aws:lambda:us-east-1:111122223333:layer:orders",
            "arn:aws:s3:::orders",
            &"f".repeat(65),
        ] {
            assert!(!LambdaTracing::valid_id(bad), "{bad}");
        }
    }

    #[tokio::test]
    async fn a_role_without_xray_rights_stops_the_fix_before_any_call() {
        // No endpoint, no credentials: any call would fail as something other than InvalidInput.
        let s = Tracing {
            function_arn: "arn:aws:lambda:us-east-1:123456789012:function:f".into(),
            mode: "PassThrough".into(),
            role: "arn:aws:iam::123456789012:role/r".into(),
            role_allows_xray: Some(false),
        };
        let ctx = crate::aws::Ctx::new(
            aws_config::SdkConfig::builder()
                .behavior_version(aws_config::BehaviorVersion::latest())
                .build(),
            "123456789012",
            LambdaTracing::READS,
            LambdaTracing::WRITES,
        );
        let err = LambdaTracing::apply(&ctx, "f", &s, &[Change::EnableActiveTracing])
            .await
            .unwrap_err();
        assert_eq!(err.name(), "InvalidInput");
        assert!(err.to_string().contains("Nothing was changed"), "{err}");
    }

    #[tokio::test]
    async fn apply_sends_exactly_one_update_with_only_the_tracing_mode() {
        let update = mock!(aws_sdk_lambda::Client::update_function_configuration)
            .match_requests(|r| {
                r.function_name() == Some(ARN)
                    && r.tracing_config().and_then(|t| t.mode()) == Some(&TracingMode::Active)
                    && r.role().is_none()
                    && r.environment().is_none()
                    && r.layers().is_empty()
                    && r.vpc_config().is_none()
                    && r.memory_size().is_none()
                    && r.timeout().is_none()
                    && r.handler().is_none()
                    && r.runtime().is_none()
                    && r.description().is_none()
                    && r.kms_key_arn().is_none()
                    && r.dead_letter_config().is_none()
            })
            .then_output(|| UpdateFunctionConfigurationOutput::builder().build());
        let ctx = mock_ctx::ctx(LambdaTracing::READS, LambdaTracing::WRITES, &[&update]);
        LambdaTracing::apply(
            &ctx,
            "orders",
            &tracing("PassThrough", None),
            &[Change::EnableActiveTracing],
        )
        .await
        .unwrap();
        assert_eq!(update.num_calls(), 1);
    }

    #[test]
    fn fix_then_revert_is_the_before_state_and_an_unchanged_function_needs_nothing() {
        let before = tracing("PassThrough", Some(true));
        let fixed = LambdaTracing::simulate(
            &before,
            &LambdaTracing::assess(&before, &Params {}, target()).plan.changes,
        );
        let undo = LambdaTracing::revert(&fixed, &before).unwrap();
        assert_eq!(undo, vec![Change::DisableActiveTracing]);
        assert_eq!(LambdaTracing::simulate(&fixed, &undo), before);
        assert!(LambdaTracing::revert(&before, &before).unwrap().is_empty());
        assert!(LambdaTracing::revert(&fixed, &fixed).unwrap().is_empty());
    }

    #[tokio::test]
    async fn the_undo_sends_exactly_one_update_with_only_pass_through_even_when_the_role_lacks_xray() {
        let update = mock!(aws_sdk_lambda::Client::update_function_configuration)
            .match_requests(|r| {
                r.function_name() == Some(ARN)
                    && r.tracing_config().and_then(|t| t.mode()) == Some(&TracingMode::PassThrough)
                    && r.role().is_none()
                    && r.environment().is_none()
                    && r.layers().is_empty()
                    && r.vpc_config().is_none()
                    && r.memory_size().is_none()
                    && r.timeout().is_none()
                    && r.handler().is_none()
                    && r.runtime().is_none()
            })
            .then_output(|| UpdateFunctionConfigurationOutput::builder().build());
        let ctx = mock_ctx::ctx(LambdaTracing::READS, LambdaTracing::WRITES, &[&update]);
        // Turning tracing off needs no X-Ray rights: a role without them does not stop the undo.
        LambdaTracing::apply(
            &ctx,
            "orders",
            &tracing("Active", Some(false)),
            &[Change::DisableActiveTracing],
        )
        .await
        .unwrap();
        assert_eq!(update.num_calls(), 1);
    }

    #[tokio::test]
    async fn read_checks_the_role_by_simulation_only_and_a_missing_function_is_none() {
        let get = mock!(aws_sdk_lambda::Client::get_function_configuration)
            .match_requests(|r| r.function_name() == Some("orders"))
            .then_output(|| {
                GetFunctionConfigurationOutput::builder()
                    .function_arn(ARN)
                    .role(ROLE)
                    .tracing_config(TracingConfigResponse::builder().mode(TracingMode::PassThrough).build())
                    .build()
            });
        let simulate = mock!(aws_sdk_iam::Client::simulate_principal_policy)
            .match_requests(|r| r.policy_source_arn() == Some(ROLE) && r.action_names().len() == 2)
            .then_output(|| {
                let result = |a: &str| {
                    EvaluationResult::builder()
                        .eval_action_name(a)
                        .eval_decision(PolicyEvaluationDecisionType::ImplicitDeny)
                        .build()
                        .unwrap()
                };
                SimulatePrincipalPolicyOutput::builder()
                    .evaluation_results(result(XRAY_ACTIONS[0]))
                    .evaluation_results(result(XRAY_ACTIONS[1]))
                    .build()
            });
        let tags = mock!(aws_sdk_lambda::Client::list_tags)
            .match_requests(|r| r.resource() == Some(ARN))
            .then_output(|| ListTagsOutput::builder().tags("team", "orders").build());
        let gone = mock!(aws_sdk_lambda::Client::get_function_configuration).then_error(|| {
            GetFunctionConfigurationError::generic(
                aws_sdk_lambda::error::ErrorMetadata::builder()
                    .code("ResourceNotFoundException")
                    .build(),
            )
        });
        let ctx = mock_ctx::ctx(
            LambdaTracing::READS,
            LambdaTracing::WRITES,
            &[&get, &simulate, &tags, &gone],
        );
        let r = LambdaTracing::read(&ctx, "orders", Tags::Read).await.unwrap().unwrap();
        assert_eq!(r.state, tracing("PassThrough", Some(false)));
        assert_eq!(r.tags.get("team").map(String::as_str), Some("orders"));
        assert!(LambdaTracing::read(&ctx, "orders", Tags::Read).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_function_of_another_account_is_refused_before_any_call() {
        let ctx = mock_ctx::ctx(LambdaTracing::READS, LambdaTracing::WRITES, &[]);
        let err = LambdaTracing::read(
            &ctx,
            "arn:aws:lambda:us-east-1:999988887777:function:orders",
            Tags::Skip,
        )
        .await
        .err()
        .unwrap();
        assert_eq!(err.name(), "InvalidInput");
    }
}
