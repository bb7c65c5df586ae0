# Roles. The handlers' policies are computed from lambdas/core/catalog/iam.json by the
# provider-free module ./modules/policies (which `make infra-check` evaluates offline and compares
# with the catalog): no per-rule statement is written here, and none may be.

locals {
  # Each member role in any account, one ARN whatever the number of accounts: an ARN per account
  # passes IAM's 10,240-character limit on a role's inline policies at about 115 accounts. Which
  # accounts are reached is decided by each member role's trust policy (modules/member-role: the
  # read role trusts the read-only handlers' roles, the write role the remediate role only) and by
  # the config's `accounts`, which the handlers check before assuming any role
  # (lambdas/core/src/deps.rs `Deps::ctx`). Each handler may name only its own role (modules/policies,
  # catalog `handlers[].member_role`). No member account: no grant.
  member_role_arns = length(local.member_accounts) == 0 ? { read = [], write = [] } : { read = ["arn:${local.partition}:iam::*:role/${local.member_read_role}"], write = ["arn:${local.partition}:iam::*:role/${local.member_role}"] }

  sender_domain     = local.sender == null ? null : split("@", local.sender)[1]
  ses_identities    = distinct(compact(concat([local.sender, local.sender_domain], local.approvers)))
  ses_identity_arns = [for i in local.ses_identities : "arn:${local.partition}:ses:${local.region}:${local.account_id}:identity/${i}"]
}

module "policies" {
  source = "./modules/policies"

  catalog    = local.catalog
  partition  = local.partition
  account_id = local.account_id

  resources = {
    state_table_arn       = aws_dynamodb_table.state.arn
    approval_table_arn    = aws_dynamodb_table.approvals.arn
    state_machine_arn     = local.state_machine_arn
    execution_arn_pattern = "arn:${local.partition}:states:${local.region}:${local.account_id}:execution:${var.name}:*"
    # Both key stores' names are granted, whichever is in use: nothing else can be read.
    secret_arn_pattern    = "arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret:${var.name}-approval-signing-key-*"
    ssm_parameter_arns    = ["arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter/${var.name}/approval-signing-key"]
    kms_key_arn           = aws_kms_key.this.arn
    ses_identity_arns     = local.ses_identity_arns
    log_group_arns        = { for k, g in aws_cloudwatch_log_group.function : k => g.arn }
    dead_letter_queue_arn = aws_sqs_queue.dead_letter.arn
    outcome_topic_arn     = aws_sns_topic.outcome.arn
    config_object_arn     = local.config_in_s3 ? "${aws_s3_bucket.config[0].arn}/${local.config_object_key}" : null
    # Notify's BatchUpdateFindings, in the finding's region's hub of this (the administrator)
    # account: only when the Security Hub source is subscribed.
    securityhub_hub_arns = var.subscribe_security_hub ? ["arn:${local.partition}:securityhub:*:${local.account_id}:hub/default"] : []
  }

  member_role_arns = local.member_role_arns
}

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "handler" {
  for_each           = local.functions
  name               = "${var.name}-${each.key}"
  description        = "auto-remediate ${each.key}: the catalog's actions for this handler (lambdas/core/catalog/iam.json)."
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
  tags               = local.tags
}

resource "aws_iam_role_policy" "handler" {
  for_each = local.functions
  name     = "${var.name}-${each.key}"
  role     = aws_iam_role.handler[each.key].id
  policy   = module.policies.handler_policies[each.key]
}

# The state machine: invokes the five task functions, delivers its logs, traces.

data "aws_iam_policy_document" "states_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "state_machine" {
  name               = "${var.name}-states"
  description        = "auto-remediate's state machine: invokes its task functions."
  assume_role_policy = data.aws_iam_policy_document.states_assume.json
  tags               = local.tags
}

data "aws_iam_policy_document" "state_machine" {
  #checkov:skip=CKV_AWS_111:CloudWatch Logs' log-delivery actions and X-Ray's have no resource-level permissions (Step Functions' documented policy uses "*").
  #checkov:skip=CKV_AWS_356:CloudWatch Logs' log-delivery actions and X-Ray's have no resource-level permissions.
  statement {
    sid     = "InvokeTaskFunctions"
    actions = ["lambda:InvokeFunction"]
    resources = flatten([
      for k in ["classify", "remediate", "verify", "request-approval", "notify"] : [
        aws_lambda_function.handler[k].arn, "${aws_lambda_function.handler[k].arn}:*",
      ]
    ])
  }

  statement {
    sid = "DeliverLogs"
    actions = [
      "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "Trace"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "state_machine" {
  name   = "${var.name}-states"
  role   = aws_iam_role.state_machine.id
  policy = data.aws_iam_policy_document.state_machine.json
}
