//! The outcome topic (`OUTCOME_TOPIC_ARN`): where Notify tells how each execution ended and
//! Classify tells that a circuit breaker opened (`crate::breaker`). One publisher for both, so
//! both reach the same subscribers (e-mail, chat, SQS) and fit SNS the same way.

use aws_sdk_sns::types::MessageAttributeValue;

use crate::deps::Deps;
use crate::error::Error;

/// SNS's limit on a subject.
pub const SUBJECT_MAX: usize = 100;

/// One message for the outcome topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub subject: String,
    pub body: String,
    /// String message attributes, which subscriptions filter on.
    pub attributes: Vec<(&'static str, String)>,
}

/// A subject SNS accepts: printable ASCII, no line breaks, at most 100 characters.
pub fn subject_line(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '?' })
        .collect();
    if clean.len() <= SUBJECT_MAX {
        clean
    } else {
        format!("{}...", &clean[..SUBJECT_MAX - 3])
    }
}

/// Publishes `message` to the outcome topic: its message id, or why it was not sent
/// (`Ok(Err(reason))`: no topic configured).
pub async fn publish(deps: &Deps, message: &Message) -> Result<Result<Option<String>, String>, Error> {
    let Some(topic) = &deps.settings.outcome_topic_arn else {
        return Ok(Err("OUTCOME_TOPIC_ARN is not set".into()));
    };
    let mut publish = aws_sdk_sns::Client::new(deps.aws.sdk_config())
        .publish()
        .topic_arn(topic)
        .subject(subject_line(&message.subject))
        .message(&message.body);
    for (name, value) in &message.attributes {
        let attr = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(value)
            .build()
            .map_err(|e| Error::InvalidInput(format!("message attribute {name}: {e}")))?;
        publish = publish.message_attributes(*name, attr);
    }
    let out = publish.send().await.map_err(|e| Error::from_sdk("sns:Publish", e))?;
    Ok(Ok(out.message_id().map(str::to_string)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_printable_ascii_within_sns_limit() {
        assert_eq!(subject_line("Healed: S3-001 b"), "Healed: S3-001 b");
        assert_eq!(subject_line("a\nb é"), "a?b ?");
        let long = subject_line(&"x".repeat(200));
        assert_eq!(long.len(), SUBJECT_MAX);
        assert!(long.ends_with("..."));
    }
}
