//! Helpers for the integration tests: find the running local stack, build clients for it, publish
//! Conformity messages and wait for their executions.
//!
//! The stack is the real one (`local/stack.sh up`, started by `make test`); its location comes
//! from `STACK_DIR` (default `.local`). Tests create uniquely named resources so they run in parallel.

pub mod webdriver;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ar_core::catalog::Catalog;
use ar_core::finding::Finding;
use ar_core::intake::{conformity, Intake, IntakeCtx};
use serde::Deserialize;
use serde_json::{json, Value};

pub use ar_core::local::StackInfo;

pub struct Stack {
    pub info: StackInfo,
    /// The outcome inboxes of the executions this test started through [`Stack::publish_for_execution`]:
    /// [`Stack::wait`] checks each execution's notification against how it ended.
    inboxes: std::sync::Mutex<std::collections::HashMap<String, OutcomeInbox>>,
    /// The stack's SDK configuration, for any other client: `aws_sdk_rds::Client::new(&stack.sdk)`.
    pub sdk: aws_config::SdkConfig,
    pub s3: aws_sdk_s3::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub sns: aws_sdk_sns::Client,
    pub sfn: aws_sdk_sfn::Client,
    /// The stack's own config (its `accounts` map Conformity ids, as the trigger reads them).
    pub config: ar_core::config::Config,
}

/// The directory of one of the test run's other stacks, `<STACK_DIR>-<name>`.
pub fn named_stack_dir(name: &str) -> PathBuf {
    let base = stack_dir();
    base.with_file_name(format!(
        "{}-{name}",
        base.file_name().and_then(|f| f.to_str()).unwrap_or("test")
    ))
}

pub fn stack_dir() -> PathBuf {
    let dir = std::env::var("STACK_DIR").unwrap_or_else(|_| ".local".into());
    let p = PathBuf::from(&dir);
    if p.is_absolute() {
        p
    } else {
        // cargo runs tests from the package directory; the stack dir is relative to the workspace.
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(p)
    }
}

impl Stack {
    /// The running local stack; panics with what to do when there is none.
    pub fn connect() -> Stack {
        Stack::connect_at(stack_dir())
    }

    /// One of the test run's other stacks (`<STACK_DIR>-<name>`), each with its own config:
    /// `burst` (every port rule in `auto`), `approve` (every port rule in `approve`).
    pub fn connect_named(name: &str) -> Stack {
        Stack::connect_at(named_stack_dir(name))
    }

    /// An execution's whole history, every page.
    pub async fn history(&self, arn: &str) -> Vec<aws_sdk_sfn::types::HistoryEvent> {
        let mut events = Vec::new();
        let mut pages = self
            .sfn
            .get_execution_history()
            .execution_arn(arn)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            events.extend(page.expect("GetExecutionHistory").events().iter().cloned());
        }
        events
    }

    /// The sum of the `AutoRemediate` metric `metric` under exactly `dimensions` (a JSON object,
    /// `{}` for none), as the gateway collected it from the handlers' EMF lines (`/_local/metrics`).
    pub async fn metric_sum(&self, metric: &str, dimensions: Value) -> f64 {
        let (_, body) = http("GET", &format!("{}/_local/metrics", self.info.endpoint_url), "").await;
        let all: Value = serde_json::from_str(&body).expect("metrics are JSON");
        all.as_array()
            .expect("a list of metrics")
            .iter()
            .filter(|m| m["namespace"] == "AutoRemediate" && m["metric"] == metric && m["dimensions"] == dimensions)
            .filter_map(|m| m["sum"].as_f64())
            .sum()
    }

    fn connect_at(dir: PathBuf) -> Stack {
        let info = StackInfo::load(&dir)
            .unwrap_or_else(|e| panic!("{e}: run the tests with `make test`, or `make local-up` first"));
        let sdk = ar_core::aws::local_sdk_config(&info.endpoint_url, &info.region);
        let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build());
        Stack {
            inboxes: Default::default(),
            s3,
            ec2: aws_sdk_ec2::Client::new(&sdk),
            sns: aws_sdk_sns::Client::new(&sdk),
            sfn: aws_sdk_sfn::Client::new(&sdk),
            config: match &info.config_file {
                Some(path) => {
                    // Relative to the workspace, where the stack was started.
                    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(path);
                    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                    ar_core::config::Config::parse(&text, Catalog::builtin()).expect("the stack's config")
                }
                None => ar_core::config::Config::default(),
            },
            sdk,
            info,
        }
    }

    /// A Conformity failure for `rule_id` on `resource` in this stack's account, shaped as
    /// Conformity really sends it ([`conformity::failure_message`]: `cloudProviderId`, its own
    /// account id in the `ccrn`; an access key as `user/AKIA...` arrives with the user in
    /// `extradata`; a region-level check without a resource when `resource` is the region).
    pub fn message(&self, rule_id: &str, resource: &str) -> Value {
        conformity::failure_message(
            Catalog::builtin(),
            &self.info.account_id,
            rule_id,
            &self.info.region,
            resource,
            now_ms(),
        )
    }

    /// The finding the trigger makes of a message, when it is one to act on.
    pub fn finding(&self, message: &Value) -> Option<Finding> {
        let cx = IntakeCtx {
            catalog: Catalog::builtin(),
            region: &self.info.region,
            config: &self.config,
        };
        match conformity::parse(&message.to_string(), &cx) {
            Ok(Intake::Failure(f)) => Some(*f),
            _ => None,
        }
    }

    /// The execution name the trigger derives for a message.
    pub fn execution_name(&self, message: &Value) -> String {
        self.finding(message).expect("a failure to act on").execution_name(1)
    }

    pub fn execution_arn(&self, name: &str) -> String {
        format!(
            "{}:{name}",
            self.info.state_machine_arn.replace(":stateMachine:", ":execution:")
        )
    }

    pub async fn publish(&self, message: &str) {
        self.publish_id(message).await;
    }

    /// Publishes; returns the SNS message id.
    pub async fn publish_id(&self, message: &str) -> String {
        self.sns
            .publish()
            .topic_arn(&self.info.topic_arn)
            .message(message)
            .send()
            .await
            .expect("SNS Publish succeeds")
            .message_id()
            .unwrap_or_default()
            .to_string()
    }

    /// What the trigger made of a delivery (SNS delivers synchronously on the local stack):
    /// the record of `/_local/deliveries` for that message id.
    pub async fn delivery(&self, message_id: &str) -> Value {
        let url = format!("{}/_local/deliveries?message_id={message_id}", self.info.endpoint_url);
        let (_, body) = http("GET", &url, "").await;
        let all: Value = serde_json::from_str(&body).expect("deliveries are JSON");
        all.as_array()
            .and_then(|a| a.iter().rev().find(|d| d["message_id"] == message_id))
            .cloned()
            .unwrap_or_else(|| panic!("no delivery recorded for {message_id}"))
    }

    /// Publishes and returns the execution name the trigger started or matched. The execution's
    /// outcome notification is collected on the way (see [`Stack::wait`]).
    pub async fn publish_for_execution(&self, message: &Value) -> (String, Value) {
        if let Some(f) = self.finding(message) {
            self.watch_outcome(&f.execution_name(1)).await;
        }
        let id = self.publish_id(&message.to_string()).await;
        let d = self.delivery(&id).await;
        let record = d["result"]["records"][0].clone();
        let name = record["execution_name"]
            .as_str()
            .unwrap_or_else(|| panic!("the delivery started nothing: {d}"))
            .to_string();
        (name, record)
    }

    /// Publishes and waits for the execution to end; returns (status, history).
    pub async fn publish_and_wait(&self, message: &Value) -> Execution {
        let (name, _) = self.publish_for_execution(message).await;
        self.wait(&name).await
    }

    /// Publishes, waits for the execution and asserts it healed; the execution's name (for an
    /// undo of it, or its audit).
    pub async fn publish_healed(&self, message: &Value) -> String {
        let (name, _) = self.publish_for_execution(message).await;
        self.wait(&name).await.assert_healed();
        name
    }

    /// Whether an execution of that name exists.
    pub async fn execution_exists(&self, name: &str) -> bool {
        self.sfn
            .describe_execution()
            .execution_arn(self.execution_arn(name))
            .send()
            .await
            .is_ok()
    }

    /// Waits (at most 60 s) for the named execution to stop running. When this test published
    /// its finding, the outcome notification is checked too: exactly one, for the end state the
    /// execution reached, when the config notifies that outcome; none otherwise.
    pub async fn wait(&self, name: &str) -> Execution {
        let arn = self.execution_arn(name);
        let start = Instant::now();
        loop {
            if let Ok(d) = self.sfn.describe_execution().execution_arn(&arn).send().await {
                if d.status().as_str() != "RUNNING" {
                    let run = Execution::load(
                        self,
                        &arn,
                        d.status().as_str().to_string(),
                        d.output().map(str::to_string),
                    )
                    .await;
                    let inbox = self.inboxes.lock().unwrap().remove(name);
                    if let Some(inbox) = inbox {
                        let end = run.states().last().cloned().unwrap_or_default();
                        let notified = self.notified_outcomes().contains(&end);
                        let got = inbox.take(if notified { 10 } else { 1 }).await;
                        inbox.close(self).await;
                        check_notification(name, &end, notified, &got);
                    }
                    return run;
                }
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "execution {name} did not finish in 60 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Calls a handler through the Lambda Invoke API the gateway serves, as Step Functions does.
    /// Returns the payload, or `Err((errorType, errorMessage))`.
    pub async fn invoke(&self, function: &str, payload: &Value) -> Result<Value, (String, String)> {
        let url = format!(
            "{}/2015-03-31/functions/{function}/invocations",
            self.info.endpoint_url.trim_end_matches('/')
        );
        let r = request("POST", &url, Some(("application/json", &payload.to_string()))).await;
        let v: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
        if r.headers.contains_key("x-amz-function-error") {
            Err((
                v["errorType"].as_str().unwrap_or_default().to_string(),
                v["errorMessage"].as_str().unwrap_or_default().to_string(),
            ))
        } else {
            Ok(v)
        }
    }
}

/// The outcomes this stack's config notifies (its `notify.outcomes`, else the default).
impl Stack {
    pub fn notified_outcomes(&self) -> Vec<String> {
        let config = match &self.info.config_file {
            Some(path) => {
                let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(path);
                let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                ar_core::config::Config::parse(&text, Catalog::builtin()).expect("the stack's config")
            }
            None => ar_core::config::Config::default(),
        };
        config.notify.outcomes
    }

    /// Collects the named execution's outcome notification from now on, for [`Stack::wait`] to
    /// check (what [`Stack::publish_for_execution`] does for the executions it starts).
    pub async fn watch_outcome(&self, execution_name: &str) {
        if !self.inboxes.lock().unwrap().contains_key(execution_name) {
            let inbox = self.outcome_inbox(execution_name).await;
            self.inboxes.lock().unwrap().insert(execution_name.to_string(), inbox);
        }
    }

    /// A queue subscribed to the outcome topic for one execution's messages only (a filter
    /// policy on the `execution` attribute the Notify task sets).
    pub async fn outcome_inbox(&self, execution_name: &str) -> OutcomeInbox {
        self.topic_inbox(json!({"execution": [execution_name]})).await
    }

    /// Collects the outcome topic's messages matching `filter` (an SNS filter policy on the
    /// message attributes) under `key` from now on: read with [`Stack::watched`], removed with
    /// [`Stack::unwatch`] or, when the test fails first, when the stack is dropped.
    pub async fn watch_topic(&self, key: &str, filter: Value) {
        let inbox = self.topic_inbox(filter).await;
        let old = self.inboxes.lock().unwrap().insert(key.to_string(), inbox);
        if let Some(old) = old {
            old.close(self).await;
        }
    }

    /// The messages the inbox `key` received within `seconds` (ending early once one arrived
    /// and the queue is empty).
    pub async fn watched(&self, key: &str, seconds: u64) -> Vec<OutcomeMessage> {
        let inbox = self.inboxes.lock().unwrap().remove(key).expect("a watched topic");
        let got = inbox.take(seconds).await;
        self.inboxes.lock().unwrap().insert(key.to_string(), inbox);
        got
    }

    /// Removes the inbox `key`.
    pub async fn unwatch(&self, key: &str) {
        let inbox = self.inboxes.lock().unwrap().remove(key);
        if let Some(inbox) = inbox {
            inbox.close(self).await;
        }
    }

    /// A queue subscribed to the outcome topic for the messages matching `filter`.
    async fn topic_inbox(&self, filter: Value) -> OutcomeInbox {
        let sqs = aws_sdk_sqs::Client::new(&self.sdk);
        let queue = unique("outcomes");
        let url = sqs
            .create_queue()
            .queue_name(&queue)
            .send()
            .await
            .expect("CreateQueue")
            .queue_url()
            .unwrap_or_default()
            .to_string();
        let queue_arn = format!("arn:aws:sqs:{}:{}:{queue}", self.info.region, self.info.account_id);
        let subscription = self
            .sns
            .subscribe()
            .topic_arn(&self.info.outcome_topic_arn)
            .protocol("sqs")
            .endpoint(queue_arn)
            .attributes("FilterPolicy", filter.to_string())
            .return_subscription_arn(true)
            .send()
            .await
            .expect("Subscribe to the outcome topic")
            .subscription_arn()
            .unwrap_or_default()
            .to_string();
        OutcomeInbox {
            sqs,
            queue_url: url,
            subscription,
        }
    }
}

/// One execution's outcome notifications, through an SQS queue subscribed to the outcome topic.
pub struct OutcomeInbox {
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    subscription: String,
}

/// An outcome message as SNS delivered it to the queue.
#[derive(Debug, Clone)]
pub struct OutcomeMessage {
    pub subject: String,
    pub body: String,
    /// The message attributes (`outcome`, `execution`, `rule_id`, `account_id`, `region`).
    pub attributes: std::collections::BTreeMap<String, String>,
}

impl OutcomeInbox {
    /// Every message received within `seconds` (ending early once one arrived and the queue is
    /// empty), each deleted from the queue once received.
    pub async fn take(&self, seconds: u64) -> Vec<OutcomeMessage> {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let mut got = Vec::new();
        while Instant::now() < deadline {
            let out = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .expect("ReceiveMessage");
            let batch = out.messages();
            for m in batch {
                let envelope: Value = serde_json::from_str(m.body().unwrap_or_default()).expect("an SNS envelope");
                got.push(OutcomeMessage {
                    subject: envelope["Subject"].as_str().unwrap_or_default().to_string(),
                    body: envelope["Message"].as_str().unwrap_or_default().to_string(),
                    attributes: envelope["MessageAttributes"]
                        .as_object()
                        .map(|o| {
                            o.iter()
                                .map(|(k, v)| (k.clone(), v["Value"].as_str().unwrap_or_default().to_string()))
                                .collect()
                        })
                        .unwrap_or_default(),
                });
                // Received once: a message left in the queue would come back after the
                // visibility timeout (30 s) to an inbox read more than once.
                if let Some(receipt) = m.receipt_handle() {
                    self.sqs
                        .delete_message()
                        .queue_url(&self.queue_url)
                        .receipt_handle(receipt)
                        .send()
                        .await
                        .expect("DeleteMessage");
                }
            }
            if batch.is_empty() && !got.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        got
    }

    /// Unsubscribes and deletes the queue.
    pub async fn close(self, stack: &Stack) {
        self.remove(&stack.sns, &self.sqs).await;
    }

    async fn remove(&self, sns: &aws_sdk_sns::Client, sqs: &aws_sdk_sqs::Client) {
        let _ = sns.unsubscribe().subscription_arn(&self.subscription).send().await;
        let _ = sqs.delete_queue().queue_url(&self.queue_url).send().await;
    }
}

impl Drop for Stack {
    /// Removes the outcome inboxes of executions a test started but never waited for (it failed
    /// first), so that they do not pile up on the stack's outcome topic. (moto's Publish delivers
    /// to the first 100 subscriptions of a topic only.) Blocking: on a thread of its own, with
    /// clients on a connection pool of their own.
    fn drop(&mut self) {
        let left: Vec<OutcomeInbox> = self
            .inboxes
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .drain()
            .map(|(_, inbox)| inbox)
            .collect();
        if left.is_empty() {
            return;
        }
        let sdk = self
            .sdk
            .to_builder()
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            .build();
        let cleanup = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            rt.block_on(async {
                let (sns, sqs) = (aws_sdk_sns::Client::new(&sdk), aws_sdk_sqs::Client::new(&sdk));
                for inbox in &left {
                    inbox.remove(&sns, &sqs).await;
                }
            });
            Ok::<(), std::io::Error>(())
        });
        if !matches!(cleanup.join(), Ok(Ok(()))) {
            eprintln!("outcome inboxes left on the stack's topic");
        }
    }
}

/// Exactly one notification for a notified end state, saying which; none for the others.
pub fn check_notification(execution: &str, end: &str, notified: bool, got: &[OutcomeMessage]) {
    // Shown with --nocapture: which outcome kinds the suite's notifications cover.
    eprintln!("outcome notification checked: {end} (notified: {notified})");
    if !notified {
        assert!(
            got.is_empty(),
            "{execution} ended in {end}, not notified by the config, yet: {got:?}"
        );
        return;
    }
    assert_eq!(
        got.len(),
        1,
        "{execution} ended in {end}: one outcome notification expected, got {got:?}"
    );
    let m = &got[0];
    assert_eq!(m.attributes.get("outcome").map(String::as_str), Some(end), "{m:?}");
    assert_eq!(
        m.attributes.get("execution").map(String::as_str),
        Some(execution),
        "{m:?}"
    );
    assert!(m.subject.starts_with(&format!("{end}: ")), "{m:?}");
    assert!(m.body.contains(&format!("auto-remediate show {execution}")), "{m:?}");
}

/// A finished execution and its history.
pub struct Execution {
    pub status: String,
    pub output: Value,
    pub events: Vec<aws_sdk_sfn::types::HistoryEvent>,
}

impl Execution {
    async fn load(stack: &Stack, arn: &str, status: String, output: Option<String>) -> Execution {
        let events = stack.history(arn).await;
        Execution {
            status,
            output: output
                .and_then(|o| serde_json::from_str(&o).ok())
                .unwrap_or(Value::Null),
            events,
        }
    }

    /// The names of the states entered, in order.
    /// Asserts the run ended in `Healed`, showing its states, task errors and output otherwise.
    pub fn assert_healed(&self) {
        assert_eq!(
            self.states().last().map(String::as_str),
            Some("Healed"),
            "{:?} {:?} {:?}",
            self.states(),
            self.task_errors(),
            self.output
        );
    }

    pub fn states(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| e.state_entered_event_details())
            .map(|d| d.name().to_string())
            .collect()
    }

    /// The error of the execution's failure, if it failed.
    pub fn failure(&self) -> Option<String> {
        self.events
            .iter()
            .find_map(|e| e.execution_failed_event_details())
            .and_then(|d| d.error().map(str::to_string))
    }

    /// The error names of failed Lambda tasks, in order.
    pub fn task_errors(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| e.lambda_function_failed_event_details())
            .filter_map(|d| d.error().map(str::to_string))
            .collect()
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// `Delivery:Reason` of a trigger record or a `/_local/deliveries` record (`Rejected:MessageNotJson`).
pub fn delivery_kind(record: &Value) -> String {
    format!(
        "{}:{}",
        record["delivery"].as_str().unwrap_or("?"),
        record["reason"].as_str().unwrap_or("?")
    )
}

/// RFC 3339 UTC with milliseconds where there are any (`2026-01-01T00:00:00.25Z`), as AWS
/// sources write their dates.
pub fn rfc3339_ms(ms: u64) -> String {
    aws_sdk_sfn::primitives::DateTime::from_millis(ms as i64)
        .fmt(aws_sdk_sfn::primitives::DateTimeFormat::DateTime)
        .expect("a date in range")
}

pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_millis() as u64
}

/// A name unique to this run and call: `<prefix>-<ms>-<n>`.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        now_ms() % 100_000_000,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// How long one request to the stack may take, connecting to the last byte of the response.
const HTTP_TIMEOUT: Duration = Duration::from_secs(60);

/// `method url` on the stack (a form body for POST); returns (status, body). Panics when the
/// stack does not answer.
pub async fn http(method: &str, url: &str, body: &str) -> (u16, String) {
    let content_type = if method == "POST" {
        "application/x-www-form-urlencoded"
    } else {
        "text/plain"
    };
    let r = request(method, url, Some((content_type, body))).await;
    (r.status.as_u16(), r.body)
}

/// One request on the stack, through the shared client; panics when the stack does not answer.
pub async fn request(method: &str, url: &str, body: Option<(&str, &str)>) -> ar_http::Response {
    ar_http::request(method, url, body, HTTP_TIMEOUT)
        .await
        .unwrap_or_else(|e| panic!("the stack does not answer: {e}"))
}

/// Fault rules on the gateway (`/_local/faults`), owned by one test: `Drop` clears exactly those.
pub struct FaultGuard {
    /// The gateway's URL, `http://host:port`.
    endpoint: String,
    owner: String,
}

/// One rule's counters, as `GET /_local/faults` reports them.
#[derive(Debug, Clone, Deserialize)]
pub struct FaultStats {
    pub id: String,
    pub matched: u64,
    pub injected: u64,
    /// For crash rules: the invocations killed, `{function, request_id}`.
    #[serde(default)]
    pub killed: Vec<Value>,
}

impl Stack {
    /// Arms fault rules (a JSON array, see `local/gateway/src/faults.rs`) under an owner unique to
    /// this call, so parallel tests never replace or clear each other's rules. Scope every rule
    /// with a `resource` this test created.
    pub async fn faults(&self, rules: Value) -> FaultGuard {
        let guard = FaultGuard {
            endpoint: self.info.endpoint_url.trim_end_matches('/').to_string(),
            owner: unique("faults"),
        };
        let r = request("PUT", &guard.url(), Some(("application/json", &rules.to_string()))).await;
        assert_eq!(r.status, 200, "PUT /_local/faults: {}", r.body);
        guard
    }
}

impl FaultGuard {
    fn url(&self) -> String {
        format!("{}/_local/faults?owner={}", self.endpoint, self.owner)
    }

    /// The counters of this guard's rules, in the order they were given.
    pub async fn stats(&self) -> Vec<FaultStats> {
        let r = request("GET", &self.url(), None).await;
        assert_eq!(r.status, 200, "GET /_local/faults: {}", r.body);
        serde_json::from_str(&r.body).expect("fault stats parse")
    }

    /// The calls injected with a fault, over all of this guard's rules.
    pub async fn injected(&self) -> u64 {
        self.stats().await.iter().map(|s| s.injected).sum()
    }
}

impl Drop for FaultGuard {
    /// Clears this guard's rules (blocking: `Drop` cannot await; it is one loopback round trip).
    fn drop(&mut self) {
        if let Err(e) = ar_http::blocking("DELETE", &self.url(), None, Duration::from_secs(10)) {
            eprintln!("clearing fault rules {}: {e}", self.owner);
        }
    }
}

impl Execution {
    /// How long the first run of the task state `state` took (entered to exited), by the history.
    pub fn task_duration(&self, state: &str) -> Duration {
        let secs = |e: &aws_sdk_sfn::types::HistoryEvent| e.timestamp().as_secs_f64();
        let entered = self
            .events
            .iter()
            .position(|e| e.state_entered_event_details().is_some_and(|d| d.name() == state))
            .unwrap_or_else(|| panic!("{state} was never entered: {:?}", self.states()));
        let exited = self.events[entered..]
            .iter()
            .find(|e| e.state_exited_event_details().is_some_and(|d| d.name() == state))
            .unwrap_or_else(|| panic!("{state} never exited"));
        Duration::from_secs_f64((secs(exited) - secs(&self.events[entered])).max(0.0))
    }

    /// The failed task attempts as (state, error), in order: what the history says went wrong.
    pub fn failed_tasks(&self) -> Vec<(String, String)> {
        let mut state = String::new();
        let mut out = Vec::new();
        for e in &self.events {
            if let Some(d) = e.state_entered_event_details() {
                state = d.name().to_string();
            }
            let error = e
                .lambda_function_failed_event_details()
                .and_then(|d| d.error())
                .or_else(|| e.task_failed_event_details().and_then(|d| d.error()));
            if let Some(error) = error {
                out.push((state.clone(), error.to_string()));
            }
        }
        out
    }
}
