//! Test support: a [`Ctx`] whose clients answer from aws-smithy-mocks rules and carry the guard
//! with a family's declared actions, so request-level tests also prove the declarations.

use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode};

use crate::aws::Ctx;

/// The account the mocked context acts in.
pub const ACCOUNT: &str = "111122223333";

/// SDK configuration for mocked clients: us-east-1, test credentials, and an HTTP client that
/// never reaches the network (a mock interceptor answers).
pub fn sdk_config() -> aws_config::SdkConfig {
    crate::aws::test_sdk_config()
}

/// A context of [`ACCOUNT`] on [`sdk_config`] whose requests `mocks` answers, refused when their
/// action is not in `reads`/`writes`.
pub fn with_mocks(
    reads: &'static [&'static str],
    writes: &'static [&'static str],
    mocks: MockResponseInterceptor,
) -> Ctx {
    Ctx::new(sdk_config(), ACCOUNT, reads, writes).with_interceptor(mocks)
}

/// A context in us-east-1 of [`ACCOUNT`] whose every request is answered by `rules`, in order
/// (a request no rule is left for fails, and is not retried), and refused when its action is not
/// in `reads`/`writes`.
pub fn ctx(reads: &'static [&'static str], writes: &'static [&'static str], rules: &[&Rule]) -> Ctx {
    let mut mocks = MockResponseInterceptor::new().rule_mode(RuleMode::Sequential);
    for r in rules {
        mocks = mocks.with_rule(r);
    }
    let sdk = sdk_config()
        .to_builder()
        .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
        .build();
    Ctx::new(sdk, ACCOUNT, reads, writes).with_interceptor(mocks)
}
