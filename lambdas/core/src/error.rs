//! One error type for every handler, and its stable names.
//!
//! The name an error carries (`Error::name`) is the Lambda `errorType`, which is what the state
//! machine's `ErrorEquals` and `Catch` clauses match. Names are an API: they are listed in
//! [`ERROR_NAMES`], and a test checks that every custom name used in `statemachines/*.asl.json`
//! is one of them and that every retryable or terminal name here is handled there.

/// Every error a handler can return. The `Display` text is safe to log and to show in the
/// Step Functions console: it never contains a task token, a signing key or credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The Lambda event is not an SNS event (or has no records).
    #[error("the event is not an SNS notification: {0}")]
    InvalidEnvelope(String),
    /// The SNS message body is not a JSON object.
    #[error("the message is not a JSON object: {0}")]
    MessageNotJson(String),
    /// The SNS message is larger than any Conformity check message.
    #[error("the message is {size} bytes, more than the {limit} accepted")]
    MessageTooLarge { size: usize, limit: usize },
    /// A required field of the Conformity message is absent.
    #[error("field `{0}` is missing")]
    MissingField(&'static str),
    /// A field is present but of the wrong type or shape.
    #[error("field `{field}` is invalid: {reason}")]
    InvalidField { field: &'static str, reason: String },
    /// The resource id does not have the shape of the rule's resource type.
    #[error("resource id {id:?} is not a valid {kind}")]
    InvalidResourceId { id: String, kind: &'static str },
    /// The rule id is well formed but not one auto-remediate knows.
    #[error("rule {0} is not in the catalog")]
    UnknownRule(String),
    /// The message's sources name different AWS accounts (`cloudProviderId`, an ARN in `link`,
    /// the config's mapping of the scanner's account id): nothing is acted on.
    #[error("the message names two AWS accounts: {0}")]
    AccountMismatch(String),
    /// The message's `region` and its `ccrn` name two different regions.
    #[error("the message names two regions: {0}")]
    RegionMismatch(String),
    /// The finding is for an AWS account this deployment may not touch.
    #[error("account {0} is not one this deployment remediates")]
    AccountNotAllowed(String),
    /// The input a state passed to a handler does not parse.
    #[error("the handler input is invalid: {0}")]
    InvalidInput(String),
    /// The configuration document or an environment variable is invalid.
    #[error("configuration error: {0}")]
    ConfigInvalid(String),
    /// AWS throttled the call; the state machine retries with backoff.
    #[error("AWS throttled {operation}: {code}")]
    Throttled { operation: &'static str, code: String },
    /// A transient AWS or network failure; the state machine retries with backoff.
    #[error("transient failure calling {operation}: {detail}")]
    AwsTransient { operation: &'static str, detail: String },
    /// AWS refused the call for lack of permission.
    #[error("access denied calling {operation}: {code}")]
    AccessDenied { operation: &'static str, code: String },
    /// Any other AWS error, with its AWS error code.
    #[error("{operation} failed: {code}: {message}")]
    Aws {
        operation: &'static str,
        code: String,
        message: String,
    },
    /// After remediation the rule's check still fails.
    #[error("verification failed: {0}")]
    VerificationFailed(String),
    /// A fix was only partly applied; the message lists what was and was not done.
    #[error("remediation partly applied: {0}")]
    PartiallyApplied(String),
    /// Another remediation held the resource for longer than this one may wait: nothing changed.
    #[error("the resource stayed busy: {0}")]
    ResourceBusy(String),
    /// The member-account role for the finding's account could not be assumed: nothing read or changed.
    #[error("cannot act in account {account}: role {role} could not be assumed: {reason}")]
    MemberRoleUnavailable {
        account: String,
        role: String,
        reason: String,
    },
    /// The code made an AWS call its rule family does not declare (refused before it was sent).
    #[error("refused an undeclared AWS call: {0}")]
    UndeclaredAction(String),
    /// An undo found the resource changed since the fix it would undo: nothing was changed.
    #[error("the resource changed since the fix, so it is not undone: {0}")]
    ResourceChanged(String),
    /// The rule's family cannot restore a recorded state (or there is none to restore).
    #[error("cannot undo: {0}")]
    CannotUndo(String),
    /// An approve decision the approval store does not prove (a `SendTaskSuccess` that did not
    /// come from the approval pages): nothing was read or changed in the member account.
    #[error("approval not proven: {0}")]
    ApprovalBypass(String),
}

/// Every name [`Error::name`] can return.
pub const ERROR_NAMES: &[&str] = &[
    "InvalidEnvelope",
    "MessageNotJson",
    "MessageTooLarge",
    "MissingField",
    "InvalidField",
    "InvalidResourceId",
    "UnknownRule",
    "AccountMismatch",
    "RegionMismatch",
    "AccountNotAllowed",
    "InvalidInput",
    "ConfigInvalid",
    "Throttled",
    "AwsTransient",
    "AccessDenied",
    "AwsError",
    "VerificationFailed",
    "PartiallyApplied",
    "ResourceBusy",
    "MemberRoleUnavailable",
    "UndeclaredAction",
    "ResourceChanged",
    "CannotUndo",
    "ApprovalBypass",
];

impl Error {
    /// The stable PascalCase name used as the Lambda `errorType`.
    pub fn name(&self) -> &'static str {
        match self {
            Error::InvalidEnvelope(_) => "InvalidEnvelope",
            Error::MessageNotJson(_) => "MessageNotJson",
            Error::MessageTooLarge { .. } => "MessageTooLarge",
            Error::MissingField(_) => "MissingField",
            Error::InvalidField { .. } => "InvalidField",
            Error::InvalidResourceId { .. } => "InvalidResourceId",
            Error::UnknownRule(_) => "UnknownRule",
            Error::AccountMismatch(_) => "AccountMismatch",
            Error::RegionMismatch(_) => "RegionMismatch",
            Error::AccountNotAllowed(_) => "AccountNotAllowed",
            Error::InvalidInput(_) => "InvalidInput",
            Error::ConfigInvalid(_) => "ConfigInvalid",
            Error::Throttled { .. } => "Throttled",
            Error::AwsTransient { .. } => "AwsTransient",
            Error::AccessDenied { .. } => "AccessDenied",
            Error::Aws { .. } => "AwsError",
            Error::VerificationFailed(_) => "VerificationFailed",
            Error::PartiallyApplied(_) => "PartiallyApplied",
            Error::ResourceBusy(_) => "ResourceBusy",
            Error::MemberRoleUnavailable { .. } => "MemberRoleUnavailable",
            Error::UndeclaredAction(_) => "UndeclaredAction",
            Error::ResourceChanged(_) => "ResourceChanged",
            Error::CannotUndo(_) => "CannotUndo",
            Error::ApprovalBypass(_) => "ApprovalBypass",
        }
    }

    /// Errors worth retrying: the state machine retries exactly these (and Lambda's own).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Throttled { .. } | Error::AwsTransient { .. })
    }

    pub fn invalid_field(field: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidField {
            field,
            reason: reason.into(),
        }
    }

    /// Maps an SDK error once, by its AWS error code (never by its display text).
    pub fn from_sdk<E>(
        operation: &'static str,
        err: aws_sdk_s3::error::SdkError<E, aws_smithy_runtime_api::client::orchestrator::HttpResponse>,
    ) -> Self
    where
        E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
    {
        use aws_sdk_s3::error::SdkError;
        match &err {
            SdkError::ServiceError(ctx) => {
                let e = ctx.err();
                let status = ctx.raw().status().as_u16();
                if e.code().is_none() && status == 429 {
                    return Error::Throttled {
                        operation,
                        code: "HTTP 429".into(),
                    };
                }
                if e.code().is_none() && status >= 500 {
                    return Error::AwsTransient {
                        operation,
                        detail: format!("HTTP {status}"),
                    };
                }
                let code = e.code().unwrap_or("Unknown").to_string();
                let message = e.message().unwrap_or_default().to_string();
                classify_code(operation, code, message)
            }
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
                Error::AwsTransient {
                    operation,
                    detail: sdk_error_kind(&err).to_string(),
                }
            }
            _ => match undeclared(&err) {
                Some(u) => Error::UndeclaredAction(u.to_string()),
                None => Error::Aws {
                    operation,
                    code: "SdkError".into(),
                    message: sdk_error_kind(&err).to_string(),
                },
            },
        }
    }

    /// A `ConfigInvalid` with `what` (the variable or file it came from) in front of its text;
    /// any other error unchanged.
    pub fn context(self, what: &str) -> Self {
        match self {
            Error::ConfigInvalid(m) => Error::ConfigInvalid(format!("{what}: {m}")),
            other => other,
        }
    }

    /// The AWS error code carried by an `Aws` error, if any.
    pub fn aws_code(&self) -> Option<&str> {
        match self {
            Error::Aws { code, .. } | Error::AccessDenied { code, .. } | Error::Throttled { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// The error [`crate::aws::Ctx`]'s guard raises; [`Error::from_sdk`] turns it into `Error::UndeclaredAction`.
#[derive(Debug)]
pub struct UndeclaredAction {
    pub action: String,
    pub family: &'static str,
}

impl std::fmt::Display for UndeclaredAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} is not among the {} family's declared actions",
            self.action, self.family
        )
    }
}

impl std::error::Error for UndeclaredAction {}

/// The [`UndeclaredAction`] behind an SDK error, if that is what it is.
fn undeclared<'e>(err: &'e (dyn std::error::Error + 'static)) -> Option<&'e UndeclaredAction> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(u) = e.downcast_ref::<UndeclaredAction>() {
            return Some(u);
        }
        cur = e.source();
    }
    None
}

fn sdk_error_kind<E, R>(err: &aws_sdk_s3::error::SdkError<E, R>) -> &'static str {
    use aws_sdk_s3::error::SdkError;
    match err {
        SdkError::ConstructionFailure(_) => "request construction failed",
        SdkError::TimeoutError(_) => "timed out",
        SdkError::DispatchFailure(_) => "dispatch failure (connection)",
        SdkError::ResponseError(_) => "unparseable response",
        SdkError::ServiceError(_) => "service error",
        _ => "unknown SDK error",
    }
}

const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

const TRANSIENT_CODES: &[&str] = &[
    "InternalError",
    "InternalFailure",
    "InternalServerError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "Unavailable",
    "RequestTimeout",
    "RequestTimeoutException",
];

fn classify_code(operation: &'static str, code: String, message: String) -> Error {
    if THROTTLING_CODES.contains(&code.as_str()) {
        Error::Throttled { operation, code }
    } else if TRANSIENT_CODES.contains(&code.as_str()) {
        Error::AwsTransient {
            operation,
            detail: code,
        }
    } else if code == "AccessDenied" || code == "AccessDeniedException" || code == "UnauthorizedOperation" {
        Error::AccessDenied { operation, code }
    } else {
        Error::Aws {
            operation,
            code,
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_name_is_listed() {
        let samples = [
            Error::InvalidEnvelope(String::new()),
            Error::MessageNotJson(String::new()),
            Error::MessageTooLarge { size: 1, limit: 0 },
            Error::MissingField("x"),
            Error::invalid_field("x", ""),
            Error::InvalidResourceId {
                id: String::new(),
                kind: "",
            },
            Error::UnknownRule(String::new()),
            Error::AccountMismatch(String::new()),
            Error::RegionMismatch(String::new()),
            Error::AccountNotAllowed(String::new()),
            Error::InvalidInput(String::new()),
            Error::ConfigInvalid(String::new()),
            Error::Throttled {
                operation: "",
                code: String::new(),
            },
            Error::AwsTransient {
                operation: "",
                detail: String::new(),
            },
            Error::AccessDenied {
                operation: "",
                code: String::new(),
            },
            Error::Aws {
                operation: "",
                code: String::new(),
                message: String::new(),
            },
            Error::VerificationFailed(String::new()),
            Error::PartiallyApplied(String::new()),
            Error::ResourceBusy(String::new()),
            Error::MemberRoleUnavailable {
                account: String::new(),
                role: String::new(),
                reason: String::new(),
            },
            Error::UndeclaredAction(String::new()),
            Error::ResourceChanged(String::new()),
            Error::CannotUndo(String::new()),
            Error::ApprovalBypass(String::new()),
        ];
        let names: Vec<_> = samples.iter().map(Error::name).collect();
        assert_eq!(names, ERROR_NAMES);
    }

    #[test]
    fn throttling_codes_are_retryable_and_not_found_is_not() {
        assert!(classify_code("Op", "RequestLimitExceeded".into(), String::new()).is_retryable());
        assert!(classify_code("Op", "SlowDown".into(), String::new()).is_retryable());
        assert!(!classify_code("Op", "InvalidGroup.NotFound".into(), String::new()).is_retryable());
        assert_eq!(
            classify_code("Op", "AccessDenied".into(), String::new()).name(),
            "AccessDenied"
        );
    }
}
