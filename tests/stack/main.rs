//! Integration tests against the real local stack (moto behind our gateway), started by
//! `make test`. Each test creates its own uniquely named resources, acts through SNS or the
//! Lambda API exactly as production does, and re-reads the resource afterwards.

mod account_settings;
mod accounts;
mod approval;
mod aws_cli;
mod breaker;
mod browser;
mod bucket_policy;
mod cli;
mod config_source;
mod conformity;
mod ec2;
mod faults;
mod guardduty;
mod iam_keys;
mod intake;
mod keys;
mod kms_keys;
mod logs;
mod logs_streams_queues;
mod notify;
mod rds_redshift;
mod s3;
mod s3_settings;
mod shares;
mod source_updates;
mod sources;
mod startup;
mod traffic;
mod verify;
