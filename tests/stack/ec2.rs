use ar_tests::{unique, Stack};
use aws_sdk_ec2::types::{Filter, IpPermission, IpRange, Ipv6Range};

pub type Rule = (String, i32, i32, String, String);

pub async fn group(stack: &Stack) -> String {
    group_in(&stack.ec2).await
}

/// A new group through `ec2` (the stack's account, or a member account's client).
pub async fn group_in(ec2: &aws_sdk_ec2::Client) -> String {
    ec2.create_security_group()
        .group_name(unique("it-sg"))
        .description("integration test")
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_string()
}

pub async fn allow(stack: &Stack, sg: &str, proto: &str, from: i32, to: i32, cidr: &str, description: &str) {
    allow_in(&stack.ec2, sg, proto, from, to, cidr, description).await
}

/// Adds one ingress rule through `ec2`.
pub async fn allow_in(
    ec2: &aws_sdk_ec2::Client,
    sg: &str,
    proto: &str,
    from: i32,
    to: i32,
    cidr: &str,
    description: &str,
) {
    let mut p = IpPermission::builder().ip_protocol(proto).from_port(from).to_port(to);
    p = if cidr.contains(':') {
        p.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(cidr).description(description).build())
    } else {
        p.ip_ranges(IpRange::builder().cidr_ip(cidr).description(description).build())
    };
    ec2.authorize_security_group_ingress()
        .group_id(sg)
        .ip_permissions(p.build())
        .send()
        .await
        .unwrap();
}

/// The live ingress rules as sorted (protocol, from, to, cidr, description).
pub async fn ingress(stack: &Stack, sg: &str) -> Vec<Rule> {
    let out = stack
        .ec2
        .describe_security_group_rules()
        .filters(Filter::builder().name("group-id").values(sg).build())
        .send()
        .await
        .unwrap();
    let mut v: Vec<Rule> = out
        .security_group_rules()
        .iter()
        .filter(|r| r.is_egress() == Some(false))
        .map(|r| {
            (
                r.ip_protocol().unwrap_or_default().to_string(),
                r.from_port().unwrap_or(-1),
                r.to_port().unwrap_or(-1),
                r.cidr_ipv4().or(r.cidr_ipv6()).unwrap_or_default().to_string(),
                r.description().unwrap_or_default().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

fn rule(proto: &str, from: i32, to: i32, cidr: &str, d: &str) -> Rule {
    (proto.into(), from, to, cidr.into(), d.into())
}

fn sorted(mut v: Vec<Rule>) -> Vec<Rule> {
    v.sort();
    v
}

#[tokio::test]
async fn a_world_open_range_is_narrowed_around_ssh_and_restricted_rules_stay() {
    let stack = Stack::connect();
    let sg = group(&stack).await;
    allow(&stack, &sg, "tcp", 20, 30, "0.0.0.0/0", "legacy range").await;
    allow(&stack, &sg, "tcp", 22, 22, "10.0.0.0/8", "office").await;
    allow(&stack, &sg, "tcp", 443, 443, "0.0.0.0/0", "https").await;

    let run = stack.publish_and_wait(&stack.message("EC2-002", &sg)).await;

    assert_eq!(run.status, "SUCCEEDED", "{:?} {:?}", run.states(), run.task_errors());
    assert_eq!(
        run.states(),
        [
            "Classify",
            "Route",
            "Remediate",
            "AfterRemediate",
            "Verify",
            "AfterVerify",
            "NotifyHealed",
            "Healed"
        ]
    );
    assert_eq!(
        ingress(&stack, &sg).await,
        sorted(vec![
            rule("tcp", 20, 21, "0.0.0.0/0", "legacy range"),
            rule("tcp", 23, 30, "0.0.0.0/0", "legacy range"),
            rule("tcp", 22, 22, "10.0.0.0/8", "office"),
            rule("tcp", 443, 443, "0.0.0.0/0", "https"),
        ])
    );
    let steps = run.output["remediation"]["plan"]["steps"].as_array().unwrap().len();
    assert_eq!(steps, 3, "two adds and one revoke");
}

#[tokio::test]
async fn ipv6_world_access_to_ssh_is_revoked_with_its_own_field() {
    let stack = Stack::connect();
    let sg = group(&stack).await;
    allow(&stack, &sg, "tcp", 22, 22, "::/0", "v6 ssh").await;
    allow(&stack, &sg, "tcp", 22, 22, "2001:db8::/32", "v6 office").await;

    let run = stack.publish_and_wait(&stack.message("EC2-002", &sg)).await;

    assert_eq!(run.status, "SUCCEEDED", "{:?}", run.task_errors());
    assert_eq!(
        ingress(&stack, &sg).await,
        vec![rule("tcp", 22, 22, "2001:db8::/32", "v6 office")]
    );
}

#[tokio::test]
async fn the_world_spelled_otherwise_is_still_the_world() {
    let stack = Stack::connect();
    let sg = group(&stack).await;
    // Both are stored verbatim; both have prefix length 0, so both let everyone in.
    allow(&stack, &sg, "tcp", 22, 22, "0::/0", "v6 world, long form").await;
    allow(&stack, &sg, "tcp", 22, 22, "1.2.3.4/0", "v4 world, host bits set").await;
    allow(&stack, &sg, "tcp", 22, 22, "10.0.0.0/8", "office").await;
    allow(&stack, &sg, "tcp", 443, 443, "0:0:0:0:0:0:0:0/0", "https").await;

    let run = stack.publish_and_wait(&stack.message("EC2-002", &sg)).await;

    assert_eq!(run.status, "SUCCEEDED", "{:?} {:?}", run.states(), run.task_errors());
    assert_eq!(run.states().last().unwrap(), "Healed");
    assert_eq!(
        ingress(&stack, &sg).await,
        sorted(vec![
            rule("tcp", 22, 22, "10.0.0.0/8", "office"),
            rule("tcp", 443, 443, "0:0:0:0:0:0:0:0/0", "https"),
        ])
    );
}

#[tokio::test]
async fn all_traffic_from_the_world_keeps_everything_but_ssh() {
    let stack = Stack::connect();
    let sg = group(&stack).await;
    allow(&stack, &sg, "-1", -1, -1, "0.0.0.0/0", "everything").await;

    let run = stack.publish_and_wait(&stack.message("EC2-002", &sg)).await;

    assert_eq!(run.status, "SUCCEEDED", "{:?}", run.task_errors());
    assert_eq!(
        ingress(&stack, &sg).await,
        sorted(vec![
            rule("tcp", 0, 21, "0.0.0.0/0", "everything"),
            rule("tcp", 23, 65535, "0.0.0.0/0", "everything"),
            rule("udp", 0, 65535, "0.0.0.0/0", "everything"),
            rule("icmp", -1, -1, "0.0.0.0/0", "everything"),
        ])
    );
    let cannot_keep = run.output["remediation"]["plan"]["cannot_keep"].as_array().unwrap();
    assert_eq!(cannot_keep.len(), 1, "the plan says other IP protocols are not kept");
}

#[tokio::test]
async fn dry_run_records_the_plan_and_writes_nothing() {
    let stack = Stack::connect();
    let sg = group(&stack).await;
    allow(&stack, &sg, "tcp", 3389, 3389, "0.0.0.0/0", "rdp").await;
    let before = ingress(&stack, &sg).await;

    let run = stack.publish_and_wait(&stack.message("EC2-003", &sg)).await;

    assert_eq!(run.status, "SUCCEEDED");
    assert_eq!(run.states().last().unwrap(), "DryRunComplete");
    assert_eq!(run.output["remediation"]["outcome"], "dry-run");
    assert_eq!(
        run.output["remediation"]["plan"]["changes"][0]["action"],
        "ec2:RevokeIngress"
    );
    assert_eq!(ingress(&stack, &sg).await, before);
}

/// A rule the config turns off is acknowledged by the trigger with reason RuleOff: no execution.
#[tokio::test]
async fn a_rule_switched_off_is_acknowledged_with_its_reason_and_starts_nothing() {
    let stack = Stack::connect();
    let sg = group(&stack).await;
    allow(&stack, &sg, "tcp", 3306, 3306, "0.0.0.0/0", "mysql").await;
    let before = ingress(&stack, &sg).await;
    let message = stack.message("EC2-005", &sg);

    let id = stack.publish_id(&message.to_string()).await;
    let delivery = stack.delivery(&id).await;

    assert_eq!(delivery["delivery"], "Acknowledged", "{delivery}");
    assert_eq!(delivery["reason"], "RuleOff", "{delivery}");
    let record = &delivery["result"]["records"][0];
    assert_eq!(record["delivery"], "Acknowledged", "{record}");
    assert_eq!(record["result"], "acknowledged", "{record}");
    assert_eq!(record["reason"], "RuleOff", "{record}");
    assert_eq!(record["rule_id"], "EC2-005", "{record}");
    assert!(record["detail"].as_str().is_some_and(|d| !d.is_empty()), "{record}");
    assert!(record.get("execution_name").is_none(), "{record}");
    assert!(!stack.execution_exists(&stack.execution_name(&message)).await);
    assert_eq!(ingress(&stack, &sg).await, before);
}

#[tokio::test]
async fn a_missing_group_is_resource_gone() {
    let stack = Stack::connect();
    let run = stack
        .publish_and_wait(&stack.message("EC2-002", "sg-0badc0ffee0000000"))
        .await;
    assert_eq!(run.status, "SUCCEEDED");
    assert_eq!(run.states().last().unwrap(), "ResourceGone");
}
