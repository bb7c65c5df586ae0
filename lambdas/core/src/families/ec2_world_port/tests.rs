//! Unit tests of [`super`], kept beside it in their own file.

use super::*;
use aws_sdk_ec2::operation::authorize_security_group_ingress::AuthorizeSecurityGroupIngressOutput;
use aws_sdk_ec2::operation::revoke_security_group_ingress::RevokeSecurityGroupIngressOutput;
use aws_smithy_mocks::{mock, mock_client, RuleMode};

fn ssh() -> WorldPortParams {
    WorldPortParams {
        port: 22,
        protocol: "tcp".into(),
        name: "SSH".into(),
    }
}

fn rule(id: &str, protocol: &str, from: i32, to: i32, cidr: &str) -> IngressRule {
    IngressRule {
        id: Some(id.into()),
        protocol: protocol.into(),
        from_port: from,
        to_port: to,
        cidr_ipv4: (!cidr.contains(':')).then(|| cidr.to_string()),
        cidr_ipv6: cidr.contains(':').then(|| cidr.to_string()),
        prefix_list_id: None,
        referenced_group_id: None,
        description: Some("web".into()),
    }
}

fn group(rules: Vec<IngressRule>) -> GroupState {
    GroupState {
        group_id: "sg-12345678".into(),
        group_name: None,
        ingress: rules,
    }
}

fn adds(plan: &Plan<Change>) -> Vec<(String, i32, i32, String)> {
    plan.changes
        .iter()
        .filter_map(|c| match c {
            Change::AuthorizeIngress { rule } => Some((
                rule.protocol.clone(),
                rule.from_port,
                rule.to_port,
                rule.source().to_string(),
            )),
            _ => None,
        })
        .collect()
}

fn revokes(plan: &Plan<Change>) -> Vec<String> {
    plan.changes
        .iter()
        .filter_map(|c| match c {
            Change::RevokeIngress { rule } => rule.id.clone(),
            _ => None,
        })
        .collect()
}

#[test]
fn every_spelling_of_prefix_length_zero_is_the_world() {
    for cidr in [
        "0.0.0.0/0",
        "::/0",
        "0::/0",
        "0:0:0:0:0:0:0:0/0",
        "1.2.3.4/0",
        "2001:db8::1/0",
    ] {
        assert!(is_world_cidr(cidr), "{cidr}");
        let r = rule("sgr-1", "tcp", 22, 22, cidr);
        assert!(r.is_world_open(), "{cidr}");
        assert_eq!(offending(&group(vec![r]), &ssh()).len(), 1, "{cidr}");
    }
}

#[test]
fn restricted_and_malformed_cidrs_are_not_the_world_and_do_not_panic() {
    for cidr in [
        "10.0.0.0/8",
        "0.0.0.0/1",
        "::/1",
        "0.0.0.0/32",
        "0.0.0.0",
        "::",
        "0.0.0.0/",
        "/0",
        "0/0",
        "0.0.0.0/33",
        "::/129",
        "0.0.0.0/-0",
        "0.0.0.0/0/0",
        " 0.0.0.0/0",
        "0.0.0.0/0 ",
        "0.0.0.0/+0",
        "::/0x0",
        "ffff::ffff::/0",
        "0.0.0.0/00000000000000000000000000000000000000001",
        "",
        "anywhere",
        "0.0.0.0\u{0}/0",
    ] {
        assert!(!is_world_cidr(cidr), "{cidr:?}");
        assert!(!rule("sgr-1", "tcp", 22, 22, cidr).is_world_open(), "{cidr:?}");
    }
}

#[test]
fn a_world_open_range_is_narrowed_around_the_port_keeping_its_description() {
    let p = plan(
        &group(vec![rule("sgr-1", "tcp", 20, 30, WORLD_V4)]),
        &ssh(),
        "EC2-002",
        "us-east-1",
    );
    assert_eq!(
        adds(&p),
        vec![
            ("tcp".into(), 20, 21, WORLD_V4.into()),
            ("tcp".into(), 23, 30, WORLD_V4.into())
        ]
    );
    assert_eq!(revokes(&p), vec!["sgr-1"]);
    assert!(matches!(&p.changes[0], Change::AuthorizeIngress { rule } if rule.description.as_deref() == Some("web")));
    assert!(
        matches!(p.changes.last(), Some(Change::RevokeIngress { .. })),
        "adds come before the revoke"
    );
}

#[test]
fn an_exact_port_rule_is_revoked_with_nothing_added() {
    let p = plan(
        &group(vec![rule("sgr-1", "tcp", 22, 22, WORLD_V6)]),
        &ssh(),
        "EC2-002",
        "us-east-1",
    );
    assert!(adds(&p).is_empty());
    assert_eq!(revokes(&p), vec!["sgr-1"]);
}

#[test]
fn all_traffic_is_replaced_by_everything_but_the_port_and_says_what_is_lost() {
    let p = plan(
        &group(vec![rule("sgr-9", "-1", -1, -1, WORLD_V6)]),
        &ssh(),
        "EC2-002",
        "us-east-1",
    );
    assert_eq!(
        adds(&p),
        vec![
            ("tcp".into(), 0, 21, WORLD_V6.into()),
            ("tcp".into(), 23, 65535, WORLD_V6.into()),
            ("udp".into(), 0, 65535, WORLD_V6.into()),
            ("icmpv6".into(), -1, -1, WORLD_V6.into()),
        ]
    );
    assert_eq!(revokes(&p), vec!["sgr-9"]);
    assert_eq!(p.cannot_keep.len(), 1);
}

#[test]
fn restricted_rules_and_other_ports_are_untouched() {
    let state = group(vec![
        rule("sgr-1", "tcp", 22, 22, "10.0.0.0/8"),
        rule("sgr-2", "tcp", 443, 443, WORLD_V4),
        rule("sgr-3", "udp", 22, 22, WORLD_V4),
    ]);
    let p = plan(&state, &ssh(), "EC2-002", "us-east-1");
    assert!(p.is_empty());
    assert_eq!(p.untouched.len(), 3);
    assert!(offending(&state, &ssh()).is_empty());
}

#[test]
fn replacements_that_already_exist_are_not_added_twice() {
    let state = group(vec![
        rule("sgr-1", "tcp", 20, 30, WORLD_V4),
        rule("sgr-2", "tcp", 23, 30, WORLD_V4),
    ]);
    let p = plan(&state, &ssh(), "EC2-002", "us-east-1");
    assert_eq!(adds(&p), vec![("tcp".into(), 20, 21, WORLD_V4.into())]);
}

#[tokio::test]
async fn apply_sends_exactly_the_planned_requests_in_order() {
    let state = group(vec![
        rule("sgr-1", "tcp", 20, 30, WORLD_V4),
        rule("sgr-2", "tcp", 22, 22, "10.0.0.0/8"),
    ]);
    let p = plan(&state, &ssh(), "EC2-002", "us-east-1");
    let add_low = mock!(aws_sdk_ec2::Client::authorize_security_group_ingress)
        .match_requests(|r| {
            let perm = &r.ip_permissions()[0];
            r.group_id() == Some("sg-12345678")
                && r.ip_permissions().len() == 1
                && perm.ip_protocol() == Some("tcp")
                && perm.from_port() == Some(20)
                && perm.to_port() == Some(21)
                && perm.ip_ranges()[0].cidr_ip() == Some(WORLD_V4)
                && perm.ip_ranges()[0].description() == Some("web")
                && perm.ipv6_ranges().is_empty()
        })
        .then_output(|| AuthorizeSecurityGroupIngressOutput::builder().r#return(true).build());
    let add_high = mock!(aws_sdk_ec2::Client::authorize_security_group_ingress)
        .match_requests(|r| {
            r.ip_permissions()[0].from_port() == Some(23) && r.ip_permissions()[0].to_port() == Some(30)
        })
        .then_output(|| AuthorizeSecurityGroupIngressOutput::builder().r#return(true).build());
    let revoke = mock!(aws_sdk_ec2::Client::revoke_security_group_ingress)
        .match_requests(|r| {
            r.group_id() == Some("sg-12345678")
                && r.security_group_rule_ids() == ["sgr-1".to_string()]
                && r.ip_permissions().is_empty()
        })
        .then_output(|| RevokeSecurityGroupIngressOutput::builder().r#return(true).build());
    let ec2 = mock_client!(aws_sdk_ec2, RuleMode::Sequential, [&add_low, &add_high, &revoke]);

    let done = apply(&ec2, "sg-12345678", &p.changes).await.unwrap();

    assert_eq!(done.len(), 3);
    assert_eq!(
        (add_low.num_calls(), add_high.num_calls(), revoke.num_calls()),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn a_failure_after_some_changes_names_what_was_done() {
    let p = plan(
        &group(vec![rule("sgr-1", "tcp", 20, 30, WORLD_V4)]),
        &ssh(),
        "EC2-002",
        "us-east-1",
    );
    let ok = mock!(aws_sdk_ec2::Client::authorize_security_group_ingress)
        .then_output(|| AuthorizeSecurityGroupIngressOutput::builder().r#return(true).build());
    let limit = mock!(aws_sdk_ec2::Client::authorize_security_group_ingress).then_error(|| {
        aws_sdk_ec2::operation::authorize_security_group_ingress::AuthorizeSecurityGroupIngressError::generic(
            aws_sdk_ec2::error::ErrorMetadata::builder()
                .code("RulesPerSecurityGroupLimitExceeded")
                .build(),
        )
    });
    let ec2 = mock_client!(aws_sdk_ec2, RuleMode::Sequential, [&ok, &limit]);
    let err = apply(&ec2, "sg-12345678", &p.changes).await.unwrap_err();
    assert_eq!(err.name(), "PartiallyApplied");
    assert!(err.to_string().contains("RulesPerSecurityGroupLimitExceeded"));
}

fn revoke_error(
    code: &'static str,
) -> aws_sdk_ec2::operation::revoke_security_group_ingress::RevokeSecurityGroupIngressError {
    aws_sdk_ec2::operation::revoke_security_group_ingress::RevokeSecurityGroupIngressError::generic(
        aws_sdk_ec2::error::ErrorMetadata::builder().code(code).build(),
    )
}

/// The plan for tcp 22 open to 0.0.0.0/0 (sgr-1) and ::/0 (sgr-2): two revokes.
fn ssh_open_to_both_worlds() -> Plan<Change> {
    plan(
        &group(vec![
            rule("sgr-1", "tcp", 22, 22, WORLD_V4),
            rule("sgr-2", "tcp", 22, 22, WORLD_V6),
        ]),
        &ssh(),
        "EC2-002",
        "us-east-1",
    )
}

#[tokio::test]
async fn the_revokes_go_out_as_one_call_with_every_rule_id() {
    let p = ssh_open_to_both_worlds();
    let both = mock!(aws_sdk_ec2::Client::revoke_security_group_ingress)
        .match_requests(|r| r.security_group_rule_ids() == ["sgr-1".to_string(), "sgr-2".to_string()])
        .then_output(|| RevokeSecurityGroupIngressOutput::builder().r#return(true).build());
    let ec2 = mock_client!(aws_sdk_ec2, RuleMode::Sequential, [&both]);
    let done = apply(&ec2, "sg-12345678", &p.changes).await.unwrap();
    assert_eq!(done.len(), 2);
    assert_eq!(both.num_calls(), 1);
}

#[tokio::test]
async fn when_one_rule_is_already_gone_each_is_revoked_on_its_own() {
    let p = ssh_open_to_both_worlds();
    let both = mock!(aws_sdk_ec2::Client::revoke_security_group_ingress)
        .match_requests(|r| r.security_group_rule_ids().len() == 2)
        .then_error(|| revoke_error("InvalidSecurityGroupRuleId.NotFound"));
    let gone = mock!(aws_sdk_ec2::Client::revoke_security_group_ingress)
        .match_requests(|r| r.security_group_rule_ids() == ["sgr-1".to_string()])
        .then_error(|| revoke_error("InvalidSecurityGroupRuleId.NotFound"));
    let second = mock!(aws_sdk_ec2::Client::revoke_security_group_ingress)
        .match_requests(|r| r.security_group_rule_ids() == ["sgr-2".to_string()])
        .then_output(|| RevokeSecurityGroupIngressOutput::builder().r#return(true).build());
    let ec2 = mock_client!(aws_sdk_ec2, RuleMode::Sequential, [&both, &gone, &second]);
    let done = apply(&ec2, "sg-12345678", &p.changes).await.unwrap();
    assert_eq!(done.len(), 2);
    assert_eq!((both.num_calls(), gone.num_calls(), second.num_calls()), (1, 1, 1));
}

#[tokio::test]
async fn throttling_before_any_change_is_retryable_as_is() {
    let p = plan(
        &group(vec![rule("sgr-1", "tcp", 22, 22, WORLD_V4)]),
        &ssh(),
        "EC2-002",
        "us-east-1",
    );
    let throttled = mock!(aws_sdk_ec2::Client::revoke_security_group_ingress).then_error(|| {
        aws_sdk_ec2::operation::revoke_security_group_ingress::RevokeSecurityGroupIngressError::generic(
            aws_sdk_ec2::error::ErrorMetadata::builder()
                .code("RequestLimitExceeded")
                .build(),
        )
    });
    let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, [&throttled], |c| c
        .retry_config(aws_sdk_ec2::config::retry::RetryConfig::disabled()));
    assert_eq!(
        apply(&ec2, "sg-12345678", &p.changes).await.unwrap_err().name(),
        "Throttled"
    );
}
