//! SQS-004: an SQS queue is not encrypted at rest.
//!
//! What a fix changes, never touches and how it is undone: [`SqsEncryption::DOC`] (RULES.md is
//! generated from it). One attribute is ever sent: the seed's pattern of re-sending attributes
//! can wipe a queue's access policy.
//!
//! The resource is the queue's URL (`https://sqs.<region>.amazonaws.com/<account>/<name>`), ARN or
//! name; either way the queue is looked up by name in the finding's account and region
//! (`GetQueueUrl`), so a URL never sends a request anywhere else.

use std::time::Duration;

use aws_sdk_sqs::types::QueueAttributeName;
use serde::{Deserialize, Serialize};

use crate::aws::Ctx;
use crate::error::Error;
use crate::families::helpers::family::{Assessment, FamilyDoc, Read, RuleFamily, Tags, Target};
use crate::families::helpers::kit;
use crate::ids;
use crate::plan::Describe;

/// The family: `sqs-encryption` in the catalog.
pub struct SqsEncryption;

const GET_QUEUE_URL: &str = "sqs:GetQueueUrl";
const GET_QUEUE_ATTRIBUTES: &str = "sqs:GetQueueAttributes";
const LIST_QUEUE_TAGS: &str = "sqs:ListQueueTags";
const SET_QUEUE_ATTRIBUTES: &str = "sqs:SetQueueAttributes";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// A KMS key for SSE-KMS; absent: SQS-managed SSE.
    #[serde(default)]
    pub kms_key_id: Option<String>,
}

/// A queue's encryption as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueEncryption {
    pub queue_url: String,
    pub sqs_managed_sse: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_master_key_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action")]
pub enum Change {
    #[serde(rename = "sqs:EnableSqsManagedSse")]
    EnableSqsManagedSse,
    #[serde(rename = "sqs:EnableKmsSse")]
    EnableKmsSse { key_id: String },
    /// `SqsManagedSseEnabled=false` (an undo: the recorded queue had no SQS-managed encryption).
    #[serde(rename = "sqs:DisableSqsManagedSse")]
    DisableSqsManagedSse,
    /// `KmsMasterKeyId=""` (an undo: the recorded queue had no KMS key).
    #[serde(rename = "sqs:DisableKmsSse")]
    DisableKmsSse,
}

impl Describe for Change {
    fn describe(&self) -> String {
        match self {
            Change::EnableSqsManagedSse => "set SqsManagedSseEnabled=true (SQS-managed encryption)".into(),
            Change::EnableKmsSse { key_id } => format!("set KmsMasterKeyId={key_id} (SSE-KMS)"),
            Change::DisableSqsManagedSse => {
                "set SqsManagedSseEnabled=false (no SQS-managed encryption, as recorded before the fix)".into()
            }
            Change::DisableKmsSse => "set KmsMasterKeyId=\"\" (no KMS key, as recorded before the fix)".into(),
        }
    }
}

/// A queue name: 1-80 of `[A-Za-z0-9_-]`, with `.fifo` for FIFO queues.
pub fn is_queue_name(n: &str) -> bool {
    let base = n.strip_suffix(".fifo").unwrap_or(n);
    (1..=80).contains(&n.len())
        && !base.is_empty()
        && base
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
}

/// A queue reference: `(account, region, name)` of an AWS queue URL, or just the name.
#[derive(Debug, PartialEq, Eq)]
pub struct QueueRef<'a> {
    pub account: Option<&'a str>,
    pub region: Option<&'a str>,
    pub name: &'a str,
}

/// Parses a queue name, ARN (`arn:<partition>:sqs:<region>:<account>:<name>`) or URL
/// (`https://sqs.<region>.amazonaws.com[.cn]/<account>/<name>`, or the legacy
/// `https://<region>.queue.amazonaws.com/<account>/<name>`).
pub fn queue_ref(id: &str) -> Option<QueueRef<'_>> {
    if id.starts_with("arn:") {
        let arn = ids::Arn::regional(id, "sqs").filter(|a| is_queue_name(a.resource))?;
        return Some(QueueRef {
            account: Some(arn.account),
            region: Some(arn.region),
            name: arn.resource,
        });
    }
    let Some(rest) = id.strip_prefix("https://") else {
        return is_queue_name(id).then_some(QueueRef {
            account: None,
            region: None,
            name: id,
        });
    };
    let mut parts = rest.split('/');
    let (host, account, name) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let domain = host
        .strip_suffix(".amazonaws.com")
        .or_else(|| host.strip_suffix(".amazonaws.com.cn"))?;
    let region = domain.strip_prefix("sqs.").or_else(|| domain.strip_suffix(".queue"))?;
    (ids::is_region_name(region) && ids::is_account_number(account) && is_queue_name(name)).then_some(QueueRef {
        account: Some(account),
        region: Some(region),
        name,
    })
}

fn encrypted(s: &QueueEncryption) -> bool {
    s.sqs_managed_sse || s.kms_master_key_id.as_deref().is_some_and(|k| !k.is_empty())
}

/// The codes SQS answers for a queue that does not exist.
const NOT_FOUND: &[&str] = &["AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"];

impl RuleFamily for SqsEncryption {
    const NAME: &'static str = "sqs-encryption";
    const DOC: FamilyDoc = FamilyDoc {
        changes: "SetQueueAttributes with only SqsManagedSseEnabled=true (or only KmsMasterKeyId=params.kms_key_id)",
        never: "messages, the access policy, the redrive policy, timeouts, tags, any other attribute",
        undo: "SetQueueAttributes with only the attribute the fix set, back to its recorded value: SqsManagedSseEnabled=false (or KmsMasterKeyId=\"\"); messages sent meanwhile stay encrypted",
        tested: "local stack",
    };
    const RESOURCE: &'static str = "SQS queue URL, ARN or name";
    const READS: &'static [&'static str] = &[GET_QUEUE_URL, GET_QUEUE_ATTRIBUTES, LIST_QUEUE_TAGS];
    const WRITES: &'static [&'static str] = &[SET_QUEUE_ATTRIBUTES];
    /// Attribute changes take up to a minute to propagate through SQS.
    const SETTLE: Duration = Duration::from_secs(60);
    type Params = Params;
    type State = QueueEncryption;
    type Change = Change;

    fn valid_id(id: &str) -> bool {
        queue_ref(id).is_some()
    }

    async fn read(ctx: &Ctx, queue: &str, tags: Tags) -> Result<Option<Read<QueueEncryption>>, Error> {
        let q = queue_ref(queue).ok_or_else(|| Error::InvalidInput(format!("{queue:?} is not a queue URL or name")))?;
        if q.account.is_some_and(|a| a != ctx.account()) || q.region.is_some_and(|r| r != ctx.region()) {
            return Err(Error::InvalidInput(format!(
                "queue {queue} is not in the finding's account {} and region {}",
                ctx.account(),
                ctx.region()
            )));
        }
        let sqs = crate::sdk_client!(ctx, aws_sdk_sqs);
        let got = sqs
            .get_queue_url()
            .queue_name(q.name)
            .send()
            .await
            .map_err(|e| Error::from_sdk(GET_QUEUE_URL, e));
        let Some(url) = kit::gone_if(got, NOT_FOUND)? else {
            return Ok(None);
        };
        let url = url.queue_url().unwrap_or_default().to_string();
        let got = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::SqsManagedSseEnabled)
            .attribute_names(QueueAttributeName::KmsMasterKeyId)
            .send()
            .await
            .map_err(|e| Error::from_sdk(GET_QUEUE_ATTRIBUTES, e));
        let Some(attrs) = kit::gone_if(got, NOT_FOUND)? else {
            return Ok(None);
        };
        let attrs = attrs.attributes().cloned().unwrap_or_default();
        let live_tags = kit::tags_if(tags, || async {
            let out = sqs
                .list_queue_tags()
                .queue_url(&url)
                .send()
                .await
                .map_err(|e| Error::from_sdk(LIST_QUEUE_TAGS, e))?;
            Ok(kit::string_tags(out.tags()))
        })
        .await?;
        Ok(Some(Read {
            state: QueueEncryption {
                sqs_managed_sse: attrs
                    .get(&QueueAttributeName::SqsManagedSseEnabled)
                    .is_some_and(|v| v.eq_ignore_ascii_case("true")),
                kms_master_key_id: attrs
                    .get(&QueueAttributeName::KmsMasterKeyId)
                    .filter(|k| !k.is_empty())
                    .cloned(),
                queue_url: url,
            },
            tags: live_tags,
        }))
    }

    fn assess(s: &QueueEncryption, p: &Params, t: Target<'_>) -> Assessment<Change> {
        let on = encrypted(s);
        let change = match &p.kms_key_id {
            Some(k) => Change::EnableKmsSse { key_id: k.clone() },
            None => Change::EnableSqsManagedSse,
        };
        let summary = if on {
            format!("queue {} is encrypted at rest: nothing to change", t.resource)
        } else {
            match &p.kms_key_id {
                Some(k) => format!(
                    "encrypt queue {} with KMS key {k} (producers and consumers need kms:GenerateDataKey and \
                     kms:Decrypt on it)",
                    t.resource
                ),
                None => format!("encrypt queue {} with SQS-managed keys (SSE-SQS)", t.resource),
            }
        };
        let mut plan = t.plan(summary, if on { Vec::new() } else { vec![change] });
        plan.untouched =
            vec!["messages, the access policy, the redrive policy, timeouts, tags and every other attribute".into()];
        Assessment {
            offending: if on {
                Vec::new()
            } else {
                vec!["no server-side encryption".into()]
            },
            plan,
        }
    }

    async fn apply(ctx: &Ctx, _: &str, s: &QueueEncryption, changes: &[Change]) -> Result<(), Error> {
        let sqs = crate::sdk_client!(ctx, aws_sdk_sqs);
        for c in changes {
            set(&sqs, &s.queue_url, c).await?;
        }
        Ok(())
    }

    fn simulate(s: &QueueEncryption, changes: &[Change]) -> QueueEncryption {
        let mut out = s.clone();
        for c in changes {
            match c {
                Change::EnableSqsManagedSse => out.sqs_managed_sse = true,
                Change::EnableKmsSse { key_id } => out.kms_master_key_id = Some(key_id.clone()),
                Change::DisableSqsManagedSse => out.sqs_managed_sse = false,
                Change::DisableKmsSse => out.kms_master_key_id = None,
            }
        }
        out
    }

    /// The undo: each of the two attributes that differs from the record, set back to it.
    fn revert(live: &QueueEncryption, before: &QueueEncryption) -> Option<Vec<Change>> {
        let mut out = Vec::new();
        match (before.sqs_managed_sse, live.sqs_managed_sse) {
            (false, true) => out.push(Change::DisableSqsManagedSse),
            (true, false) => out.push(Change::EnableSqsManagedSse),
            _ => {}
        }
        if before.kms_master_key_id != live.kms_master_key_id {
            out.push(match &before.kms_master_key_id {
                Some(k) => Change::EnableKmsSse { key_id: k.clone() },
                None => Change::DisableKmsSse,
            });
        }
        Some(out)
    }

    fn diff(before: &QueueEncryption, after: &QueueEncryption) -> Vec<String> {
        let mut out = Vec::new();
        if before.sqs_managed_sse != after.sqs_managed_sse {
            out.push(format!(
                "SqsManagedSseEnabled {} → {}",
                before.sqs_managed_sse, after.sqs_managed_sse
            ));
        }
        if before.kms_master_key_id != after.kms_master_key_id {
            out.push(format!(
                "KmsMasterKeyId {} → {}",
                before.kms_master_key_id.as_deref().unwrap_or("none"),
                after.kms_master_key_id.as_deref().unwrap_or("none")
            ));
        }
        out
    }
}

/// `SetQueueAttributes` with exactly the one attribute of `change`.
pub async fn set(sqs: &aws_sdk_sqs::Client, url: &str, change: &Change) -> Result<(), Error> {
    let (name, value) = match change {
        Change::EnableSqsManagedSse => (QueueAttributeName::SqsManagedSseEnabled, "true".to_string()),
        Change::EnableKmsSse { key_id } => (QueueAttributeName::KmsMasterKeyId, key_id.clone()),
        Change::DisableSqsManagedSse => (QueueAttributeName::SqsManagedSseEnabled, "false".to_string()),
        Change::DisableKmsSse => (QueueAttributeName::KmsMasterKeyId, String::new()),
    };
    sqs.set_queue_attributes()
        .queue_url(url)
        .attributes(name, value)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| Error::from_sdk(SET_QUEUE_ATTRIBUTES, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::families::helpers::mock_ctx;
    use aws_sdk_sqs::operation::get_queue_attributes::GetQueueAttributesOutput;
    use aws_sdk_sqs::operation::get_queue_url::{GetQueueUrlError, GetQueueUrlOutput};
    use aws_sdk_sqs::operation::list_queue_tags::ListQueueTagsOutput;
    use aws_sdk_sqs::operation::set_queue_attributes::SetQueueAttributesOutput;
    use aws_smithy_mocks::mock;

    const URL: &str = "https://sqs.us-east-1.amazonaws.com/111122223333/orders";

    fn target() -> Target<'static> {
        Target {
            rule_id: "SQS-004",
            resource: "orders",
            region: "us-east-1",
        }
    }

    fn queue(sse: bool, kms: Option<&str>) -> QueueEncryption {
        QueueEncryption {
            queue_url: URL.into(),
            sqs_managed_sse: sse,
            kms_master_key_id: kms.map(str::to_string),
        }
    }

    #[test]
    fn an_unencrypted_queue_gets_sqs_managed_sse_or_the_configured_key() {
        let a = SqsEncryption::assess(&queue(false, None), &Params { kms_key_id: None }, target());
        assert_eq!(a.plan.changes, vec![Change::EnableSqsManagedSse]);
        assert_eq!(a.offending.len(), 1);
        assert!(a.plan.removes.is_empty());
        let after = SqsEncryption::simulate(&queue(false, None), &a.plan.changes);
        assert_eq!(
            SqsEncryption::diff(&queue(false, None), &after),
            vec!["SqsManagedSseEnabled false → true"]
        );
        let p = Params {
            kms_key_id: Some("alias/team".into()),
        };
        let a = SqsEncryption::assess(&queue(false, None), &p, target());
        assert_eq!(
            a.plan.changes,
            vec![Change::EnableKmsSse {
                key_id: "alias/team".into()
            }]
        );
    }

    #[test]
    fn a_queue_encrypted_either_way_is_left_alone() {
        for q in [queue(true, None), queue(false, Some("alias/aws/sqs"))] {
            let a = SqsEncryption::assess(&q, &Params { kms_key_id: None }, target());
            assert!(a.plan.is_empty() && a.offending.is_empty());
        }
    }

    #[test]
    fn queue_names_and_aws_queue_urls_only() {
        assert_eq!(
            queue_ref(URL),
            Some(QueueRef {
                account: Some("111122223333"),
                region: Some("us-east-1"),
                name: "orders"
            })
        );
        assert!(
            queue_ref("orders.fifo").is_some()
                && queue_ref("https://eu-west-1.queue.amazonaws.com/111122223333/q").is_some()
        );
        for bad in [
            "",
            ".fifo",
            "a/b",
            "http://sqs.us-east-1.amazonaws.com/111122223333/orders",
            "https://evil.example.com/111122223333/orders",
            "https://sqs.us-east-1.amazonaws.com/111122223333/orders/x",
            "https://sqs.us-east-1.amazonaws.com/1111/orders",
            "https://sqs.us-east-1.amazonaws.com.evil.com/111122223333/orders",
            "arn:aws:sqs:us-east-1:111122223333:orders:x",
            "arn:aws:sns:us-east-1:111122223333:orders",
        ] {
            assert!(queue_ref(bad).is_none(), "{bad}");
        }
    }

    #[tokio::test]
    async fn a_url_of_another_account_is_refused_before_any_call() {
        let ctx = mock_ctx::ctx(SqsEncryption::READS, SqsEncryption::WRITES, &[]);
        let err = SqsEncryption::read(
            &ctx,
            "https://sqs.us-east-1.amazonaws.com/999988887777/orders",
            Tags::Skip,
        )
        .await
        .err()
        .unwrap();
        assert_eq!(err.name(), "InvalidInput");
    }

    #[test]
    fn fix_then_revert_is_the_before_state_and_an_unchanged_queue_needs_nothing() {
        for p in [
            Params { kms_key_id: None },
            Params {
                kms_key_id: Some("alias/team".into()),
            },
        ] {
            let before = queue(false, None);
            let fixed = SqsEncryption::simulate(&before, &SqsEncryption::assess(&before, &p, target()).plan.changes);
            assert_ne!(fixed, before);
            let undo = SqsEncryption::revert(&fixed, &before).unwrap();
            assert_eq!(undo.len(), 1, "only the attribute the fix set: {undo:?}");
            assert_eq!(SqsEncryption::simulate(&fixed, &undo), before);
            assert!(SqsEncryption::revert(&before, &before).unwrap().is_empty());
        }
    }

    #[tokio::test]
    async fn the_undo_sets_only_the_one_attribute_back() {
        let off = mock!(aws_sdk_sqs::Client::set_queue_attributes)
            .match_requests(|r| {
                r.queue_url() == Some(URL)
                    && r.attributes().is_some_and(|a| {
                        a.len() == 1
                            && a.get(&QueueAttributeName::SqsManagedSseEnabled).map(String::as_str) == Some("false")
                    })
            })
            .then_output(|| SetQueueAttributesOutput::builder().build());
        let no_key = mock!(aws_sdk_sqs::Client::set_queue_attributes)
            .match_requests(|r| {
                r.attributes().is_some_and(|a| {
                    a.len() == 1 && a.get(&QueueAttributeName::KmsMasterKeyId).map(String::as_str) == Some("")
                })
            })
            .then_output(|| SetQueueAttributesOutput::builder().build());
        let ctx = mock_ctx::ctx(SqsEncryption::READS, SqsEncryption::WRITES, &[&off, &no_key]);
        SqsEncryption::apply(
            &ctx,
            "orders",
            &queue(true, Some("alias/team")),
            &[Change::DisableSqsManagedSse, Change::DisableKmsSse],
        )
        .await
        .unwrap();
        assert_eq!((off.num_calls(), no_key.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn apply_sends_exactly_one_set_with_only_the_sse_attribute() {
        let set_sse = mock!(aws_sdk_sqs::Client::set_queue_attributes)
            .match_requests(|r| {
                r.queue_url() == Some(URL)
                    && r.attributes().is_some_and(|a| {
                        a.len() == 1
                            && a.get(&QueueAttributeName::SqsManagedSseEnabled).map(String::as_str) == Some("true")
                    })
            })
            .then_output(|| SetQueueAttributesOutput::builder().build());
        let set_kms = mock!(aws_sdk_sqs::Client::set_queue_attributes)
            .match_requests(|r| {
                r.attributes().is_some_and(|a| {
                    a.len() == 1 && a.get(&QueueAttributeName::KmsMasterKeyId).map(String::as_str) == Some("alias/team")
                })
            })
            .then_output(|| SetQueueAttributesOutput::builder().build());
        let ctx = mock_ctx::ctx(SqsEncryption::READS, SqsEncryption::WRITES, &[&set_sse, &set_kms]);
        SqsEncryption::apply(&ctx, "orders", &queue(false, None), &[Change::EnableSqsManagedSse])
            .await
            .unwrap();
        SqsEncryption::apply(
            &ctx,
            "orders",
            &queue(false, None),
            &[Change::EnableKmsSse {
                key_id: "alias/team".into(),
            }],
        )
        .await
        .unwrap();
        assert_eq!((set_sse.num_calls(), set_kms.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn read_looks_the_queue_up_by_name_and_a_missing_queue_is_none() {
        let url = mock!(aws_sdk_sqs::Client::get_queue_url)
            .match_requests(|r| r.queue_name() == Some("orders"))
            .then_output(|| GetQueueUrlOutput::builder().queue_url(URL).build());
        let attrs = mock!(aws_sdk_sqs::Client::get_queue_attributes)
            .match_requests(|r| r.queue_url() == Some(URL))
            .then_output(|| {
                GetQueueAttributesOutput::builder()
                    .attributes(QueueAttributeName::SqsManagedSseEnabled, "false")
                    .build()
            });
        let tags = mock!(aws_sdk_sqs::Client::list_queue_tags)
            .then_output(|| ListQueueTagsOutput::builder().tags("team", "orders").build());
        let gone = mock!(aws_sdk_sqs::Client::get_queue_url).then_error(|| {
            GetQueueUrlError::generic(
                aws_sdk_sqs::error::ErrorMetadata::builder()
                    .code("AWS.SimpleQueueService.NonExistentQueue")
                    .build(),
            )
        });
        let ctx = mock_ctx::ctx(
            SqsEncryption::READS,
            SqsEncryption::WRITES,
            &[&url, &attrs, &tags, &gone],
        );
        let r = SqsEncryption::read(&ctx, URL, Tags::Read).await.unwrap().unwrap();
        assert_eq!(r.state, queue(false, None));
        assert_eq!(r.tags.get("team").map(String::as_str), Some("orders"));
        assert!(SqsEncryption::read(&ctx, "orders", Tags::Read).await.unwrap().is_none());
    }
}
