variable "catalog" {
  description = "The decoded `lambdas/core/catalog/iam.json` (rules, families, handlers with their own actions and rule access, rule read and write actions)."
  type        = any

  validation {
    condition     = can(var.catalog.handlers) && can(var.catalog.rule_read_actions) && can(var.catalog.rule_write_actions)
    error_message = "The catalog must have handlers, rule_read_actions and rule_write_actions (lambdas/core/catalog/iam.json)."
  }
}

variable "partition" {
  description = "The AWS partition (aws, aws-cn, aws-us-gov)."
  type        = string
  default     = "aws"
}

variable "account_id" {
  description = "The account whose resources the policies address (the deployment account, or the member account for the member role)."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}$", var.account_id))
    error_message = "account_id must be a 12-digit AWS account number."
  }
}

variable "resources" {
  description = <<-EOT
    The module's own resources each handler's own actions are scoped to. Null for the member role
    (rule actions only). Every handler action in the catalog must map to one of these, or planning
    fails naming it: a new action never silently becomes `Resource: "*"`.
  EOT
  type = object({
    state_table_arn       = string
    approval_table_arn    = string
    state_machine_arn     = string
    execution_arn_pattern = string
    secret_arn_pattern    = string
    ssm_parameter_arns    = list(string)
    kms_key_arn           = string
    ses_identity_arns     = list(string)
    log_group_arns        = map(string)
    dead_letter_queue_arn = string
    outcome_topic_arn     = string
    # The config object's ARN when the config is kept in S3 (every handler reads it); else null.
    config_object_arn = optional(string)
    # The Security Hub hubs Notify updates findings in (subscribe_security_hub); empty: no grant.
    securityhub_hub_arns = optional(list(string), [])
  })
  default = null
}

variable "member_role_arns" {
  description = "Per member role (`read`, `write`), the ARNs a handler assuming it may name (`sts:AssumeRole` is scoped to its own role's; none when empty). The root module passes one pattern each, `arn:<partition>:iam::*:role/<name>`, so the policy does not grow with the account count: the member roles' trust policies and the config's `accounts`, checked in code before any role is assumed, are what limit the accounts."
  type = object({
    read  = list(string)
    write = list(string)
  })
  default = { read = [], write = [] }
}
