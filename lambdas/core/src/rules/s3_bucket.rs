//! What every S3 bucket family shares: its tags (for exclusion) and how a missing bucket reads.

use std::collections::BTreeMap;

use crate::error::Error;
use crate::rules::family::Tags;

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

/// Whether an error says the bucket does not exist (the resource is gone).
pub fn is_gone(err: &Error) -> bool {
    err.aws_code() == Some("NoSuchBucket")
}
