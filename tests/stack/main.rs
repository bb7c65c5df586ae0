//! Integration tests against the real local stack (moto behind our gateway), started by
//! `make test`. Each test creates its own uniquely named resources, acts through SNS or the
//! Lambda API exactly as production does, and re-reads the resource afterwards.

mod approval;
mod asl;
mod aws_cli;
mod browser;
mod ec2;
mod faults;
mod intake;
mod keys;
mod rds_redshift;
mod s3;
mod s3_settings;
mod shares;
mod startup;
mod traffic;
