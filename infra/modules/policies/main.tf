# Every IAM statement of auto-remediate, computed from the committed catalog
# (`lambdas/core/catalog/iam.json`, regenerated from the code's own declarations): adding a rule
# or an action to a handler changes the policies without editing any Terraform.
#
# - A handler's own actions (catalog `handlers[].actions`) are scoped to the module's resources
#   (`local.own_action_resources`); an action missing from that table fails the plan.
# - Rule reads go to every handler whose `rule_access` is `read` or `read-write`, rule writes only
#   to `read-write` (the remediator). In member accounts likewise: two roles, `read` (the rules'
#   reads) and `write` (reads and writes); each handler's `sts:AssumeRole` names only its own
#   (catalog `handlers[].member_role`), so a read-only handler can assume no role that writes.
#   Rule actions address whatever resource Conformity reports, so they are scoped by resource
#   type where the action supports resource-level permissions (`local.rule_action_resources`),
#   and to `*` otherwise (the `Describe*` and `Get*` calls of EC2 have none). `unscoped_rule_actions` lists the latter, so a new family's actions are visible.
# - Rule actions the families grant only under a condition (catalog `rule_action_conditions`,
#   declared next to the family's calls: `iam:PassRole` with `iam:PassedToService`,
#   `iam:CreateServiceLinkedRole` with `iam:AWSServiceName`) get statements of their own carrying
#   that `Condition` block, in the handler roles and in the member roles alike.
# - Platform actions every Lambda needs (its log group, X-Ray, the config object when the config is
#   kept in S3) and the trigger's dead-letter queue are declared in `local.platform_actions`, never
#   taken from the catalog.

locals {
  p = var.partition

  handlers = { for h in var.catalog.handlers : h.name => h }

  rule_reads  = sort(distinct(var.catalog.rule_read_actions))
  rule_writes = sort(distinct(var.catalog.rule_write_actions))

  # action → its IAM Condition block (JSON), for the rule actions granted only under one.
  rule_conditions = { for a, c in try(var.catalog.rule_action_conditions, {}) : a => jsonencode(c) }

  # Which table each handler's DynamoDB calls address (lambdas/core/src/ledger.rs: the state
  # table; lambdas/approval/src/store.rs: the approvals table). A handler not listed gets both.
  handler_tables = local.res == null ? {} : {
    trigger             = [local.res.state_table_arn]
    classify            = [local.res.state_table_arn]
    remediate           = [local.res.state_table_arn]
    verify              = [local.res.state_table_arn]
    "request-approval"  = [local.res.approval_table_arn]
    "approval-callback" = [local.res.approval_table_arn]
    notify              = [local.res.state_table_arn]
  }
  # Single table actions beyond a handler's own tables: Remediate reads an approval's record, the
  # proof of an approve decision (lambdas/core/src/approvals.rs), and writes nothing there.
  handler_table_reads = local.res == null ? {} : {
    remediate = { "dynamodb:GetItem" = [local.res.approval_table_arn] }
  }

  res = var.resources

  # Handler-own actions → resources, by exact action, then by service (DynamoDB: per handler).
  own_action_resources = local.res == null ? {} : {
    "states:StartExecution"    = [local.res.state_machine_arn]
    "states:DescribeExecution" = [local.res.execution_arn_pattern]
    # A task token from a `.waitForTaskToken` service integration cannot be scoped by IAM
    # (the only resource type of SendTask* is an activity): `*`, and only the callback has them.
    "states:SendTaskSuccess"        = ["*"]
    "states:SendTaskFailure"        = ["*"]
    "secretsmanager:GetSecretValue" = [local.res.secret_arn_pattern]
    "ssm:GetParameter"              = local.res.ssm_parameter_arns
    "kms:Decrypt"                   = [local.res.kms_key_arn]
    "kms:GenerateDataKey"           = [local.res.kms_key_arn]
    "sns:Publish"                   = [local.res.outcome_topic_arn]
    "ses:SendEmail"                 = local.res.ses_identity_arns
    # Notify's update back to Security Hub (lambdas/notify/src/securityhub.rs): the hubs of this
    # account, given only when subscribe_security_hub is on; none otherwise, and the action is
    # then left out of the policy (an action with no resource is never granted).
    "securityhub:BatchUpdateFindings" = try(local.res.securityhub_hub_arns, [])
  }

  own_resources = local.res == null ? {} : {
    for name, h in local.handlers : name => {
      for a in h.actions : a => (
        startswith(a, "dynamodb:")
        ? concat(
          tolist(try(local.handler_tables[name], [local.res.state_table_arn, local.res.approval_table_arn])),
          tolist(try(local.handler_table_reads[name][a], [])),
        )
        # Only its own member role (catalog `member_role`): a read-only handler names no role
        # that writes. No member account: none (the action is then left out).
        : a == "sts:AssumeRole" ? tolist(try(var.member_role_arns[h.member_role], []))
        : try(tolist(local.own_action_resources[a]), null)
      )
    }
  }

  unmapped_own_actions = sort(distinct(flatten([
    for name, m in local.own_resources : [for a, r in m : "${name}: ${a}" if r == null]
  ])))

  # Rule actions → resources, for the actions known to support resource-level permissions (an
  # ARN given to an action without them would deny it at run time, so the table lists actions,
  # not services). Account-scoped where the ARN carries the account. Families being added may
  # list their write actions here; the rest fall back to `*` and show in unscoped_rule_actions.
  rule_action_resources = {
    "ec2:AuthorizeSecurityGroupIngress"          = ["arn:${local.p}:ec2:*:${var.account_id}:security-group/*"]
    "ec2:RevokeSecurityGroupIngress"             = ["arn:${local.p}:ec2:*:${var.account_id}:security-group/*"]
    "ec2:ModifyImageAttribute"                   = ["arn:${local.p}:ec2:*::image/*"]
    "ec2:ModifySnapshotAttribute"                = ["arn:${local.p}:ec2:*::snapshot/*"]
    "rds:ModifyDBInstance"                       = ["arn:${local.p}:rds:*:${var.account_id}:db:*"]
    "rds:ModifyDBSnapshotAttribute"              = ["arn:${local.p}:rds:*:${var.account_id}:snapshot:*"]
    "redshift:ModifyCluster"                     = ["arn:${local.p}:redshift:*:${var.account_id}:cluster:*"]
    "redshift:ModifyClusterParameterGroup"       = ["arn:${local.p}:redshift:*:${var.account_id}:parametergroup:*"]
    "cloudtrail:CreateTrail"                     = ["arn:${local.p}:cloudtrail:*:${var.account_id}:trail/*"]
    "cloudtrail:UpdateTrail"                     = ["arn:${local.p}:cloudtrail:*:${var.account_id}:trail/*"]
    "cloudtrail:StartLogging"                    = ["arn:${local.p}:cloudtrail:*:${var.account_id}:trail/*"]
    "kinesis:StartStreamEncryption"              = ["arn:${local.p}:kinesis:*:${var.account_id}:stream/*"]
    "kinesis:StopStreamEncryption"               = ["arn:${local.p}:kinesis:*:${var.account_id}:stream/*"]
    "lambda:UpdateFunctionConfiguration"         = ["arn:${local.p}:lambda:*:${var.account_id}:function:*"]
    "sqs:SetQueueAttributes"                     = ["arn:${local.p}:sqs:*:${var.account_id}:*"]
    "cloudformation:UpdateTerminationProtection" = ["arn:${local.p}:cloudformation:*:${var.account_id}:stack/*"]
    "kms:EnableKeyRotation"                      = ["arn:${local.p}:kms:*:${var.account_id}:key/*"]
    "kms:CancelKeyDeletion"                      = ["arn:${local.p}:kms:*:${var.account_id}:key/*"]
    "kms:EnableKey"                              = ["arn:${local.p}:kms:*:${var.account_id}:key/*"]
    "kms:DisableKeyRotation"                     = ["arn:${local.p}:kms:*:${var.account_id}:key/*"]
    "kms:ScheduleKeyDeletion"                    = ["arn:${local.p}:kms:*:${var.account_id}:key/*"]
    "guardduty:DeleteDetector"                   = ["arn:${local.p}:guardduty:*:${var.account_id}:detector/*"]
    "ec2:DeleteFlowLogs"                         = ["arn:${local.p}:ec2:*:${var.account_id}:vpc-flow-log/*"]
    "organizations:CancelHandshake"              = ["arn:${local.p}:organizations::${var.account_id}:handshake/*"]
    # Never any role of any account: only this account's, and only to the services the families
    # hand roles to (the catalog's iam:PassedToService condition).
    "iam:PassRole" = ["arn:${local.p}:iam::${var.account_id}:role/*"]
    # Only the services' own linked roles (the catalog's iam:AWSServiceName condition).
    "iam:CreateServiceLinkedRole" = ["arn:${local.p}:iam::${var.account_id}:role/aws-service-role/*"]
  }
  rule_service_resources = {
    # Every S3 bucket-level action of the catalog takes a bucket ARN.
    s3 = ["arn:${local.p}:s3:::*"]
  }
  rule_resources = {
    for a in concat(local.rule_reads, local.rule_writes) : a => tolist(try(
      local.rule_action_resources[a],
      local.rule_service_resources[split(":", a)[0]],
      ["*"]
    ))
  }
  unscoped_rule_actions = sort([for a, r in local.rule_resources : a if contains(r, "*")])

  # Platform actions (not in the catalog): logs to the function's own log group, X-Ray traces
  # (no resource-level permissions), and the trigger's failed async events to its dead-letter queue.
  platform_actions = local.res == null ? {} : {
    for name in keys(local.handlers) : name => merge(
      {
        "logs:CreateLogStream" = ["${local.res.log_group_arns[name]}:*"]
        "logs:PutLogEvents"    = ["${local.res.log_group_arns[name]}:*"]
        # X-Ray has no resource-level permissions for these.
        "xray:PutTraceSegments"    = ["*"]
        "xray:PutTelemetryRecords" = ["*"]
      },
      name == "trigger" ? { "sqs:SendMessage" = [local.res.dead_letter_queue_arn] } : {},
      # The config document, when it is kept in S3: that object alone, at any version.
      try(local.res.config_object_arn, null) == null ? {} : {
        "s3:GetObject"        = [local.res.config_object_arn]
        "s3:GetObjectVersion" = [local.res.config_object_arn]
      },
    )
  }

  # action → resources, per handler, before grouping.
  grants = {
    for name, h in local.handlers : name => merge(
      { for a, r in try(local.own_resources[name], {}) : a => r if r != null },
      h.rule_access == "none" ? {} : { for a in local.rule_reads : a => local.rule_resources[a] },
      h.rule_access == "read-write" ? { for a in local.rule_writes : a => local.rule_resources[a] } : {},
      try(local.platform_actions[name], {}),
    )
  }

  # One statement per distinct resource list and condition (the key is "<resources>|<condition
  # JSON>", empty without one); an action with no resource (no member account to assume a role
  # in) is left out rather than granted on nothing.
  handler_statements = {
    for name, g in local.grants : name => [
      for key, actions in { for a, r in g : "${join(" ", sort(r))}|${try(local.rule_conditions[a], "")}" => a... if length(r) > 0 } : merge(
        {
          Effect   = "Allow"
          Action   = sort(actions)
          Resource = split(" ", split("|", key)[0])
        },
        { for c in compact([split("|", key)[1]]) : "Condition" => jsondecode(c) },
      )
    ]
  }

  # The two member roles: `read` the rules' reads only, `write` their reads and writes.
  member_actions = {
    read  = local.rule_reads
    write = concat(local.rule_reads, local.rule_writes)
  }
  member_statements = {
    for role, acts in local.member_actions : role => [
      for key, actions in {
        for a in acts : "${join(" ", sort(local.rule_resources[a]))}|${try(local.rule_conditions[a], "")}" => a...
        } : merge(
        {
          Effect   = "Allow"
          Action   = sort(distinct(actions))
          Resource = split(" ", split("|", key)[0])
        },
        { for c in compact([split("|", key)[1]]) : "Condition" => jsondecode(c) },
      )
    ]
  }
}
