//! Creates what the flow needs on moto: the executing Step Functions backend, the Conformity SNS
//! topic with its subscription to the trigger, the outcome topic, and the state machine from
//! `statemachines/remediation.asl.json` with our function ARNs filled in.

pub const ACCOUNT_ID: &str = "123456789012";
pub const TOPIC_NAME: &str = "CloudConformity";
pub const STATE_MACHINE_NAME: &str = "auto-remediate";
pub const FUNCTION_PREFIX: &str = "auto-remediate";
pub const APPROVAL_TABLE: &str = "auto-remediate-approvals";
pub const STATE_TABLE: &str = "auto-remediate-state";
/// The stack's tables and their (hash) key attribute.
pub const TABLES: [(&str, &str); 2] = [(APPROVAL_TABLE, "approval_id"), (STATE_TABLE, "pk")];
pub const OUTCOME_TOPIC_NAME: &str = "auto-remediate-outcome";

/// `.local/stack.json`: how tools and tests find the stack (one definition, in `ar-core`).
pub use ar_core::local::StackInfo;

pub use ar_core::aws::local_sdk_config as sdk_config;

pub fn function_arn(region: &str, handler: &str) -> String {
    format!("arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{FUNCTION_PREFIX}-{handler}")
}

/// The ASL with `${ClassifyFunctionArn}` etc. and `${Partition}` replaced, as Terraform's
/// templatefile does.
pub fn render_definition(asl: &str, region: &str) -> Result<String, String> {
    let mut out = asl.replace("${Partition}", "aws");
    for (placeholder, handler) in [
        ("Trigger", "trigger"),
        ("Classify", "classify"),
        ("Remediate", "remediate"),
        ("Verify", "verify"),
        ("RequestApproval", "request-approval"),
        ("ApprovalCallback", "approval-callback"),
        ("Notify", "notify"),
    ] {
        out = out.replace(
            &format!("${{{placeholder}FunctionArn}}"),
            &function_arn(region, handler),
        );
    }
    if let Some(pos) = out.find("${") {
        let rest: String = out[pos..].chars().take(40).collect();
        return Err(format!("unfilled placeholder in the state machine: {rest}"));
    }
    Ok(out)
}

/// What `provision` made: the Conformity topic, the outcome topic, the state machine.
pub struct Provisioned {
    pub topic_arn: String,
    pub outcome_topic_arn: String,
    pub state_machine_arn: String,
}

pub async fn provision(
    moto_url: &str,
    region: &str,
    asl: &str,
    sns_endpoint: &str,
    sender: Option<&str>,
) -> Result<Provisioned, String> {
    let status = moto_post(
        moto_url,
        "/moto-api/config",
        r#"{"stepfunctions": {"execute_state_machine": true}}"#,
    )
    .await?;
    tracing::info!(status, "moto configured to execute state machines");
    let sdk = sdk_config(moto_url, region);
    let sns = aws_sdk_sns::Client::new(&sdk);
    let topic_arn = sns
        .create_topic()
        .name(TOPIC_NAME)
        .send()
        .await
        .map_err(|e| format!("CreateTopic: {e:?}"))?
        .topic_arn()
        .unwrap_or_default()
        .to_string();
    let existing = sns
        .list_subscriptions_by_topic()
        .topic_arn(&topic_arn)
        .send()
        .await
        .map_err(|e| format!("ListSubscriptionsByTopic: {e:?}"))?;
    if !existing
        .subscriptions()
        .iter()
        .any(|s| s.endpoint() == Some(sns_endpoint))
    {
        sns.subscribe()
            .topic_arn(&topic_arn)
            .protocol("http")
            .endpoint(sns_endpoint)
            .send()
            .await
            .map_err(|e| format!("Subscribe: {e:?}"))?;
    }
    let outcome_topic_arn = sns
        .create_topic()
        .name(OUTCOME_TOPIC_NAME)
        .send()
        .await
        .map_err(|e| format!("CreateTopic {OUTCOME_TOPIC_NAME}: {e:?}"))?
        .topic_arn()
        .unwrap_or_default()
        .to_string();
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    for (table, key) in TABLES {
        create_table(&ddb, table, key).await?;
    }
    if let Some(sender) = sender {
        let ses = aws_sdk_sesv2::Client::new(&sdk);
        if ses.get_email_identity().email_identity(sender).send().await.is_err() {
            ses.create_email_identity()
                .email_identity(sender)
                .send()
                .await
                .map_err(|e| format!("CreateEmailIdentity: {e:?}"))?;
        }
    }
    let sfn = aws_sdk_sfn::Client::new(&sdk);
    let definition = render_definition(asl, region)?;
    let role = format!("arn:aws:iam::{ACCOUNT_ID}:role/{STATE_MACHINE_NAME}-states");
    let arn = format!("arn:aws:states:{region}:{ACCOUNT_ID}:stateMachine:{STATE_MACHINE_NAME}");
    let exists = sfn
        .describe_state_machine()
        .state_machine_arn(&arn)
        .send()
        .await
        .is_ok();
    if exists {
        sfn.update_state_machine()
            .state_machine_arn(&arn)
            .definition(&definition)
            .send()
            .await
            .map_err(|e| format!("UpdateStateMachine: {e:?}"))?;
    } else {
        sfn.create_state_machine()
            .name(STATE_MACHINE_NAME)
            .definition(&definition)
            .role_arn(role)
            .send()
            .await
            .map_err(|e| format!("CreateStateMachine: {e:?}"))?;
    }
    Ok(Provisioned {
        topic_arn,
        outcome_topic_arn,
        state_machine_arn: arn,
    })
}

/// A pay-per-request table keyed by the string `key`, with TTL on `expires_at` (as Terraform makes it).
async fn create_table(ddb: &aws_sdk_dynamodb::Client, table: &str, key: &str) -> Result<(), String> {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TimeToLiveSpecification,
    };
    if ddb.describe_table().table_name(table).send().await.is_ok() {
        return Ok(());
    }
    ddb.create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(key)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(|e| e.to_string())?,
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(key)
                .key_type(KeyType::Hash)
                .build()
                .map_err(|e| e.to_string())?,
        )
        .send()
        .await
        .map_err(|e| format!("CreateTable {table}: {e:?}"))?;
    ddb.update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name("expires_at")
                .enabled(true)
                .build()
                .map_err(|e| e.to_string())?,
        )
        .send()
        .await
        .map_err(|e| format!("UpdateTimeToLive {table}: {e:?}"))?;
    Ok(())
}

/// A POST of JSON to moto's own API (not an AWS API, so no SDK); its status, an error unless 2xx.
async fn moto_post(base: &str, path: &str, body: &str) -> Result<u16, String> {
    let url = format!("{}{path}", base.trim_end_matches('/'));
    let response = ar_http::request(
        "POST",
        &url,
        Some(("application/json", body)),
        std::time::Duration::from_secs(60),
    )
    .await
    .map_err(|e| format!("moto: {e}"))?;
    if !response.status.is_success() {
        return Err(format!("moto {path} answered {}", response.status.as_u16()));
    }
    Ok(response.status.as_u16())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_repository_state_machine_renders_with_no_placeholder_left() {
        let asl = include_str!("../../../statemachines/remediation.asl.json");
        let out = super::render_definition(asl, "eu-west-1").unwrap();
        assert!(out.contains("arn:aws:lambda:eu-west-1:123456789012:function:auto-remediate-classify"));
        assert!(out.contains("arn:aws:states:::lambda:invoke.waitForTaskToken"));
        serde_json::from_str::<serde_json::Value>(&out).unwrap();
    }
}
