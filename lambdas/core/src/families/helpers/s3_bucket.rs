//! What every S3 bucket family shares: its tags (for exclusion) and how a missing bucket reads.

use std::collections::BTreeMap;

use crate::aws::Ctx;
use crate::error::Error;
use crate::families::helpers::family::{Read, Tags};

pub const GET_BUCKET_TAGGING: &str = "s3:GetBucketTagging";

/// The bucket's live tags when asked (empty when it has none).
pub async fn read_tags(s3: &aws_sdk_s3::Client, bucket: &str, tags: Tags) -> Result<BTreeMap<String, String>, Error> {
    if tags == Tags::Skip {
        return Ok(BTreeMap::new());
    }
    match s3.get_bucket_tagging().bucket(bucket).send().await {
        Ok(out) => Ok(out
            .tag_set()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect()),
        Err(e) => {
            let err = Error::from_sdk(GET_BUCKET_TAGGING, e);
            if err.aws_code() == Some("NoSuchTagSet") {
                Ok(BTreeMap::new())
            } else {
                Err(err)
            }
        }
    }
}

/// A bucket's rule state and, when asked, its tags, read at once: both calls in flight, one wait.
/// `None` when the state's read finds the bucket gone (the tags' answer is then moot).
pub async fn read_with_tags<S>(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    tags: Tags,
    state: impl std::future::Future<Output = Result<Option<S>, Error>>,
) -> Result<Option<Read<S>>, Error> {
    let (state, tags) = tokio::join!(state, read_tags(s3, bucket, tags));
    let Some(state) = state? else {
        return Ok(None);
    };
    Ok(Some(Read { state, tags: tags? }))
}

/// Whether an error says the bucket does not exist (the resource is gone).
pub fn is_gone(err: &Error) -> bool {
    err.aws_code() == Some("NoSuchBucket")
}

pub const GET_BUCKET_LOCATION: &str = "s3:GetBucketLocation";

/// Buckets' regions as looked up, for the life of the process (a bucket never moves).
static REGIONS: std::sync::Mutex<BTreeMap<String, String>> = std::sync::Mutex::new(BTreeMap::new());

/// An S3 client in the bucket's own region (`GetBucketLocation`, once per bucket and process):
/// S3 findings arrive as `global`, and a bucket is only reachable through its region's endpoint.
/// Every request it sends carries the context's account as `ExpectedBucketOwner` (see
/// [`Ctx::s3`]). A missing bucket reads as `NoSuchBucket` from the calls that follow.
pub async fn client(ctx: &Ctx, bucket: &str) -> Result<aws_sdk_s3::Client, Error> {
    let key = format!("{}/{bucket}", ctx.account());
    let known = REGIONS.lock().expect("not poisoned").get(&key).cloned();
    let region = match known {
        Some(r) => r,
        None => match ctx.s3().get_bucket_location().bucket(bucket).send().await {
            Ok(out) => {
                let region = bucket_region(out.location_constraint().map(|c| c.as_str()));
                REGIONS.lock().expect("not poisoned").insert(key, region.clone());
                region
            }
            Err(e) => {
                let err = Error::from_sdk(GET_BUCKET_LOCATION, e);
                if is_gone(&err) {
                    return Ok(ctx.s3());
                }
                return Err(err);
            }
        },
    };
    Ok(if region == ctx.region() {
        ctx.s3()
    } else {
        ctx.in_region(&region).s3()
    })
}

/// The region a `LocationConstraint` names (none: us-east-1; `EU`: eu-west-1).
fn bucket_region(constraint: Option<&str>) -> String {
    match constraint {
        None | Some("") => "us-east-1".into(),
        Some("EU") => "eu-west-1".into(),
        Some(r) => r.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::operation::get_bucket_acl::GetBucketAclOutput;
    use aws_sdk_s3::operation::get_bucket_location::GetBucketLocationOutput;
    use aws_sdk_s3::types::BucketLocationConstraint;
    use aws_smithy_mocks::{mock, MockResponseInterceptor, RuleMode};

    /// Records each request's `x-amz-expected-bucket-owner` header.
    #[derive(Debug, Default, Clone)]
    struct Owners(std::sync::Arc<std::sync::Mutex<Vec<Option<String>>>>);

    impl aws_smithy_runtime_api::client::interceptors::Intercept for Owners {
        fn name(&self) -> &'static str {
            "Owners"
        }
        fn read_before_transmit(
            &self,
            ctx: &aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef<'_>,
            _: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
            _: &mut aws_smithy_types::config_bag::ConfigBag,
        ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
            let owner = ctx
                .request()
                .headers()
                .get("x-amz-expected-bucket-owner")
                .map(str::to_string);
            self.0.lock().unwrap().push(owner);
            Ok(())
        }
    }

    #[test]
    fn location_constraints_name_their_region() {
        assert_eq!(bucket_region(None), "us-east-1");
        assert_eq!(bucket_region(Some("EU")), "eu-west-1");
        assert_eq!(bucket_region(Some("ap-south-1")), "ap-south-1");
    }

    /// A bucket in another region is reached there, and every request carries the account as
    /// `ExpectedBucketOwner` (moto ignores both, so they are asserted on the requests).
    #[tokio::test]
    async fn a_bucket_elsewhere_is_reached_in_its_region_with_the_expected_owner() {
        let loc = mock!(aws_sdk_s3::Client::get_bucket_location)
            .match_requests(|r| r.bucket() == Some("far-away"))
            .then_output(|| {
                GetBucketLocationOutput::builder()
                    .location_constraint(BucketLocationConstraint::ApSouth1)
                    .build()
            });
        let acl = mock!(aws_sdk_s3::Client::get_bucket_acl)
            .match_requests(|r| r.bucket() == Some("far-away"))
            .then_output(|| GetBucketAclOutput::builder().build());
        let mocks = MockResponseInterceptor::new()
            .rule_mode(RuleMode::Sequential)
            .with_rule(&loc)
            .with_rule(&acl);
        let sdk = crate::families::helpers::mock_ctx::sdk_config();
        let owners = Owners::default();
        let ctx = Ctx::new(sdk, "111122223333", &[GET_BUCKET_LOCATION, "s3:GetBucketAcl"], &[])
            .with_interceptor(mocks)
            .with_interceptor(owners.clone());
        let s3 = client(&ctx, "far-away").await.unwrap();
        assert_eq!(s3.config().region().map(|r| r.as_ref()), Some("ap-south-1"));
        s3.get_bucket_acl().bucket("far-away").send().await.unwrap();
        assert_eq!((loc.num_calls(), acl.num_calls()), (1, 1));
        assert_eq!(*owners.0.lock().unwrap(), vec![Some("111122223333".to_string()); 2]);
        // Known now: no second lookup.
        client(&ctx, "far-away").await.unwrap();
        assert_eq!(loc.num_calls(), 1);
    }
}
