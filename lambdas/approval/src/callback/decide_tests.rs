//! The decision against in-memory fakes of its ports: a table of records and batches with the
//! real store's conditional writes, a fixed clock, scripted live states and resumes.

use std::collections::HashMap;
use std::sync::Mutex;

use ar_core::config::{KeyRing, SigningKey};
use ar_core::Error;
use serde_json::{json, Value};

use super::*;
use crate::callback::parse::Link;
use crate::status::BatchStatus;

const NOW: u64 = 1_800_000_000;
const BATCH: &str = "0123456789abcdef0123456789abcdef";
const ALICE: &str = "alice@example.com";
const BOB: &str = "bob@example.com";

/// The approvals table: records and batches, with `decide`/`undecide`/`expire` conditional the
/// way DynamoDB's are. `race` is a decision another approver makes just before this request's
/// first conditional write (a double click, or two approvers at once).
#[derive(Default)]
struct FakeStore {
    records: Mutex<HashMap<String, ApprovalRecord>>,
    batches: HashMap<String, Batch>,
    race: Mutex<Option<(ApprovalStatus, String)>>,
    calls: Mutex<Vec<String>>,
}

impl FakeStore {
    fn record(&self, id: &str) -> ApprovalRecord {
        self.records.lock().unwrap()[id].clone()
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    fn call(&self, what: String) {
        self.calls.lock().unwrap().push(what);
    }
}

impl Store for FakeStore {
    async fn batch(&self, batch_id: &str) -> Result<Option<Batch>, Error> {
        self.call(format!("batch {batch_id}"));
        Ok(self.batches.get(batch_id).cloned())
    }

    async fn members(&self, batch: &Batch) -> Result<Vec<ApprovalRecord>, Error> {
        self.call("members".into());
        let records = self.records.lock().unwrap();
        let mut out: Vec<ApprovalRecord> = batch.members.iter().filter_map(|id| records.get(id).cloned()).collect();
        out.sort_by(|a, b| a.finding.rule_id.cmp(&b.finding.rule_id));
        Ok(out)
    }

    async fn get(&self, approval_id: &str) -> Result<Option<ApprovalRecord>, Error> {
        self.call(format!("get {approval_id}"));
        Ok(self.records.lock().unwrap().get(approval_id).cloned())
    }

    async fn decide(
        &self,
        approval_id: &str,
        status: ApprovalStatus,
        approver: &str,
        at: &str,
        now: u64,
        _removes: &[String],
    ) -> Result<bool, Error> {
        self.call(format!("decide {approval_id} {status}"));
        let mut records = self.records.lock().unwrap();
        if let Some((status, by)) = self.race.lock().unwrap().take() {
            for r in records.values_mut() {
                r.status = status;
                r.decided_by = Some(by.clone());
                r.decided_at = Some("2027-01-15T08:00:00Z".into());
            }
        }
        let r = records.get_mut(approval_id).unwrap();
        if r.status != ApprovalStatus::Pending || r.deadline <= now {
            return Ok(false);
        }
        r.status = status;
        r.decided_by = Some(approver.into());
        r.decided_at = Some(at.into());
        Ok(true)
    }

    async fn undecide(&self, approval_id: &str, status: ApprovalStatus, approver: &str) -> Result<(), Error> {
        self.call(format!("undecide {approval_id} {status}"));
        let mut records = self.records.lock().unwrap();
        let r = records.get_mut(approval_id).unwrap();
        if r.status == status && r.decided_by.as_deref() == Some(approver) {
            r.status = ApprovalStatus::Pending;
            r.decided_by = None;
            r.decided_at = None;
        }
        Ok(())
    }

    async fn expire(&self, approval_id: &str) -> Result<(), Error> {
        self.call(format!("expire {approval_id}"));
        let mut records = self.records.lock().unwrap();
        let r = records.get_mut(approval_id).unwrap();
        if r.status == ApprovalStatus::Pending {
            r.status = ApprovalStatus::Expired;
        }
        Ok(())
    }
}

struct FixedClock(u64);

impl Clock for FixedClock {
    fn now(&self) -> u64 {
        self.0
    }
}

/// Live states by rule id (failing unless scripted), and which records were inspected.
#[derive(Default)]
struct FakeInspect {
    states: HashMap<String, Live>,
    inspected: Mutex<Vec<String>>,
}

impl Inspect for FakeInspect {
    async fn inspect(&self, record: &ApprovalRecord) -> Result<Live, Error> {
        self.inspected.lock().unwrap().push(record.approval_id.clone());
        Ok(self
            .states
            .get(&record.finding.rule_id)
            .copied()
            .unwrap_or(Live::Failing))
    }
}

/// What each resume gets: by token, succeeded unless scripted otherwise.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Resumed {
    Succeeds,
    NoLongerWaiting,
    Throttled,
}

#[derive(Default)]
struct FakeResume {
    script: HashMap<String, Resumed>,
    sent: Mutex<Vec<(String, Value)>>,
}

impl FakeResume {
    fn sent(&self) -> Vec<(String, Value)> {
        self.sent.lock().unwrap().clone()
    }
}

impl Resume for FakeResume {
    async fn resume(&self, token: &str, output: &Value) -> Result<(), NotResumed> {
        let error = |code: &str| Error::Aws {
            operation: "states:SendTaskSuccess",
            code: code.into(),
            message: "scripted".into(),
        };
        match self.script.get(token).copied().unwrap_or(Resumed::Succeeds) {
            Resumed::Succeeds => {
                self.sent.lock().unwrap().push((token.to_string(), output.clone()));
                Ok(())
            }
            Resumed::NoLongerWaiting => Err(NotResumed::NoLongerWaiting),
            Resumed::Throttled => Err(NotResumed::Failed(error("ThrottlingException"))),
        }
    }
}

fn key() -> SigningKey {
    SigningKey::new(vec![7u8; 32]).unwrap()
}

fn record(n: u8, rule_id: &str) -> ApprovalRecord {
    let finding = json!({
        "source": "conformity", "check_id": format!("ccc:{rule_id}"), "rule_id": rule_id,
        "service": "EC2", "status": "FAILURE", "account_id": "123456789012", "region": "us-east-1",
        "reported_region": "us-east-1", "resource": "sg-0123",
    });
    let plan = json!({
        "rule_id": rule_id, "resource": "sg-0123", "region": "us-east-1",
        "summary": "revoke 1 rule", "changes": [], "steps": ["revoke tcp 22 from 0.0.0.0/0"],
    });
    ApprovalRecord {
        approval_id: format!("record-{n}"),
        token: format!("token-{n}"),
        execution_arn: format!("arn:aws:states:us-east-1:123456789012:execution:sm:run-{n}"),
        finding: serde_json::from_value(finding).unwrap(),
        plan: serde_json::from_value(plan).unwrap(),
        rule_title: "Unrestricted SSH Access".into(),
        offending: vec!["tcp 22 from 0.0.0.0/0".into()],
        approvers: vec![ALICE.into(), BOB.into()],
        deadline: NOW + 3600,
        status: ApprovalStatus::Pending,
        decided_by: None,
        decided_at: None,
    }
}

/// A sent batch of `records` on one resource.
fn store_of(records: Vec<ApprovalRecord>) -> FakeStore {
    let batch = Batch {
        batch_id: BATCH.into(),
        members: records.iter().map(|r| r.approval_id.clone()).collect(),
        status: BatchStatus::Sent,
        closes_at: NOW - 600,
        deadline: Some(NOW + 3600),
        combined: Some(Combined {
            summary: "revoke 1 rule".into(),
            removes: vec!["tcp 22 from 0.0.0.0/0".into()],
            ..Combined::default()
        }),
    };
    FakeStore {
        records: Mutex::new(records.into_iter().map(|r| (r.approval_id.clone(), r)).collect()),
        batches: HashMap::from([(BATCH.to_string(), batch)]),
        ..FakeStore::default()
    }
}

/// A request carrying a link signed for `approver` and `action`, as the e-mail sends it.
fn request(intent: Intent, approver: &str, action: Action) -> CallbackRequest {
    let claims = LinkClaims {
        approval_id: BATCH.into(),
        approver: approver.into(),
        action,
        expires: NOW + 3600,
    };
    CallbackRequest {
        approval_id: BATCH.into(),
        intent,
        link: Link {
            approver: approver.into(),
            action,
            expires: claims.expires,
            kid: key().kid().into(),
            sig: claims.sign(&key()),
        },
    }
}

fn approve(approver: &str) -> CallbackRequest {
    request(Intent::Decide, approver, Action::Approve)
}

struct World {
    store: FakeStore,
    clock: FixedClock,
    inspect: FakeInspect,
    resume: FakeResume,
    keys: KeyRing,
    approvers: Vec<String>,
}

impl World {
    fn new(store: FakeStore) -> World {
        World {
            store,
            clock: FixedClock(NOW),
            inspect: FakeInspect::default(),
            resume: FakeResume::default(),
            keys: KeyRing::new(key(), []),
            approvers: vec![ALICE.into(), BOB.into()],
        }
    }

    fn run(&self, req: &CallbackRequest) -> Result<Outcome, Error> {
        let ports = Ports {
            store: &self.store,
            clock: &self.clock,
            inspect: &self.inspect,
            resume: &self.resume,
        };
        let policy = Policy {
            keys: &self.keys,
            approvers: &self.approvers,
        };
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(decide(&ports, &policy, req))
    }

    /// Whether the request changed nothing: no write to the store, no execution resumed.
    fn changed_nothing(&self) -> bool {
        self.store
            .calls()
            .iter()
            .all(|c| c.starts_with("batch") || c.starts_with("members") || c.starts_with("get"))
            && self.resume.sent().is_empty()
    }
}

#[test]
fn a_get_shows_the_findings_and_the_buttons_and_changes_nothing() {
    let world = World::new(store_of(vec![record(1, "EC2-002")]));
    let outcome = world.run(&request(Intent::Show, ALICE, Action::Approve)).unwrap();
    let Outcome::Confirm { claims, view } = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!((claims.approver.as_str(), claims.action), (ALICE, Action::Approve));
    assert_eq!(view.records.len(), 1);
    assert_eq!(view.deadline, NOW + 3600);
    assert!(world.changed_nothing(), "{:?}", world.store.calls());
    assert!(
        world.inspect.inspected.lock().unwrap().is_empty(),
        "a GET reads no live state"
    );
    assert_eq!(world.store.record("record-1").status, ApprovalStatus::Pending);
}

#[test]
fn an_approval_of_a_failing_resource_is_recorded_before_the_execution_is_resumed_with_it() {
    let world = World::new(store_of(vec![record(1, "EC2-002")]));
    let outcome = world.run(&approve(ALICE)).unwrap();
    let Outcome::Decided {
        approver,
        decided_at,
        decisions,
        executions,
        ..
    } = outcome
    else {
        panic!("{outcome:?}")
    };
    assert_eq!(approver, ALICE);
    assert_eq!(decided_at, crate::rfc3339(NOW));
    assert_eq!(decisions, [ApprovalStatus::Approved]);
    assert_eq!(executions, ["arn:aws:states:us-east-1:123456789012:execution:sm:run-1"]);
    let r = world.store.record("record-1");
    assert_eq!(r.status, ApprovalStatus::Approved);
    assert_eq!(r.decided_by.as_deref(), Some(ALICE));
    assert_eq!(
        world.resume.sent(),
        [(
            "token-1".to_string(),
            json!({
                "decision": "approved",
                "approver": ALICE,
                "decided_at": crate::rfc3339(NOW),
                "approval_id": "record-1",
                "batch_id": BATCH,
                "approved_removes": ["tcp 22 from 0.0.0.0/0"],
            })
        )]
    );
    assert_eq!(
        world.store.calls(),
        [
            format!("batch {BATCH}"),
            "members".into(),
            "decide record-1 approved".into()
        ]
    );
}

#[test]
fn a_rejection_resumes_with_rejected_and_reads_no_live_state() {
    let world = World::new(store_of(vec![record(1, "EC2-002")]));
    let outcome = world.run(&request(Intent::Decide, BOB, Action::Reject)).unwrap();
    let Outcome::Decided { decisions, .. } = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(decisions, [ApprovalStatus::Rejected]);
    assert!(world.inspect.inspected.lock().unwrap().is_empty());
    assert_eq!(world.store.record("record-1").status, ApprovalStatus::Rejected);
    assert_eq!(world.resume.sent()[0].1["decision"], "rejected");
}

#[test]
fn an_approval_of_a_resource_that_passes_already_or_is_gone_says_so_to_the_execution() {
    for (live, status) in [
        (Live::Compliant, ApprovalStatus::AlreadyCompliant),
        (Live::Gone, ApprovalStatus::ResourceGone),
    ] {
        let mut world = World::new(store_of(vec![record(1, "EC2-002")]));
        world.inspect.states.insert("EC2-002".into(), live);
        let Outcome::Decided { decisions, .. } = world.run(&approve(ALICE)).unwrap() else {
            panic!("{live:?}")
        };
        assert_eq!(decisions, [status]);
        assert_eq!(world.store.record("record-1").status, status);
        assert_eq!(world.resume.sent()[0].1["decision"], status.as_str());
    }
}

#[test]
fn a_tampered_link_is_refused_before_anything_is_read() {
    let world = World::new(store_of(vec![record(1, "EC2-002")]));
    let mut tampered = [
        approve(ALICE),
        approve(ALICE),
        approve(ALICE),
        approve(ALICE),
        approve(ALICE),
    ];
    tampered[0].link.approver = "eve@example.com".into();
    tampered[1].link.action = Action::Reject;
    tampered[2].link.expires += 86400;
    tampered[3].link.kid = "another-key".into();
    tampered[4].approval_id = "fedcba9876543210fedcba9876543210".into();
    for req in tampered {
        assert!(matches!(world.run(&req), Ok(Outcome::InvalidSignature)), "{req:?}");
    }
    assert!(world.store.calls().is_empty());
    assert!(world.resume.sent().is_empty());
}

#[test]
fn a_link_signed_with_the_previous_key_still_decides_after_a_rotation() {
    let mut world = World::new(store_of(vec![record(1, "EC2-002")]));
    world.keys = KeyRing::new(SigningKey::new(vec![9u8; 32]).unwrap(), [key()]);
    assert!(matches!(world.run(&approve(ALICE)), Ok(Outcome::Decided { .. })));
}

#[test]
fn a_link_past_its_expiry_is_refused_and_changes_nothing() {
    let mut world = World::new(store_of(vec![record(1, "EC2-002")]));
    world.clock = FixedClock(NOW + 3600);
    let outcome = world.run(&approve(ALICE)).unwrap();
    assert!(
        matches!(outcome, Outcome::LinkExpired { expires } if expires == NOW + 3600),
        "{outcome:?}"
    );
    assert!(world.store.calls().is_empty());
}

#[test]
fn an_approval_that_is_unknown_or_whose_email_is_not_sent_yet_is_unknown() {
    let mut world = World::new(store_of(vec![record(1, "EC2-002")]));
    world.store.batches.clear();
    assert!(matches!(world.run(&approve(ALICE)), Ok(Outcome::UnknownApproval)));
    for status in [BatchStatus::Open, BatchStatus::Closed] {
        let mut world = World::new(store_of(vec![record(1, "EC2-002")]));
        world.store.batches.get_mut(BATCH).unwrap().status = status;
        assert!(
            matches!(world.run(&approve(ALICE)), Ok(Outcome::UnknownApproval)),
            "{status}"
        );
        assert!(world.changed_nothing());
    }
    let mut sending = World::new(store_of(vec![record(1, "EC2-002")]));
    sending.store.batches.get_mut(BATCH).unwrap().status = BatchStatus::Sending;
    assert!(matches!(sending.run(&approve(ALICE)), Ok(Outcome::Decided { .. })));
}

#[test]
fn an_approval_whose_records_are_all_gone_has_no_findings_left() {
    let world = World::new(store_of(vec![record(1, "EC2-002")]));
    world.store.records.lock().unwrap().clear();
    assert!(matches!(world.run(&approve(ALICE)), Ok(Outcome::NoFindingsLeft)));
}

#[test]
fn an_address_that_is_not_an_approver_of_this_fix_decides_nothing() {
    let mut world = World::new(store_of(vec![record(1, "EC2-002")]));
    world.approvers.push("carol@example.com".into());
    let outcome = world.run(&approve("carol@example.com")).unwrap();
    assert!(matches!(outcome, Outcome::NotAnApprover), "{outcome:?}");
    assert!(world.changed_nothing());
}

#[test]
fn an_address_no_longer_configured_as_an_approver_decides_nothing() {
    let mut world = World::new(store_of(vec![record(1, "EC2-002")]));
    world.approvers = vec![ALICE.into()];
    let outcome = world.run(&approve(BOB)).unwrap();
    assert!(matches!(outcome, Outcome::NoLongerAnApprover), "{outcome:?}");
    assert!(world.changed_nothing());
    assert_eq!(world.store.record("record-1").status, ApprovalStatus::Pending);
}

fn decided(mut r: ApprovalRecord, status: ApprovalStatus, by: Option<&str>) -> ApprovalRecord {
    r.status = status;
    r.decided_by = by.map(String::from);
    r.decided_at = by.map(|_| "2027-01-15T08:00:00Z".to_string());
    r
}

#[test]
fn an_approval_decided_earlier_names_the_decider_only_to_that_approver() {
    let cases = [(ALICE, DecidedBy::You), (BOB, DecidedBy::AnotherApprover)];
    for (reader, by) in cases {
        let world = World::new(store_of(vec![decided(
            record(1, "EC2-002"),
            ApprovalStatus::Rejected,
            Some(ALICE),
        )]));
        let outcome = world.run(&approve(reader)).unwrap();
        let Outcome::AlreadyDecided { status, by: got, at } = outcome else {
            panic!("{outcome:?}")
        };
        assert_eq!(
            (status, got, at.as_deref()),
            (ApprovalStatus::Rejected, by, Some("2027-01-15T08:00:00Z"))
        );
        assert!(world.changed_nothing());
    }
    let world = World::new(store_of(vec![decided(
        record(1, "EC2-002"),
        ApprovalStatus::Expired,
        None,
    )]));
    let outcome = world.run(&request(Intent::Show, ALICE, Action::Approve)).unwrap();
    assert!(
        matches!(
            outcome,
            Outcome::AlreadyDecided {
                status: ApprovalStatus::Expired,
                by: DecidedBy::Unknown,
                at: None
            }
        ),
        "{outcome:?}"
    );
}

#[test]
fn past_the_deadline_every_pending_finding_is_marked_expired_and_nothing_is_resumed() {
    let mut world = World::new(store_of(vec![record(1, "EC2-002"), record(2, "EC2-003")]));
    world.clock = FixedClock(NOW + 3000);
    world.store.batches.get_mut(BATCH).unwrap().deadline = Some(NOW + 3000);
    let outcome = world.run(&approve(ALICE)).unwrap();
    assert!(matches!(outcome, Outcome::ApprovalExpired), "{outcome:?}");
    assert_eq!(world.store.record("record-1").status, ApprovalStatus::Expired);
    assert_eq!(world.store.record("record-2").status, ApprovalStatus::Expired);
    assert!(world.resume.sent().is_empty());
}

#[test]
fn without_a_batch_deadline_the_first_findings_deadline_counts() {
    let mut world = World::new(store_of(vec![record(1, "EC2-002")]));
    world.store.batches.get_mut(BATCH).unwrap().deadline = None;
    world
        .store
        .records
        .lock()
        .unwrap()
        .get_mut("record-1")
        .unwrap()
        .deadline = NOW;
    assert!(matches!(world.run(&approve(ALICE)), Ok(Outcome::ApprovalExpired)));
}

#[test]
fn a_double_click_decides_once_and_the_second_click_is_told_it_was_decided_by_you() {
    let world = World::new(store_of(vec![record(1, "EC2-002")]));
    assert!(matches!(world.run(&approve(ALICE)), Ok(Outcome::Decided { .. })));
    let second = world.run(&approve(ALICE)).unwrap();
    assert!(
        matches!(
            second,
            Outcome::AlreadyDecided {
                status: ApprovalStatus::Approved,
                by: DecidedBy::You,
                ..
            }
        ),
        "{second:?}"
    );
    assert_eq!(world.resume.sent().len(), 1, "resumed once");
}

#[test]
fn two_requests_racing_to_decide_resume_the_execution_only_for_the_first_write() {
    // Both read the record pending; the other approver's conditional write lands first.
    let world = World::new(store_of(vec![record(1, "EC2-002")]));
    *world.store.race.lock().unwrap() = Some((ApprovalStatus::Rejected, BOB.into()));
    let outcome = world.run(&approve(ALICE)).unwrap();
    assert!(
        matches!(
            outcome,
            Outcome::AlreadyDecided {
                status: ApprovalStatus::Rejected,
                by: DecidedBy::AnotherApprover,
                ..
            }
        ),
        "{outcome:?}"
    );
    assert!(world.resume.sent().is_empty(), "the loser resumes nothing");
    assert_eq!(world.store.record("record-1").decided_by.as_deref(), Some(BOB));
}

#[test]
fn an_execution_no_longer_waiting_gets_its_decision_taken_back_and_the_finding_expired() {
    let mut world = World::new(store_of(vec![record(1, "EC2-002")]));
    world.resume.script.insert("token-1".into(), Resumed::NoLongerWaiting);
    let outcome = world.run(&approve(ALICE)).unwrap();
    assert!(matches!(outcome, Outcome::NoLongerWaiting), "{outcome:?}");
    let r = world.store.record("record-1");
    assert_eq!((r.status, r.decided_by), (ApprovalStatus::Expired, None));
    assert_eq!(
        world.store.calls()[2..],
        [
            "decide record-1 approved".to_string(),
            "undecide record-1 approved".into(),
            "expire record-1".into(),
            "get record-1".into(),
        ]
    );
}

#[test]
fn a_resume_that_fails_takes_the_decision_back_so_the_same_link_can_be_retried() {
    let mut world = World::new(store_of(vec![record(1, "EC2-002")]));
    world.resume.script.insert("token-1".into(), Resumed::Throttled);
    let err = world.run(&approve(ALICE)).unwrap_err();
    assert_eq!(err.aws_code(), Some("ThrottlingException"));
    let r = world.store.record("record-1");
    assert_eq!((r.status, r.decided_by), (ApprovalStatus::Pending, None));
    world.resume.script.clear();
    assert!(
        matches!(world.run(&approve(ALICE)), Ok(Outcome::Decided { .. })),
        "retried"
    );
    assert_eq!(world.store.record("record-1").status, ApprovalStatus::Approved);
}

#[test]
fn a_batch_decides_each_pending_finding_on_its_own_live_state_and_skips_the_decided_ones() {
    let mut world = World::new(store_of(vec![
        record(1, "EC2-002"),
        record(2, "EC2-003"),
        decided(record(3, "EC2-001"), ApprovalStatus::Expired, None),
    ]));
    world.inspect.states.insert("EC2-003".into(), Live::Compliant);
    let outcome = world.run(&approve(BOB)).unwrap();
    let Outcome::Decided {
        decisions,
        executions,
        view,
        ..
    } = outcome
    else {
        panic!("{outcome:?}")
    };
    assert_eq!(decisions, [ApprovalStatus::Approved, ApprovalStatus::AlreadyCompliant]);
    assert_eq!(executions.len(), 3, "every execution of the batch is named");
    assert_eq!(view.records.len(), 3);
    assert_eq!(*world.inspect.inspected.lock().unwrap(), ["record-1", "record-2"]);
    let tokens: Vec<String> = world.resume.sent().into_iter().map(|(t, _)| t).collect();
    assert_eq!(tokens, ["token-1", "token-2"]);
    assert_eq!(world.store.record("record-3").status, ApprovalStatus::Expired);
}

#[test]
fn one_resume_failing_in_a_batch_keeps_the_others_decided_and_fails_the_request() {
    let mut world = World::new(store_of(vec![record(1, "EC2-002"), record(2, "EC2-003")]));
    world.resume.script.insert("token-1".into(), Resumed::Throttled);
    assert!(world.run(&approve(ALICE)).is_err());
    assert_eq!(world.store.record("record-1").status, ApprovalStatus::Pending);
    assert_eq!(world.store.record("record-2").status, ApprovalStatus::Approved);
    world.resume.script.clear();
    let Outcome::Decided { decisions, .. } = world.run(&approve(ALICE)).unwrap() else {
        panic!("the retry decides the one left")
    };
    assert_eq!(decisions, [ApprovalStatus::Approved]);
}
