//! What families share and no family is: the seam every family implements ([`family`]), the read
//! kit ([`kit`]: gone-if, tags, the SDK's paginators), and the readers two families of one
//! service share (KMS keys, S3 buckets, IAM access keys). A helper imports no family.

pub mod family;
pub mod iam_keys;
pub mod kit;
pub mod kms_key;
#[cfg(test)]
pub mod mock_ctx;
pub mod s3_bucket;
