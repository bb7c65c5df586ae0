//! Shapes of AWS resource ids, ARNs, regions and account numbers: one reader, shared by every
//! family and the intake. A finding whose resource id does not have its family's shape is
//! refused at intake (`InvalidResourceId`).

/// The partitions auto-remediate acts in.
pub fn is_partition(p: &str) -> bool {
    matches!(p, "aws" | "aws-cn" | "aws-us-gov")
}

/// A 12-digit AWS account number.
pub fn is_account_number(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|c| c.is_ascii_digit())
}

/// An ARN, `arn:<partition>:<service>:<region>:<account>:<resource>`, split once and checked: a
/// known partition, a service, a region name or nothing (global services), an account number or
/// nothing (S3 buckets). The resource part is the family's to read (it may hold `:` and `/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    pub fn parse(s: &'a str) -> Option<Arn<'a>> {
        let parts: Vec<&str> = s.splitn(6, ':').collect();
        let [arn, partition, service, region, account, resource] = parts[..] else {
            return None;
        };
        (arn == "arn"
            && is_partition(partition)
            && !service.is_empty()
            && (region.is_empty() || is_region_name(region))
            && (account.is_empty() || is_account_number(account)))
        .then_some(Arn {
            partition,
            service,
            region,
            account,
            resource,
        })
    }

    /// An ARN of `service` with a region and an account (every regional resource's shape).
    pub fn regional(s: &'a str, service: &str) -> Option<Arn<'a>> {
        Arn::parse(s).filter(|a| a.service == service && !a.region.is_empty() && !a.account.is_empty())
    }

    /// The resource's id, what follows its type (`security-group/sg-1` → `sg-1`, `db:mydb` →
    /// `mydb`, `key/<uuid>` → `<uuid>`, `user/path/name` → `name`, a bucket's `name` → `name`).
    pub fn resource_id(&self) -> &'a str {
        arn_resource_id(self.resource)
    }

    /// An ARN of a global `service` (IAM): no region, an account.
    pub fn global(s: &'a str, service: &str) -> Option<Arn<'a>> {
        Arn::parse(s).filter(|a| a.service == service && a.region.is_empty() && !a.account.is_empty())
    }
}

/// The resource id part of an ARN's resource ([`Arn::resource_id`]).
pub fn arn_resource_id(resource: &str) -> &str {
    if let Some((_, id)) = resource.split_once(':') {
        id
    } else if let Some((_, id)) = resource.rsplit_once('/') {
        id
    } else {
        resource
    }
}

/// An S3 bucket name (lowercase, 3-63 characters, no `..`, not an IP address).
pub fn is_bucket_name(id: &str) -> bool {
    let b = id.as_bytes();
    (3..=63).contains(&b.len())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'.' || *c == b'-')
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && !id.contains("..")
        && !id.starts_with("xn--")
        && !id
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()))
}

/// An EC2 id with a prefix and 8 or 17 lowercase hex digits (`ami-0123abcd`, `snap-...`).
pub fn is_ec2_id(id: &str, prefix: &str) -> bool {
    match id.strip_prefix(prefix).and_then(|rest| rest.strip_prefix('-')) {
        Some(hex) => {
            (hex.len() == 8 || hex.len() == 17) && hex.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
        }
        None => false,
    }
}

/// An RDS or Redshift identifier (DB instance, DB snapshot, Redshift cluster): 1 to `max`
/// lowercase letters, digits and hyphens, a letter first, no `--`, no trailing hyphen
/// (AWS stores them lowercase; automated `rds:` snapshots and ARNs are refused).
pub fn is_db_identifier(id: &str, max: usize) -> bool {
    let b = id.as_bytes();
    (1..=max).contains(&b.len())
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && !id.ends_with('-')
        && !id.contains("--")
}

pub fn is_security_group_id(id: &str) -> bool {
    is_ec2_id(id, "sg")
}

/// An AWS region name (`us-east-1`, `eu-central-2`, `us-gov-west-1`): the resource id of
/// region-level checks.
pub fn is_region_name(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    (3..=4).contains(&parts.len())
        && parts[0].len() == 2
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_lowercase()))
        && (1..=2).contains(&parts[parts.len() - 1].len())
        && parts[parts.len() - 1].bytes().all(|c| c.is_ascii_digit())
}

/// A CloudTrail trail name: 3-128 letters, digits, `.`, `_`, `-`, starting and ending with a
/// letter or digit, no two separators in a row.
pub fn is_trail_name(id: &str) -> bool {
    let b = id.as_bytes();
    let sep = |c: u8| c == b'.' || c == b'_' || c == b'-';
    (3..=128).contains(&b.len())
        && b.iter().all(|c| c.is_ascii_alphanumeric() || sep(*c))
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && !b.windows(2).any(|w| sep(w[0]) && sep(w[1]))
}

/// A CloudTrail trail ARN, `arn:<partition>:cloudtrail:<region>:<account>:trail/<name>`: its
/// region and name.
pub fn trail_arn_parts(id: &str) -> Option<(&str, &str)> {
    let arn = Arn::regional(id, "cloudtrail")?;
    let name = arn.resource.strip_prefix("trail/")?;
    is_trail_name(name).then_some((arn.region, name))
}

/// A trail's name or ARN.
pub fn is_trail(id: &str) -> bool {
    is_trail_name(id) || trail_arn_parts(id).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_arns_resource_id_is_what_follows_its_type() {
        for (resource, id) in [
            ("security-group/sg-0123456789abcdef0", "sg-0123456789abcdef0"),
            ("db:mydb", "mydb"),
            ("snapshot:rds:mydb-2021-01-01-00-00", "rds:mydb-2021-01-01-00-00"),
            (
                "key/1234abcd-12ab-34cd-56ef-1234567890ab",
                "1234abcd-12ab-34cd-56ef-1234567890ab",
            ),
            ("user/division/alice", "alice"),
            ("my-bucket", "my-bucket"),
            ("test_queue_3", "test_queue_3"),
        ] {
            assert_eq!(arn_resource_id(resource), id);
        }
    }

    #[test]
    fn one_arn_reader_checks_partition_region_and_account() {
        let a = Arn::parse("arn:aws:sqs:eu-west-1:123456789012:queue:with:colons").unwrap();
        assert_eq!(
            (a.service, a.region, a.account, a.resource),
            ("sqs", "eu-west-1", "123456789012", "queue:with:colons")
        );
        assert!(Arn::parse("arn:aws:s3:::my-bucket").is_some_and(|a| a.region.is_empty() && a.account.is_empty()));
        assert!(Arn::global("arn:aws:iam::123456789012:role/x", "iam").is_some());
        assert!(Arn::global("arn:aws:iam:us-east-1:123456789012:role/x", "iam").is_none());
        for bad in [
            "arn:aws:sqs:us-east-:123456789012:q",
            "arn:aws:sqs:US-EAST-1:123456789012:q",
            "arn:aws:sqs:us-east-1:12345678901:q",
            "arn:aws-iso:sqs:us-east-1:123456789012:q",
            "arn:aws::us-east-1:123456789012:q",
            "arn:aws:sqs:us-east-1:123456789012",
            "urn:aws:sqs:us-east-1:123456789012:q",
        ] {
            assert!(Arn::parse(bad).is_none(), "{bad}");
        }
        assert!(Arn::regional("arn:aws:sqs:us-east-1:123456789012:q", "sns").is_none());
        assert!(is_region_name("us-gov-west-1") && is_region_name("ap-southeast-5"));
        assert!(!is_region_name("us-east-") && !is_region_name("global") && !is_region_name(""));
    }

    #[test]
    fn resource_ids_of_the_wrong_shape_are_rejected() {
        assert!(is_security_group_id("sg-0123456789abcdef0"));
        assert!(is_security_group_id("sg-12345678"));
        for bad in [
            "sg-123",
            "../sg-12345678",
            "sg-1234567g",
            "SG-12345678",
            "sg-12345678/..",
            "",
        ] {
            assert!(!is_security_group_id(bad), "{bad}");
        }
        assert!(is_ec2_id("ami-0123456789abcdef0", "ami") && is_ec2_id("snap-0123abcd", "snap"));
        assert!(!is_ec2_id("snap-0123abcd", "ami") && !is_ec2_id("ami-", "ami"));
        assert!(is_bucket_name("my-bucket.logs"));
        for bad in [
            "My-Bucket",
            "../etc/passwd",
            "a",
            "bucket..x",
            "192.168.1.1",
            "-bucket",
            "bucket/key",
            "bu cket",
        ] {
            assert!(!is_bucket_name(bad), "{bad}");
        }
        assert!(is_db_identifier("prod-db-1", 63) && is_db_identifier("a", 63));
        for bad in [
            "",
            "1db",
            "db--1",
            "db-",
            "Prod",
            "rds:db-2024-01-01",
            "arn:aws:rds:us-east-1:111122223333:db:x",
            "db/../x",
            "db 1",
        ] {
            assert!(!is_db_identifier(bad, 63), "{bad}");
        }
        assert!(!is_db_identifier(&"a".repeat(64), 63) && is_db_identifier(&"a".repeat(255), 255));
    }

    #[test]
    fn regions_and_trails_have_their_shapes() {
        for ok in ["us-east-1", "eu-central-2", "us-gov-west-1", "ap-southeast-4"] {
            assert!(is_region_name(ok), "{ok}");
        }
        for bad in ["global", "us-east", "US-EAST-1", "us-east-1/..", "us-east-123", ""] {
            assert!(!is_region_name(bad), "{bad}");
        }
        assert!(is_trail("management-events") && is_trail("org.trail_1"));
        assert_eq!(
            trail_arn_parts("arn:aws:cloudtrail:eu-west-1:123456789012:trail/main"),
            Some(("eu-west-1", "main"))
        );
        for bad in [
            "ab",
            "-trail",
            "trail-",
            "a--b",
            "trail/x",
            "../trail",
            "arn:aws:cloudtrail:eu-west-1:123456789012:trail/../x",
            "arn:aws:s3:eu-west-1:123456789012:trail/main",
            "arn:aws:cloudtrail:eu-west-1:1234:trail/main",
        ] {
            assert!(!is_trail(bad), "{bad}");
        }
    }
}
