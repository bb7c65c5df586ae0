//! RDS and Redshift families on the real stack: RDS-008 / RDS-006 instance settings, RDS-023
//! public DB snapshots, RS-001 / RS-019 cluster settings, and RS-023 refusing a parameter group
//! the cluster does not own (moto lacks ModifyClusterParameterGroup: the write is proven by the
//! family's request-level tests). Each test re-reads the resource with its own client and checks
//! that what the rule did not flag stayed as it was.

use ar_tests::{unique, Stack};

const PARTNER: &str = "111122223333";

/// A Conformity message for a Redshift rule: its service is `Redshift`, not the rule's prefix
/// (in `service` and the `ccrn`, as the builder makes it).
fn redshift_message(stack: &Stack, rule_id: &str, cluster: &str) -> serde_json::Value {
    let m = stack.message(rule_id, cluster);
    assert_eq!(m["service"], "Redshift", "{m}");
    let ccrn = m["ccrn"].as_str().unwrap();
    assert!(
        ccrn.contains(&format!(":Redshift:{}:{cluster}", stack.info.region)),
        "{m}"
    );
    m
}

async fn db_instance(stack: &Stack, public: bool, auto_minor: bool) -> String {
    let id = unique("it-db");
    aws_sdk_rds::Client::new(&stack.sdk)
        .create_db_instance()
        .db_instance_identifier(&id)
        .db_instance_class("db.t3.micro")
        .engine("postgres")
        .master_username("admin1")
        .master_user_password("password123")
        .allocated_storage(20)
        .publicly_accessible(public)
        .auto_minor_version_upgrade(auto_minor)
        .send()
        .await
        .unwrap();
    id
}

/// (PubliclyAccessible, AutoMinorVersionUpgrade) as read by the test's own client.
async fn instance_settings(stack: &Stack, id: &str) -> (bool, bool) {
    let out = aws_sdk_rds::Client::new(&stack.sdk)
        .describe_db_instances()
        .db_instance_identifier(id)
        .send()
        .await
        .unwrap();
    let db = &out.db_instances()[0];
    (
        db.publicly_accessible().unwrap(),
        db.auto_minor_version_upgrade().unwrap(),
    )
}

#[tokio::test]
async fn rds_008_makes_a_public_instance_private_and_leaves_minor_upgrades_off() {
    let stack = Stack::connect();
    let db = db_instance(&stack, true, false).await;
    let run = stack.publish_and_wait(&stack.message("RDS-008", &db)).await;
    run.assert_healed();
    assert_eq!(instance_settings(&stack, &db).await, (false, false));
    let before = &run.output["remediation"]["before"];
    assert_eq!(before["kind"], "rds-instance");
    assert_eq!(before["publicly_accessible"], true);
}

#[tokio::test]
async fn rds_006_turns_auto_minor_upgrade_on_and_leaves_public_access_alone() {
    let stack = Stack::connect();
    let db = db_instance(&stack, true, false).await;
    let run = stack.publish_and_wait(&stack.message("RDS-006", &db)).await;
    run.assert_healed();
    assert_eq!(instance_settings(&stack, &db).await, (true, true));
    // Published again, it is already compliant.
    let mut again = stack.message("RDS-006", &db);
    again["failureDiscoveryDate"] = serde_json::Value::from(ar_tests::now_ms() + 1);
    let run = stack.publish_and_wait(&again).await;
    assert_eq!(run.states().last().map(String::as_str), Some("AlreadyCompliant"));
}

async fn restore_values(stack: &Stack, snapshot: &str) -> Vec<String> {
    let out = aws_sdk_rds::Client::new(&stack.sdk)
        .describe_db_snapshot_attributes()
        .db_snapshot_identifier(snapshot)
        .send()
        .await
        .unwrap();
    let mut v: Vec<String> = out
        .db_snapshot_attributes_result()
        .unwrap()
        .db_snapshot_attributes()
        .iter()
        .filter(|a| a.attribute_name() == Some("restore"))
        .flat_map(|a| a.attribute_values().to_vec())
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn rds_023_stops_sharing_a_snapshot_with_everyone_and_keeps_the_partner() {
    let stack = Stack::connect();
    let rds = aws_sdk_rds::Client::new(&stack.sdk);
    let db = db_instance(&stack, false, true).await;
    let snapshot = unique("it-dbsnap");
    rds.create_db_snapshot()
        .db_snapshot_identifier(&snapshot)
        .db_instance_identifier(&db)
        .send()
        .await
        .unwrap();
    rds.modify_db_snapshot_attribute()
        .db_snapshot_identifier(&snapshot)
        .attribute_name("restore")
        .values_to_add("all")
        .values_to_add(PARTNER)
        .send()
        .await
        .unwrap();
    assert_eq!(restore_values(&stack, &snapshot).await, vec![PARTNER, "all"]);
    let run = stack.publish_and_wait(&stack.message("RDS-023", &snapshot)).await;
    run.assert_healed();
    assert_eq!(restore_values(&stack, &snapshot).await, vec![PARTNER]);
    assert_eq!(run.output["remediation"]["before"]["groups"][0], "all");
}

async fn cluster(stack: &Stack, public: bool, retention: i32, group: Option<&str>) -> String {
    let id = unique("it-rs");
    let rs = aws_sdk_redshift::Client::new(&stack.sdk);
    rs.create_cluster()
        .cluster_identifier(&id)
        .node_type("dc2.large")
        .master_username("admin1")
        .master_user_password("Password123")
        .publicly_accessible(public)
        .set_cluster_parameter_group_name(group.map(str::to_string))
        .send()
        .await
        .unwrap();
    // moto takes a retention of 0 at creation for "unset" (1): set it afterwards.
    rs.modify_cluster()
        .cluster_identifier(&id)
        .automated_snapshot_retention_period(retention)
        .send()
        .await
        .unwrap();
    id
}

/// (PubliclyAccessible, AutomatedSnapshotRetentionPeriod) as read by the test's own client.
async fn cluster_settings(stack: &Stack, id: &str) -> (bool, i32) {
    let out = aws_sdk_redshift::Client::new(&stack.sdk)
        .describe_clusters()
        .cluster_identifier(id)
        .send()
        .await
        .unwrap();
    let c = &out.clusters()[0];
    (
        c.publicly_accessible().unwrap(),
        c.automated_snapshot_retention_period().unwrap(),
    )
}

#[tokio::test]
async fn rs_001_makes_a_public_cluster_private_and_leaves_its_retention() {
    let stack = Stack::connect();
    let c = cluster(&stack, true, 0, None).await;
    assert_eq!(cluster_settings(&stack, &c).await, (true, 0));
    let run = stack.publish_and_wait(&redshift_message(&stack, "RS-001", &c)).await;
    run.assert_healed();
    assert_eq!(cluster_settings(&stack, &c).await, (false, 0));
}

#[tokio::test]
async fn rs_019_sets_the_configured_retention_and_leaves_public_access_alone() {
    let stack = Stack::connect();
    let c = cluster(&stack, true, 0, None).await;
    let run = stack.publish_and_wait(&redshift_message(&stack, "RS-019", &c)).await;
    run.assert_healed();
    // tests/config.json sets retention_days 10 over the catalog's 7.
    assert_eq!(cluster_settings(&stack, &c).await, (true, 10));
    // A positive retention is never changed.
    let kept = cluster(&stack, false, 3, None).await;
    let run = stack.publish_and_wait(&redshift_message(&stack, "RS-019", &kept)).await;
    assert_eq!(run.states().last().map(String::as_str), Some("AlreadyCompliant"));
    assert_eq!(cluster_settings(&stack, &kept).await, (false, 3));
}

async fn user_activity_logging(stack: &Stack, group: &str) -> Option<String> {
    let out = aws_sdk_redshift::Client::new(&stack.sdk)
        .describe_cluster_parameters()
        .parameter_group_name(group)
        .send()
        .await
        .unwrap();
    out.parameters()
        .iter()
        .find(|p| p.parameter_name() == Some("enable_user_activity_logging"))
        .and_then(|p| p.parameter_value().map(str::to_string))
}

/// The cause of the Remediate task's failure.
fn task_cause(run: &ar_tests::Execution) -> String {
    run.events
        .iter()
        .filter_map(|e| e.lambda_function_failed_event_details())
        .filter_map(|d| d.cause().map(str::to_string))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn rs_023_refuses_a_default_or_shared_parameter_group_and_changes_nothing() {
    let stack = Stack::connect();
    let rs = aws_sdk_redshift::Client::new(&stack.sdk);
    // On the default group.
    let on_default = cluster(&stack, false, 1, None).await;
    let run = stack
        .publish_and_wait(&redshift_message(&stack, "RS-023", &on_default))
        .await;
    assert_eq!(
        run.states().last().map(String::as_str),
        Some("Rejected"),
        "{:?}",
        run.states()
    );
    assert_eq!(run.task_errors(), vec!["InvalidInput"]);
    let cause = task_cause(&run);
    assert!(
        cause.contains("default parameter group") && cause.contains("nothing was changed"),
        "{cause}"
    );
    assert_eq!(
        user_activity_logging(&stack, "default.redshift-1.0").await.as_deref(),
        Some("false")
    );

    // On a group another cluster uses too.
    let group = unique("it-pg");
    rs.create_cluster_parameter_group()
        .parameter_group_name(&group)
        .parameter_group_family("redshift-1.0")
        .description("shared by two clusters")
        .send()
        .await
        .unwrap();
    let a = cluster(&stack, false, 1, Some(&group)).await;
    let b = cluster(&stack, false, 1, Some(&group)).await;
    let run = stack.publish_and_wait(&redshift_message(&stack, "RS-023", &a)).await;
    assert_eq!(
        run.states().last().map(String::as_str),
        Some("Rejected"),
        "{:?}",
        run.states()
    );
    let cause = task_cause(&run);
    assert!(cause.contains(&format!("also used by cluster(s) {b}")), "{cause}");
    assert_eq!(user_activity_logging(&stack, &group).await.as_deref(), Some("false"));
}

#[tokio::test]
async fn undo_of_rds_023_shares_the_snapshot_with_everyone_again_and_the_partner_stays() {
    let stack = Stack::connect();
    let rds = aws_sdk_rds::Client::new(&stack.sdk);
    let db = db_instance(&stack, false, true).await;
    let snapshot = unique("it-dbsnap");
    rds.create_db_snapshot()
        .db_snapshot_identifier(&snapshot)
        .db_instance_identifier(&db)
        .send()
        .await
        .unwrap();
    rds.modify_db_snapshot_attribute()
        .db_snapshot_identifier(&snapshot)
        .attribute_name("restore")
        .values_to_add("all")
        .values_to_add(PARTNER)
        .send()
        .await
        .unwrap();
    let before = restore_values(&stack, &snapshot).await;
    assert_eq!(before, vec![PARTNER, "all"]);
    let run = stack.publish_healed(&stack.message("RDS-023", &snapshot)).await;
    assert_eq!(restore_values(&stack, &snapshot).await, vec![PARTNER]);
    let out = crate::cli::undo_restored(&stack, &run).await;
    assert!(out.contains("add the group all back"), "{out}");
    assert_eq!(restore_values(&stack, &snapshot).await, before);
}

#[tokio::test]
async fn undo_of_rds_008_and_rds_006_puts_back_only_the_setting_each_fix_changed() {
    let stack = Stack::connect();
    for (rule, fixed) in [("RDS-008", (false, false)), ("RDS-006", (true, true))] {
        let db = db_instance(&stack, true, false).await;
        let before = instance_settings(&stack, &db).await;
        assert_eq!(before, (true, false));
        let run = stack.publish_healed(&stack.message(rule, &db)).await;
        assert_eq!(instance_settings(&stack, &db).await, fixed, "{rule}");
        let out = crate::cli::undo_restored(&stack, &run).await;
        assert!(out.contains("as recorded before the fix"), "{out}");
        assert_eq!(
            instance_settings(&stack, &db).await,
            before,
            "{rule}: both settings as recorded"
        );
    }
}

#[tokio::test]
async fn undo_of_rs_001_and_rs_019_puts_back_only_the_setting_each_fix_changed() {
    let stack = Stack::connect();
    for (rule, fixed) in [("RS-001", (false, 0)), ("RS-019", (true, 10))] {
        let c = cluster(&stack, true, 0, None).await;
        let before = cluster_settings(&stack, &c).await;
        assert_eq!(before, (true, 0));
        let run = stack.publish_healed(&redshift_message(&stack, rule, &c)).await;
        assert_eq!(cluster_settings(&stack, &c).await, fixed, "{rule}");
        let out = crate::cli::undo_restored(&stack, &run).await;
        assert!(out.contains("as recorded before the fix"), "{out}");
        assert_eq!(
            cluster_settings(&stack, &c).await,
            before,
            "{rule}: both settings as recorded"
        );
    }
}
