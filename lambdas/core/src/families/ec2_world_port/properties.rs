//! Narrowing holds for any group: applying a plan never opens anything, always closes the port to
//! the world, and keeps every other access except what the plan says it cannot keep.

use super::*;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

/// The 11 ports of the EC2 world-port rules.
const PORTS: [u16; 11] = [22, 3389, 1521, 3306, 5432, 1433, 23, 25, 135, 445, 27017];
const V4: [&str; 5] = ["0.0.0.0/0", "1.2.3.4/0", "10.0.0.0/8", "192.168.1.0/24", "0.0.0.0/1"];
const V6: [&str; 5] = ["::/0", "0::/0", "0:0:0:0:0:0:0:0/0", "2001:db8::/32", "::/1"];
/// The sources above that are the whole internet (the oracle, independent of the code).
const WORLD: [&str; 5] = ["0.0.0.0/0", "1.2.3.4/0", "::/0", "0::/0", "0:0:0:0:0:0:0:0/0"];

/// What a packet is, for [`allows`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Probe {
    Tcp(i32),
    Udp(i32),
    /// An ICMP (or ICMPv6, by the source's family) type.
    Icmp(i32),
    /// Another IP protocol (GRE is 47).
    Other(u8),
}

fn source(r: &IngressRule) -> Option<&str> {
    r.cidr_ipv4.as_deref().or(r.cidr_ipv6.as_deref())
}

/// Whether `r` lets `probe` in from `from` (a CIDR, compared as the rule's own source).
fn rule_allows(r: &IngressRule, probe: Probe, from: &str) -> bool {
    if source(r) != Some(from) {
        return false;
    }
    let in_range = |p: i32| r.from_port <= p && p <= r.to_port;
    let v6 = r.cidr_ipv6.is_some();
    match (r.protocol.to_ascii_lowercase().as_str(), probe) {
        ("-1", _) => true,
        ("tcp" | "6", Probe::Tcp(p)) | ("udp" | "17", Probe::Udp(p)) => in_range(p),
        ("icmp" | "1", Probe::Icmp(t)) if !v6 => r.from_port == -1 || r.from_port == t,
        ("icmpv6" | "58", Probe::Icmp(t)) if v6 => r.from_port == -1 || r.from_port == t,
        _ => false,
    }
}

fn allows(rules: &[IngressRule], probe: Probe, from: &str) -> bool {
    rules.iter().any(|r| rule_allows(r, probe, from))
}

/// The group after the plan: revoked rules (by id) gone, added rules there.
fn apply(before: &[IngressRule], plan: &Plan<Change>) -> Vec<IngressRule> {
    let mut after = before.to_vec();
    for change in &plan.changes {
        match change {
            Change::AuthorizeIngress { rule } => after.push(rule.clone()),
            Change::RevokeIngress { rule } => after.retain(|r| r.id != rule.id),
        }
    }
    after
}

/// Every probe that can tell two rule sets apart: each range boundary, either side of it, the
/// rule ports, a few ICMP types and another protocol.
fn probes(rules: &[IngressRule]) -> Vec<Probe> {
    let mut ports: Vec<i32> = vec![0, 65535];
    for p in PORTS {
        ports.extend([i32::from(p) - 1, i32::from(p), i32::from(p) + 1]);
    }
    for r in rules {
        ports.extend([
            r.from_port - 1,
            r.from_port,
            r.from_port + 1,
            r.to_port - 1,
            r.to_port,
            r.to_port + 1,
        ]);
    }
    ports.retain(|p| (0..=65535).contains(p));
    ports.sort_unstable();
    ports.dedup();
    let mut out: Vec<Probe> = ports.iter().flat_map(|&p| [Probe::Tcp(p), Probe::Udp(p)]).collect();
    out.extend([Probe::Icmp(0), Probe::Icmp(3), Probe::Icmp(8), Probe::Other(47)]);
    out
}

fn bound() -> impl Strategy<Value = i32> {
    let mut interesting = vec![0, 1, 1024, 65534, 65535];
    for p in PORTS {
        interesting.extend([i32::from(p) - 1, i32::from(p), i32::from(p) + 1]);
    }
    prop_oneof![3 => select(interesting), 1 => 0..=65535i32]
}

fn rule() -> impl Strategy<Value = IngressRule> {
    let range = || (bound(), bound()).prop_map(|(a, b)| (a.min(b), a.max(b)));
    let ports = prop_oneof![
        4 => (select(vec!["tcp", "6"]), range()).prop_map(|(p, (a, b))| (p, a, b)),
        2 => (select(vec!["udp", "17"]), range()).prop_map(|(p, (a, b))| (p, a, b)),
        2 => Just(("-1", -1, -1)),
        1 => select(vec![(-1, -1), (8, -1), (3, 4)]).prop_map(|(t, c)| ("icmp", t, c)),
    ];
    let source = prop_oneof![
        select(V4.to_vec()).prop_map(|c| (c, false)),
        select(V6.to_vec()).prop_map(|c| (c, true))
    ];
    (ports, source, proptest::option::of("[a-z ]{0,12}")).prop_map(|((protocol, from, to), (cidr, v6), description)| {
        IngressRule {
            id: None,
            protocol: if v6 && protocol == "icmp" { "icmpv6" } else { protocol }.to_string(),
            from_port: from,
            to_port: to,
            cidr_ipv4: (!v6).then(|| cidr.to_string()),
            cidr_ipv6: v6.then(|| cidr.to_string()),
            prefix_list_id: None,
            referenced_group_id: None,
            description,
        }
    })
}

fn group() -> impl Strategy<Value = GroupState> {
    vec(rule(), 0..8).prop_map(|rules| GroupState {
        group_id: "sg-12345678".into(),
        group_name: None,
        ingress: rules
            .into_iter()
            .enumerate()
            .map(|(i, r)| IngressRule {
                id: Some(format!("sgr-{i}")),
                ..r
            })
            .collect(),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_plan_closes_the_port_to_the_world_opens_nothing_and_keeps_the_rest(
        state in group(),
        port in select(PORTS.to_vec()),
    ) {
        let params = WorldPortParams { port, protocol: "tcp".into(), name: "port".into() };
        let plan = plan(&state, &params, "EC2-002", "us-east-1");
        let before = &state.ingress;
        let after = apply(before, &plan);
        let mut sources: Vec<&str> = V4.iter().chain(&V6).copied().collect();
        sources.extend(before.iter().chain(&after).filter_map(source));
        sources.sort_unstable();
        sources.dedup();
        let port = i32::from(port);
        for probe in probes(&[before.as_slice(), &after].concat()) {
            for &from in &sources {
                let (was, is) = (allows(before, probe, from), allows(&after, probe, from));
                prop_assert!(!is || was, "{probe:?} from {from} opened by {:?}", plan.changes);
                if probe == Probe::Tcp(port) {
                    prop_assert!(!is || !WORLD.contains(&from), "tcp {port} still open to {from}: {after:?}");
                } else if was && !is {
                    prop_assert!(
                        matches!(probe, Probe::Other(_)) && plan.cannot_keep.iter().any(|c| c.contains(&format!("from {from}:"))),
                        "{probe:?} from {from} closed, and not listed in cannot_keep {:?}; changes {:?}",
                        plan.cannot_keep,
                        plan.changes
                    );
                }
            }
        }
        let healed = GroupState { ingress: after, ..state.clone() };
        prop_assert!(offending(&healed, &params).is_empty());
    }
}
