//! The read kit every family reads with: a missing resource as `None` ([`gone_if`]), tags as a
//! map ([`ec2_tags`]), and a read that carries tags only when they were asked for ([`read`]).
//! Pagination is the SDK's own paginators (`into_paginator().items()`), never a hand-written loop.

use std::collections::BTreeMap;

use crate::error::Error;
use crate::families::helpers::family::{Read, Tags};

/// `Ok(None)` when `result` failed with one of `codes` (AWS's "no such resource" codes for the
/// call); any other error is kept.
pub fn gone_if<T>(result: Result<T, Error>, codes: &[&str]) -> Result<Option<T>, Error> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.aws_code().is_some_and(|c| codes.contains(&c)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A resource as read: its state, and its live tags when `tags` asks for them (exclusion tags
/// are honoured on the classify read, not needed to verify).
pub fn read<S>(state: S, live_tags: BTreeMap<String, String>, tags: Tags) -> Read<S> {
    Read {
        state,
        tags: if tags == Tags::Read { live_tags } else { BTreeMap::new() },
    }
}

/// Tags read by a call of their own (`ListTags`, `ListResourceTags`): made only when `tags` asks.
pub async fn tags_if<F, Fut>(tags: Tags, fetch: F) -> Result<BTreeMap<String, String>, Error>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<BTreeMap<String, String>, Error>>,
{
    if tags == Tags::Read {
        fetch().await
    } else {
        Ok(BTreeMap::new())
    }
}

/// Key and value pairs, as every SDK's `Tag` gives them, as a map (a tag without a key is dropped).
pub fn tag_map<'a>(pairs: impl IntoIterator<Item = (Option<&'a str>, Option<&'a str>)>) -> BTreeMap<String, String> {
    pairs
        .into_iter()
        .filter_map(|(k, v)| Some((k?.to_string(), v.unwrap_or_default().to_string())))
        .collect()
}

/// Tags an SDK gives as a string map (Lambda's `ListTags`, SQS's `ListQueueTags`), as a map.
pub fn string_tags(tags: Option<&std::collections::HashMap<String, String>>) -> BTreeMap<String, String> {
    tags.map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

/// `what before → after` when the two differ (a line of a family's `diff`).
pub fn changed<T: std::fmt::Display + PartialEq>(what: &str, before: T, after: T) -> Option<String> {
    (before != after).then(|| format!("{what} {before} → {after}"))
}

/// The change that sets a flag back to its recorded value (`before`) when `live` differs: `on`
/// to set it, `off` to clear it (a family's `revert`).
pub fn set_back<C>(live: bool, before: bool, on: C, off: C) -> Option<C> {
    (live != before).then_some(if before { on } else { off })
}

/// EC2 tags as a map (for exclusion tags).
pub fn ec2_tags(tags: &[aws_sdk_ec2::types::Tag]) -> BTreeMap<String, String> {
    tag_map(tags.iter().map(|t| (t.key(), t.value())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_named_codes_read_as_gone() {
        let gone = Error::Aws {
            operation: "ec2:DescribeImages",
            code: "InvalidAMIID.NotFound".into(),
            message: String::new(),
        };
        assert!(gone_if::<()>(Err(gone), &["InvalidAMIID.NotFound"]).unwrap().is_none());
        let other = Error::Aws {
            operation: "ec2:DescribeImages",
            code: "UnauthorizedOperation".into(),
            message: String::new(),
        };
        assert!(gone_if::<()>(Err(other), &["InvalidAMIID.NotFound"]).is_err());
        assert_eq!(gone_if(Ok(1), &[]).unwrap(), Some(1));
        let tags = BTreeMap::from([("k".to_string(), "v".to_string())]);
        assert!(read((), tags.clone(), Tags::Skip).tags.is_empty());
        assert_eq!(read((), tags.clone(), Tags::Read).tags, tags);
    }
}
