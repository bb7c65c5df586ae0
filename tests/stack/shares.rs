//! Shared-with-everyone families on the real stack: EC2-019 public AMIs, EBS-009 public snapshots.
//! Only the group `all` goes; the accounts the resource is shared with stay.

use ar_tests::Stack;
use aws_sdk_ec2::types::{
    ImageAttributeName, InstanceType, LaunchPermission, LaunchPermissionModifications, OperationType, PermissionGroup,
    SnapshotAttributeName,
};

const PARTNER: &str = "111122223333";

async fn public_ami(stack: &Stack) -> String {
    let base = stack
        .ec2
        .describe_images()
        .owners("amazon")
        .max_results(5)
        .send()
        .await
        .unwrap()
        .images()[0]
        .image_id()
        .unwrap()
        .to_string();
    let instance = stack
        .ec2
        .run_instances()
        .image_id(base)
        .instance_type(InstanceType::T3Micro)
        .min_count(1)
        .max_count(1)
        .send()
        .await
        .unwrap()
        .instances()[0]
        .instance_id()
        .unwrap()
        .to_string();
    let image = stack
        .ec2
        .create_image()
        .instance_id(instance)
        .name(ar_tests::unique("it-ami"))
        .send()
        .await
        .unwrap()
        .image_id()
        .unwrap()
        .to_string();
    stack
        .ec2
        .modify_image_attribute()
        .image_id(&image)
        .launch_permission(
            LaunchPermissionModifications::builder()
                .add(LaunchPermission::builder().group(PermissionGroup::All).build())
                .add(LaunchPermission::builder().user_id(PARTNER).build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    image
}

async fn launch_permissions(stack: &Stack, image: &str) -> (Vec<String>, Vec<String>) {
    let out = stack
        .ec2
        .describe_image_attribute()
        .image_id(image)
        .attribute(ImageAttributeName::LaunchPermission)
        .send()
        .await
        .unwrap();
    let p = out.launch_permissions();
    (
        p.iter()
            .filter_map(|x| x.group())
            .map(|g| g.as_str().to_string())
            .collect(),
        p.iter().filter_map(|x| x.user_id()).map(str::to_string).collect(),
    )
}

async fn public_snapshot(stack: &Stack) -> String {
    let volume = stack
        .ec2
        .create_volume()
        .availability_zone(format!("{}a", stack.info.region))
        .size(1)
        .send()
        .await
        .unwrap()
        .volume_id()
        .unwrap()
        .to_string();
    let snapshot = stack
        .ec2
        .create_snapshot()
        .volume_id(volume)
        .send()
        .await
        .unwrap()
        .snapshot_id()
        .unwrap()
        .to_string();
    stack
        .ec2
        .modify_snapshot_attribute()
        .snapshot_id(&snapshot)
        .attribute(SnapshotAttributeName::CreateVolumePermission)
        .operation_type(OperationType::Add)
        .group_names("all")
        .user_ids(PARTNER)
        .send()
        .await
        .unwrap();
    snapshot
}

async fn volume_permissions(stack: &Stack, snapshot: &str) -> (Vec<String>, Vec<String>) {
    let out = stack
        .ec2
        .describe_snapshot_attribute()
        .snapshot_id(snapshot)
        .attribute(SnapshotAttributeName::CreateVolumePermission)
        .send()
        .await
        .unwrap();
    let p = out.create_volume_permissions();
    (
        p.iter()
            .filter_map(|x| x.group())
            .map(|g| g.as_str().to_string())
            .collect(),
        p.iter().filter_map(|x| x.user_id()).map(str::to_string).collect(),
    )
}

#[tokio::test]
async fn a_public_ami_stops_being_public_and_stays_shared_with_the_partner() {
    let stack = Stack::connect();
    let image = public_ami(&stack).await;
    assert_eq!(launch_permissions(&stack, &image).await.0, vec!["all"]);
    let run = stack.publish_and_wait(&stack.message("EC2-019", &image)).await;
    assert_eq!(
        run.states().last().map(String::as_str),
        Some("Healed"),
        "{:?}",
        run.task_errors()
    );
    assert_eq!(
        launch_permissions(&stack, &image).await,
        (vec![], vec![PARTNER.to_string()])
    );
    assert_eq!(
        run.output["remediation"]["before"]["groups"][0], "all",
        "the before-state is recorded"
    );
}

#[tokio::test]
async fn a_public_snapshot_stops_being_public_and_stays_shared_with_the_partner() {
    let stack = Stack::connect();
    let snapshot = public_snapshot(&stack).await;
    assert_eq!(volume_permissions(&stack, &snapshot).await.0, vec!["all"]);
    let run = stack.publish_and_wait(&stack.message("EBS-009", &snapshot)).await;
    assert_eq!(
        run.states().last().map(String::as_str),
        Some("Healed"),
        "{:?}",
        run.task_errors()
    );
    assert_eq!(
        volume_permissions(&stack, &snapshot).await,
        (vec![], vec![PARTNER.to_string()])
    );
    // Published again, it is already compliant and nothing changes.
    let mut again = stack.message("EBS-009", &snapshot);
    again["failureDiscoveryDate"] = serde_json::Value::from(ar_tests::now_ms() + 1);
    let run = stack.publish_and_wait(&again).await;
    assert_eq!(run.states().last().map(String::as_str), Some("AlreadyCompliant"));
}

#[tokio::test]
async fn undo_of_ec2_019_shares_the_ami_with_everyone_again_and_the_partner_stays() {
    let stack = Stack::connect();
    let image = public_ami(&stack).await;
    let before = launch_permissions(&stack, &image).await;
    assert_eq!(before, (vec!["all".to_string()], vec![PARTNER.to_string()]));
    let run = stack.publish_healed(&stack.message("EC2-019", &image)).await;
    assert_eq!(
        launch_permissions(&stack, &image).await,
        (vec![], vec![PARTNER.to_string()])
    );
    let out = crate::cli::undo_restored(&stack, &run).await;
    assert!(out.contains("add the group all back"), "{out}");
    assert_eq!(
        launch_permissions(&stack, &image).await,
        before,
        "group all back, partner as it was"
    );
}

#[tokio::test]
async fn undo_of_ebs_009_shares_the_snapshot_with_everyone_again_and_the_partner_stays() {
    let stack = Stack::connect();
    let snapshot = public_snapshot(&stack).await;
    let before = volume_permissions(&stack, &snapshot).await;
    assert_eq!(before, (vec!["all".to_string()], vec![PARTNER.to_string()]));
    let run = stack.publish_healed(&stack.message("EBS-009", &snapshot)).await;
    assert_eq!(
        volume_permissions(&stack, &snapshot).await,
        (vec![], vec![PARTNER.to_string()])
    );
    let out = crate::cli::undo_restored(&stack, &run).await;
    assert!(out.contains("add the group all back"), "{out}");
    assert_eq!(
        volume_permissions(&stack, &snapshot).await,
        before,
        "group all back, partner as it was"
    );
}
