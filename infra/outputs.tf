output "conformity_topic_arn" {
  description = "The Conformity topic (`<name>-conformity` unless conformity_topic_name is set): give this ARN to Conformity's Amazon SNS communication channel."
  value       = aws_sns_topic.conformity.arn
}

output "state_machine_arn" {
  description = "The remediation state machine."
  value       = aws_sfn_state_machine.this.arn
}

output "state_machine_console_url" {
  description = "The state machine's executions in the Step Functions console."
  value       = "https://${local.region}.console.aws.amazon.com/states/home?region=${local.region}#/statemachines/view/${aws_sfn_state_machine.this.arn}"
}

output "approval_base_url" {
  description = "Where the approval pages are served (APPROVAL_BASE_URL; links are <this>/approvals/<id>?...)."
  value       = aws_apigatewayv2_api.approval.api_endpoint
}

output "outcome_topic_arn" {
  description = "Every execution's end (name, status, console link) and the alarms."
  value       = aws_sns_topic.outcome.arn
}

output "dead_letter_queue_url" {
  description = "Lost findings: SNS could not deliver them, or the trigger failed on them (transient errors) after Lambda's retries. Investigate, then redrive."
  value       = aws_sqs_queue.dead_letter.url
}

output "function_names" {
  description = "Handler name → Lambda function name."
  value       = { for k, f in aws_lambda_function.handler : k => f.function_name }
}

output "handler_role_arns" {
  description = "Handler name → role ARN."
  value       = { for k, r in aws_iam_role.handler : k => r.arn }
}

output "member_trusted_role_arns" {
  description = "The roles a member account's `modules/member-role` must trust, per member role (catalog `handlers[].member_role`): `read`, the handlers that only read there (classify, verify, request-approval, approval-callback); `write`, the remediate role only."
  value       = { for role, handlers in module.policies.member_role_handlers : role => [for k in handlers : aws_iam_role.handler[k].arn] }
}

output "signing_key" {
  description = "Where the approval signing key is kept (secret ARN, or SSM parameter name)."
  value       = var.signing_key_store == "secretsmanager" ? aws_secretsmanager_secret.signing_key[0].arn : aws_ssm_parameter.signing_key[0].name
}

output "kms_key_arn" {
  description = "The module's KMS key (topics, tables, logs, signing key)."
  value       = aws_kms_key.this.arn
}

output "unscoped_rule_actions" {
  description = "Rule actions granted on \"*\" because they have no resource-level permissions (or a new family's actions have no pattern in modules/policies yet)."
  value       = module.policies.unscoped_rule_actions
}
