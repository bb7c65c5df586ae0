//! The demo's EC2 side: security groups with SSH (or RDP) open to the world next to rules that
//! must stay, and an independent read of their live ingress rules.
//!
//! Rules are read here with a plain `DescribeSecurityGroupRules`, not with the core's reader (which
//! also decides what a plan changes); each entry is mapped to the core's [`IngressRule`] so rules
//! are described the same way plans describe them.

use ar_core::families::ec2_world_port::{self, IngressRule, WORLD_V4};
use aws_sdk_ec2::types::{Filter, IpPermission, IpRange};

use crate::checks::Checks;
use crate::stack::{aws, Stack};

const SSH: u16 = 22;
pub const RDP: u16 = 3389;
const OFFICE: &str = "10.0.0.0/8";

/// The default VPC's id; creates a VPC when the region has no default one.
pub async fn default_vpc(stack: &Stack) -> Result<String, String> {
    let out = stack
        .ec2
        .describe_vpcs()
        .filters(Filter::builder().name("isDefault").values("true").build())
        .send()
        .await
        .map_err(aws("ec2:DescribeVpcs"))?;
    if let Some(id) = out.vpcs().iter().find_map(|v| v.vpc_id()) {
        return Ok(id.to_string());
    }
    let out = stack
        .ec2
        .create_vpc()
        .cidr_block("172.31.0.0/16")
        .send()
        .await
        .map_err(aws("ec2:CreateVpc"))?;
    let id = out.vpc().and_then(|v| v.vpc_id()).ok_or("ec2:CreateVpc: no VPC id")?;
    println!("    (no default VPC in {}: created {id})", stack.info.region);
    Ok(id.to_string())
}

/// Creates `name` in `vpc_id` with ssh from anywhere, ssh from the office and https from anywhere;
/// returns the group id.
pub async fn create_open(stack: &Stack, vpc_id: &str, name: &str) -> Result<String, String> {
    create(
        stack,
        vpc_id,
        name,
        "auto-remediate demo: SSH open to the world",
        &[
            (SSH, WORLD_V4, "ssh from anywhere"),
            (SSH, OFFICE, "ssh from the office"),
            (443, WORLD_V4, "https from anywhere"),
        ],
    )
    .await
}

/// Creates `name` in `vpc_id` with rdp from anywhere and rdp from the office; returns the group id.
pub async fn create_rdp_open(stack: &Stack, vpc_id: &str, name: &str) -> Result<String, String> {
    create(
        stack,
        vpc_id,
        name,
        "auto-remediate demo: RDP open to the world",
        &[
            (RDP, WORLD_V4, "rdp from anywhere"),
            (RDP, OFFICE, "rdp from the office"),
        ],
    )
    .await
}

/// Creates `name` in `vpc_id` with one tcp ingress rule per (port, IPv4 CIDR, description);
/// returns the group id.
async fn create(
    stack: &Stack,
    vpc_id: &str,
    name: &str,
    description: &str,
    rules: &[(u16, &str, &str)],
) -> Result<String, String> {
    let out = stack
        .ec2
        .create_security_group()
        .group_name(name)
        .description(description)
        .vpc_id(vpc_id)
        .send()
        .await
        .map_err(aws("ec2:CreateSecurityGroup"))?;
    let group_id = out
        .group_id()
        .ok_or("ec2:CreateSecurityGroup: no group id")?
        .to_string();
    for &(port, cidr, description) in rules {
        let port = i32::from(port);
        stack
            .ec2
            .authorize_security_group_ingress()
            .group_id(&group_id)
            .ip_permissions(
                IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(port)
                    .to_port(port)
                    .ip_ranges(IpRange::builder().cidr_ip(cidr).description(description).build())
                    .build(),
            )
            .send()
            .await
            .map_err(aws("ec2:AuthorizeSecurityGroupIngress"))?;
    }
    Ok(group_id)
}

/// The group's live ingress rules, by rule id (read as the family reads them).
pub async fn live_rules(stack: &Stack, group_id: &str) -> Result<Vec<IngressRule>, String> {
    let mut rules = ec2_world_port::ingress_rules(&stack.ec2, group_id)
        .await
        .map_err(|e| e.to_string())?;
    rules.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(rules)
}

/// Whether the rule lets the whole internet (any CIDR of prefix length 0, as the core decides it)
/// reach tcp `port`.
pub fn opens_to_world(r: &IngressRule, port: u16) -> bool {
    r.is_world_open() && r.covers_tcp_port(port)
}

fn opens_ssh_to_world(r: &IngressRule) -> bool {
    opens_to_world(r, SSH)
}

/// Exactly tcp `port` from IPv4 `cidr`.
fn is_tcp_rule(r: &IngressRule, port: i32, cidr: &str) -> bool {
    (r.protocol == "tcp" || r.protocol == "6")
        && r.from_port == port
        && r.to_port == port
        && r.cidr_ipv4.as_deref() == Some(cidr)
}

/// Prints the rules, one a line after `indent`, marking those that open SSH or RDP to the world.
pub fn print_rules(rules: &[IngressRule], indent: &str) {
    if rules.is_empty() {
        println!("{indent}(no ingress rules)");
    }
    for r in rules {
        let mark = if opens_ssh_to_world(r) {
            "   ← SSH open to the world"
        } else if opens_to_world(r, RDP) {
            "   ← RDP open to the world"
        } else {
            ""
        };
        println!("{indent}{}{mark}", r.describe());
    }
}

/// What must hold once the group healed: SSH is closed to the world, and every other rule is the
/// one it had `before` (same rule id, same description; the demo's world rule is exactly tcp 22,
/// so the fix adds nothing).
pub fn check(checks: &mut Checks, group_id: &str, before: &[IngressRule], rules: &[IngressRule]) {
    checks.check(
        format!("{group_id}: no rule lets the world (any /0 CIDR) reach tcp 22"),
        !rules.iter().any(opens_ssh_to_world),
    );
    checks.check(
        format!("{group_id}: tcp 22 from {OFFICE} (\"ssh from the office\") is kept"),
        rules
            .iter()
            .any(|r| is_tcp_rule(r, 22, OFFICE) && r.description.as_deref() == Some("ssh from the office")),
    );
    checks.check(
        format!("{group_id}: tcp 443 from {WORLD_V4} is kept"),
        rules.iter().any(|r| is_tcp_rule(r, 443, WORLD_V4)),
    );
    let others = |rules: &[IngressRule]| -> Vec<IngressRule> {
        rules.iter().filter(|r| !opens_ssh_to_world(r)).cloned().collect()
    };
    let (expected, found) = (others(before), others(rules));
    checks.check_why(
        format!("{group_id}: every other rule is exactly as before (none added, none changed)"),
        found == expected,
        || {
            let show = |v: &[IngressRule]| v.iter().map(IngressRule::describe).collect::<Vec<_>>().join(", ");
            format!("expected [{}], found [{}]", show(&expected), show(&found))
        },
    );
}

/// What must hold once the RDP group healed: RDP is closed to the world, and the office's rule is
/// exactly the one it had `before`.
pub fn check_rdp(checks: &mut Checks, group_id: &str, before: &[IngressRule], rules: &[IngressRule]) {
    checks.check(
        format!("{group_id}: no rule lets the world (any /0 CIDR) reach tcp {RDP}"),
        !rules.iter().any(|r| opens_to_world(r, RDP)),
    );
    checks.check(
        format!("{group_id}: tcp {RDP} from {OFFICE} (\"rdp from the office\") is kept"),
        rules
            .iter()
            .any(|r| is_tcp_rule(r, i32::from(RDP), OFFICE) && r.description.as_deref() == Some("rdp from the office")),
    );
    let others = |rules: &[IngressRule]| -> Vec<IngressRule> {
        rules.iter().filter(|r| !opens_to_world(r, RDP)).cloned().collect()
    };
    let (expected, found) = (others(before), others(rules));
    checks.check_why(
        format!("{group_id}: every other rule is exactly as before (none added, none changed)"),
        found == expected,
        || {
            let show = |v: &[IngressRule]| v.iter().map(IngressRule::describe).collect::<Vec<_>>().join(", ");
            format!("expected [{}], found [{}]", show(&expected), show(&found))
        },
    );
}
