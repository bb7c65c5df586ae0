//! EC2-002/003/004/005/006/008/038/039/040/043/045: a security group lets the world reach a
//! sensitive TCP port. "The world" is any CIDR of prefix length 0, however it is written
//! (`0.0.0.0/0`, `::/0`, `0::/0`, `1.2.3.4/0`: EC2 APIs may store these verbatim): the prefix is
//! parsed, never compared as text.
//!
//! What a fix changes, never touches and how it is undone: [`Ec2WorldPort::DOC`] (RULES.md is
//! generated from it). Per offending ingress rule, by its rule id: a world-open TCP range covering
//! the port becomes the range around it (tcp 20-30: 20-21 and 23-30); a world-open all-traffic
//! rule becomes rules keeping everything but the port (TCP around it, all UDP, all ICMP).
//!
//! Replacements are added before the offending rule is revoked, so nothing but the port is ever
//! closed, even for a moment. IPv4 and IPv6 rules are handled alike, each with its own field.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{Filter, IpPermission, IpRange, Ipv6Range, SecurityGroupRule};
use serde::{Deserialize, Serialize};

use crate::aws::Ctx;
use crate::error::Error;
use crate::families::helpers::family::{Assessment, FamilyDoc, Read, RuleFamily, Tags, Target};
use crate::families::helpers::kit;
use crate::ids;
use crate::plan::{Describe, Plan};

/// The family: `ec2-world-port` in the catalog.
pub struct Ec2WorldPort;

const DESCRIBE_SECURITY_GROUPS: &str = "ec2:DescribeSecurityGroups";
const DESCRIBE_SECURITY_GROUP_RULES: &str = "ec2:DescribeSecurityGroupRules";
const AUTHORIZE_INGRESS: &str = "ec2:AuthorizeSecurityGroupIngress";
const REVOKE_INGRESS: &str = "ec2:RevokeSecurityGroupIngress";

impl RuleFamily for Ec2WorldPort {
    const NAME: &'static str = "ec2-world-port";
    const DOC: FamilyDoc = FamilyDoc {
        changes: "close the tcp port to 0.0.0.0/0 and ::/0 by rule id: a world-open range is narrowed around the port, an all-traffic rule replaced by rules keeping everything but the port (replacements added before the revoke, descriptions kept; other IP protocols of an all-traffic rule cannot be kept, and the plan says so)",
        never: "restricted rules (other CIDRs, prefix lists, group references), other ports, egress, the group",
        undo: "authorize the recorded revoked rules again and revoke the replacements",
        tested: "local stack",
    };
    const RESOURCE: &'static str = "security group id";
    const READS: &'static [&'static str] = &[DESCRIBE_SECURITY_GROUPS, DESCRIBE_SECURITY_GROUP_RULES];
    const WRITES: &'static [&'static str] = &[AUTHORIZE_INGRESS, REVOKE_INGRESS];
    /// Each port rule is about its port: another port is another rule (EC2-003 is RDP).
    const FIXED_PARAMS: &'static [&'static str] = &["port", "protocol"];
    type Params = WorldPortParams;
    type State = GroupState;
    type Change = Change;

    fn valid_id(id: &str) -> bool {
        ids::is_security_group_id(id)
    }

    async fn read(ctx: &Ctx, group_id: &str, tags: Tags) -> Result<Option<Read<GroupState>>, Error> {
        Ok(read_group(&ctx.ec2(), group_id)
            .await?
            .map(|(state, live)| kit::read(state, live, tags)))
    }

    fn assess(group: &GroupState, params: &WorldPortParams, t: Target<'_>) -> Assessment<Change> {
        Assessment {
            offending: offending(group, params)
                .iter()
                .map(|r| format!("ingress {}", r.describe()))
                .collect(),
            plan: plan(group, params, t.rule_id, t.region),
        }
    }

    async fn apply(ctx: &Ctx, group_id: &str, _: &GroupState, changes: &[Change]) -> Result<(), Error> {
        apply(&ctx.ec2(), group_id, changes).await.map(|_| ())
    }

    fn simulate(group: &GroupState, changes: &[Change]) -> GroupState {
        simulate(group, changes)
    }

    fn diff(before: &GroupState, after: &GroupState) -> Vec<String> {
        diff(before, after)
    }

    fn revert(live: &GroupState, before: &GroupState) -> Option<Vec<Change>> {
        Some(revert(live, before))
    }
}

/// The undo of a fix: re-add exactly the rules `before` had and `live` lacks (with their
/// descriptions), then revoke the ones `live` has and `before` did not (the fix's narrowed
/// ranges). Added first, so no access `before` gave is missing at any moment.
pub fn revert(live: &GroupState, before: &GroupState) -> Vec<Change> {
    let add = before
        .ingress
        .iter()
        .filter(|b| !live.ingress.iter().any(|l| l.same_access(b)))
        .map(|b| Change::AuthorizeIngress {
            rule: IngressRule { id: None, ..b.clone() },
        });
    let remove = live
        .ingress
        .iter()
        .filter(|l| !before.ingress.iter().any(|b| b.same_access(l)))
        .map(|l| Change::RevokeIngress { rule: l.clone() });
    add.chain(remove).collect()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorldPortParams {
    pub port: u16,
    /// Only `tcp` today.
    pub protocol: String,
    /// The service's name, for plans and emails.
    pub name: String,
}

/// One write of this family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action")]
pub enum Change {
    /// Add an ingress rule that keeps access the revoked rule gave, minus the offending port.
    #[serde(rename = "ec2:AuthorizeIngress")]
    AuthorizeIngress { rule: IngressRule },
    /// Revoke one ingress rule, by its rule id.
    #[serde(rename = "ec2:RevokeIngress")]
    RevokeIngress { rule: IngressRule },
}

impl Describe for Change {
    fn describe(&self) -> String {
        match self {
            Change::AuthorizeIngress { rule } => format!("add ingress {}", rule.describe()),
            Change::RevokeIngress { rule } => format!("revoke ingress {}", rule.describe()),
        }
    }
}

pub const WORLD_V4: &str = "0.0.0.0/0";
pub const WORLD_V6: &str = "::/0";

/// Whether `cidr` covers every address of its family (prefix length 0, any address part:
/// `0.0.0.0/0`, `1.2.3.4/0`, `::/0`, `0::/0`, `0:0:0:0:0:0:0:0/0`). A malformed CIDR is not.
pub fn is_world_cidr(cidr: &str) -> bool {
    cidr.parse::<ipnet::IpNet>().is_ok_and(|net| net.prefix_len() == 0)
}

/// One ingress rule, as read from `DescribeSecurityGroupRules` or as planned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngressRule {
    /// `sgr-...`; absent on a rule the plan adds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `tcp`, `udp`, `icmp`, `icmpv6`, `-1` (all traffic) or a protocol number.
    pub protocol: String,
    pub from_port: i32,
    pub to_port: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidr_ipv4: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidr_ipv6: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_list_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referenced_group_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl IngressRule {
    fn source(&self) -> &str {
        self.cidr_ipv4
            .as_deref()
            .or(self.cidr_ipv6.as_deref())
            .or(self.prefix_list_id.as_deref())
            .or(self.referenced_group_id.as_deref())
            .unwrap_or("?")
    }

    fn is_all_traffic(&self) -> bool {
        self.protocol == "-1" || self.protocol.eq_ignore_ascii_case("all")
    }

    fn is_tcp(&self) -> bool {
        self.protocol.eq_ignore_ascii_case("tcp") || self.protocol == "6"
    }

    /// Whether the rule's source is the whole internet: a CIDR of prefix length 0.
    pub fn is_world_open(&self) -> bool {
        [&self.cidr_ipv4, &self.cidr_ipv6]
            .into_iter()
            .flatten()
            .any(|cidr| is_world_cidr(cidr))
    }

    /// Whether this rule admits TCP `port`.
    pub fn covers_tcp_port(&self, port: u16) -> bool {
        let port = i32::from(port);
        self.is_all_traffic() || (self.is_tcp() && self.from_port <= port && port <= self.to_port)
    }

    /// Same protocol, ports and source (ids and descriptions aside).
    fn same_access(&self, other: &IngressRule) -> bool {
        let proto = |r: &IngressRule| {
            if r.is_tcp() {
                "tcp".to_string()
            } else {
                r.protocol.to_ascii_lowercase()
            }
        };
        proto(self) == proto(other)
            && self.from_port == other.from_port
            && self.to_port == other.to_port
            && self.cidr_ipv4 == other.cidr_ipv4
            && self.cidr_ipv6 == other.cidr_ipv6
            && self.prefix_list_id == other.prefix_list_id
            && self.referenced_group_id == other.referenced_group_id
    }

    pub fn describe(&self) -> String {
        let ports = if self.is_all_traffic() {
            "all traffic".to_string()
        } else if self.from_port == -1 || (self.from_port == 0 && self.to_port == 65535 && !self.is_tcp()) {
            format!("{} (all)", self.protocol)
        } else if self.from_port == self.to_port {
            format!("{} {}", self.protocol, self.from_port)
        } else {
            format!("{} {}-{}", self.protocol, self.from_port, self.to_port)
        };
        let mut s = String::new();
        if let Some(id) = &self.id {
            s.push_str(id);
            s.push_str(": ");
        }
        s.push_str(&format!("{ports} from {}", self.source()));
        if let Some(d) = &self.description {
            s.push_str(&format!(" ({d:?})"));
        }
        s
    }

    fn derived(&self, protocol: &str, from_port: i32, to_port: i32) -> IngressRule {
        IngressRule {
            id: None,
            protocol: protocol.to_string(),
            from_port,
            to_port,
            cidr_ipv4: self.cidr_ipv4.clone(),
            cidr_ipv6: self.cidr_ipv6.clone(),
            prefix_list_id: None,
            referenced_group_id: None,
            description: self.description.clone(),
        }
    }
}

/// A security group's ingress rules and tags, as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupState {
    pub group_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_name: Option<String>,
    pub ingress: Vec<IngressRule>,
}

/// The ingress rules that open `params.port` to the world.
pub fn offending<'a>(state: &'a GroupState, params: &WorldPortParams) -> Vec<&'a IngressRule> {
    state
        .ingress
        .iter()
        .filter(|r| r.is_world_open() && r.covers_tcp_port(params.port))
        .collect()
}

/// The minimal plan that closes `params.port` to the world and keeps every other access.
pub fn plan(state: &GroupState, params: &WorldPortParams, rule_id: &str, region: &str) -> Plan<Change> {
    let port = i32::from(params.port);
    let bad = offending(state, params);
    let mut adds: Vec<IngressRule> = Vec::new();
    let mut cannot_keep = Vec::new();
    for rule in &bad {
        let mut keep = Vec::new();
        let (lo, hi) = if rule.is_all_traffic() {
            (0, 65535)
        } else {
            (rule.from_port, rule.to_port)
        };
        if lo < port {
            keep.push(rule.derived("tcp", lo, port - 1));
        }
        if port < hi {
            keep.push(rule.derived("tcp", port + 1, hi));
        }
        if rule.is_all_traffic() {
            keep.push(rule.derived("udp", 0, 65535));
            let icmp = if rule.cidr_ipv6.is_some() { "icmpv6" } else { "icmp" };
            keep.push(rule.derived(icmp, -1, -1));
            cannot_keep.push(format!(
                "IP protocols other than TCP, UDP and ICMP (GRE, ESP, SCTP, ...) from {}: an all-traffic rule {} cannot be split without dropping them",
                rule.source(),
                rule.id.as_deref().unwrap_or("")
            ));
        }
        for k in keep {
            let present = state.ingress.iter().any(|r| !bad.contains(&r) && r.same_access(&k));
            let planned = adds.iter().any(|r| r.same_access(&k));
            if !present && !planned {
                adds.push(k);
            }
        }
    }
    let changes: Vec<Change> = adds
        .into_iter()
        .map(|rule| Change::AuthorizeIngress { rule })
        .chain(bad.iter().map(|r| Change::RevokeIngress { rule: (*r).clone() }))
        .collect();
    let summary = if bad.is_empty() {
        format!(
            "{} does not open tcp {} ({}) to the world: nothing to change",
            state.group_id, port, params.name
        )
    } else {
        format!(
            "close tcp {} ({}) to the world on {}: revoke {} rule(s), keep their other ports",
            port,
            params.name,
            state.group_id,
            bad.len()
        )
    };
    let mut removes: Vec<String> = Vec::new();
    for rule in &bad {
        let world = if rule.cidr_ipv6.is_some() { WORLD_V6 } else { WORLD_V4 };
        removes.push(format!("tcp {port} from {world}"));
        if rule.is_all_traffic() {
            removes.push(format!("IP protocols other than TCP, UDP and ICMP from {world}"));
        }
    }
    removes.sort();
    removes.dedup();
    let mut plan = Plan::new(rule_id, &state.group_id, region, summary, changes);
    plan.cannot_keep = cannot_keep;
    plan.removes = removes;
    plan.untouched = state
        .ingress
        .iter()
        .filter(|r| !bad.contains(r))
        .map(|r| format!("ingress {}", r.describe()))
        .collect();
    plan
}

/// The group as it would be after `plan`: revoked rules gone, added rules present (without ids).
/// Used to show the combined effect of several fixes before any is applied.
pub fn simulate(state: &GroupState, changes: &[Change]) -> GroupState {
    let revoked = |r: &IngressRule| {
        changes.iter().any(|c| match c {
            Change::RevokeIngress { rule } => match &rule.id {
                Some(id) => r.id.as_ref() == Some(id),
                None => r.id.is_none() && r.same_access(rule),
            },
            _ => false,
        })
    };
    let mut ingress: Vec<IngressRule> = state.ingress.iter().filter(|r| !revoked(r)).cloned().collect();
    for change in changes {
        if let Change::AuthorizeIngress { rule } = change {
            if !ingress.iter().any(|r| r.same_access(rule)) {
                ingress.push(rule.clone());
            }
        }
    }
    GroupState {
        ingress,
        ..state.clone()
    }
}

/// What differs between two reads of a group, one line per rule revoked or added (compared by
/// access: protocol, ports and source; ids and descriptions aside).
pub fn diff(before: &GroupState, after: &GroupState) -> Vec<String> {
    let revoked = before
        .ingress
        .iter()
        .filter(|b| !after.ingress.iter().any(|a| a.same_access(b)))
        .map(|b| format!("revoked ingress {}", b.describe()));
    let added = after
        .ingress
        .iter()
        .filter(|a| !before.ingress.iter().any(|b| b.same_access(a)))
        .map(|a| format!("added ingress {}", a.describe()));
    revoked.chain(added).collect()
}

/// One `DescribeSecurityGroupRules` entry as an [`IngressRule`].
pub fn from_sdk_rule(r: &SecurityGroupRule) -> IngressRule {
    IngressRule {
        id: r.security_group_rule_id().map(str::to_string),
        protocol: r.ip_protocol().unwrap_or("-1").to_string(),
        from_port: r.from_port().unwrap_or(-1),
        to_port: r.to_port().unwrap_or(-1),
        cidr_ipv4: r.cidr_ipv4().map(str::to_string),
        cidr_ipv6: r.cidr_ipv6().map(str::to_string),
        prefix_list_id: r.prefix_list_id().map(str::to_string),
        referenced_group_id: r.referenced_group_info().and_then(|g| g.group_id()).map(str::to_string),
        description: r.description().map(str::to_string).filter(|d| !d.is_empty()),
    }
}

/// Reads the group's ingress rules and tags; `None` when the group does not exist.
pub async fn read_group(
    ec2: &aws_sdk_ec2::Client,
    group_id: &str,
) -> Result<Option<(GroupState, BTreeMap<String, String>)>, Error> {
    // The group (its existence, name and tags) and its rules (with their ids) at once.
    let (group, ingress) = tokio::join!(describe_group(ec2, group_id), ingress_rules(ec2, group_id));
    let Some((group_name, tags)) = group? else {
        return Ok(None);
    };
    let mut ingress = ingress?;
    ingress.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(Some((
        GroupState {
            group_id: group_id.to_string(),
            group_name,
            ingress,
        },
        tags,
    )))
}

/// The group's name and tags; `None` when it does not exist.
async fn describe_group(
    ec2: &aws_sdk_ec2::Client,
    group_id: &str,
) -> Result<Option<(Option<String>, BTreeMap<String, String>)>, Error> {
    let groups = match ec2.describe_security_groups().group_ids(group_id).send().await {
        Ok(out) => out,
        Err(e) => {
            let err = Error::from_sdk(DESCRIBE_SECURITY_GROUPS, e);
            return match err.aws_code() {
                Some("InvalidGroup.NotFound") | Some("InvalidGroupId.NotFound") => Ok(None),
                _ => Err(err),
            };
        }
    };
    let Some(group) = groups.security_groups().iter().find(|g| g.group_id() == Some(group_id)) else {
        return Ok(None);
    };
    let tags = kit::ec2_tags(group.tags());
    Ok(Some((group.group_name().map(str::to_string), tags)))
}

/// The group's ingress rules, every page (also the CLI's reader of a group).
pub async fn ingress_rules(ec2: &aws_sdk_ec2::Client, group_id: &str) -> Result<Vec<IngressRule>, Error> {
    let mut ingress = Vec::new();
    let mut pages = ec2
        .describe_security_group_rules()
        .filters(Filter::builder().name("group-id").values(group_id).build())
        .max_results(1000)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| Error::from_sdk(DESCRIBE_SECURITY_GROUP_RULES, e))?;
        ingress.extend(
            page.security_group_rules()
                .iter()
                .filter(|r| r.is_egress() == Some(false) && r.group_id() == Some(group_id))
                .map(from_sdk_rule),
        );
    }
    Ok(ingress)
}

fn to_permission(rule: &IngressRule) -> IpPermission {
    let mut p = IpPermission::builder()
        .ip_protocol(&rule.protocol)
        .from_port(rule.from_port)
        .to_port(rule.to_port);
    if let Some(cidr) = &rule.cidr_ipv4 {
        p = p.ip_ranges(
            IpRange::builder()
                .cidr_ip(cidr)
                .set_description(rule.description.clone())
                .build(),
        );
    }
    if let Some(cidr) = &rule.cidr_ipv6 {
        p = p.ipv6_ranges(
            Ipv6Range::builder()
                .cidr_ipv6(cidr)
                .set_description(rule.description.clone())
                .build(),
        );
    }
    p.build()
}

/// Applies the plan's changes: the adds first, then the revokes, so the group never loses, even
/// for a moment, access the plan keeps. Safe to re-run after a partial failure: a rule already
/// added or already revoked counts as done. The revokes go out as one
/// call naming every rule id (EC2 takes them all or none); when one of them is already gone (a
/// retry after a partial apply), each is revoked on its own.
pub async fn apply(ec2: &aws_sdk_ec2::Client, group_id: &str, changes: &[Change]) -> Result<Vec<String>, Error> {
    let mut done: Vec<String> = Vec::new();
    let failed = |done: &[String], what: String, e: Error| -> Error {
        if done.is_empty() || e.is_retryable() {
            e
        } else {
            Error::PartiallyApplied(format!(
                "done: [{}]; failed: {what} ({e}); the group keeps all previous access, re-run to finish",
                done.join("; ")
            ))
        }
    };
    // The revokes, each as (what it does, its rule id), sent after the adds.
    let mut revokes: Vec<(String, Option<&str>)> = Vec::new();
    for change in changes {
        match change {
            Change::AuthorizeIngress { rule } => {
                authorize(ec2, group_id, rule)
                    .await
                    .map_err(|e| failed(&done, change.describe(), e))?;
                done.push(change.describe());
            }
            Change::RevokeIngress { rule } => revokes.push((change.describe(), rule.id.as_deref())),
        }
    }
    let ids = revokes
        .iter()
        .map(|(_, id)| id.ok_or_else(|| Error::InvalidInput("a revoke without a rule id".into())))
        .collect::<Result<Vec<&str>, Error>>()?;
    let described = revokes.into_iter().map(|(what, _)| what);
    if ids.len() > 1 {
        match revoke(ec2, group_id, &ids).await {
            Ok(()) => {
                done.extend(described);
                return Ok(done);
            }
            Err(e) if is_not_found(&e) => {} // one is gone already: one by one below
            Err(e) => return Err(failed(&done, described.collect::<Vec<_>>().join("; "), e)),
        }
    }
    for (what, id) in described.zip(&ids) {
        match revoke(ec2, group_id, &[id]).await {
            Ok(()) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(failed(&done, what, e)),
        }
        done.push(what);
    }
    Ok(done)
}

async fn authorize(ec2: &aws_sdk_ec2::Client, group_id: &str, rule: &IngressRule) -> Result<(), Error> {
    match ec2
        .authorize_security_group_ingress()
        .group_id(group_id)
        .ip_permissions(to_permission(rule))
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) => match Error::from_sdk(AUTHORIZE_INGRESS, e) {
            e if e.aws_code() == Some("InvalidPermission.Duplicate") => Ok(()),
            e => Err(e),
        },
    }
}

/// Revokes the rules `ids` in one call.
async fn revoke(ec2: &aws_sdk_ec2::Client, group_id: &str, ids: &[&str]) -> Result<(), Error> {
    let out = ec2
        .revoke_security_group_ingress()
        .group_id(group_id)
        .set_security_group_rule_ids(Some(ids.iter().map(|id| id.to_string()).collect()))
        .send()
        .await
        .map_err(|e| Error::from_sdk(REVOKE_INGRESS, e))?;
    if out.r#return() == Some(false) || !out.unknown_ip_permissions().is_empty() {
        return Err(Error::Aws {
            operation: REVOKE_INGRESS,
            code: "NotRevoked".into(),
            message: format!("EC2 did not revoke {}", ids.join(", ")),
        });
    }
    Ok(())
}

fn is_not_found(e: &Error) -> bool {
    matches!(
        e.aws_code(),
        Some("InvalidPermission.NotFound") | Some("InvalidSecurityGroupRuleId.NotFound")
    )
}

#[cfg(test)]
mod tests;

/// Narrowing holds for any group: applying a plan never opens anything, always closes the port to
/// the world, and keeps every other access except what the plan says it cannot keep.
#[cfg(test)]
mod properties;
