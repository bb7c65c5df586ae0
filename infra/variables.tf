variable "name" {
  description = "Prefix of every resource name (functions are `<name>-<handler>`, the state machine `<name>`)."
  type        = string
  default     = "auto-remediate"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9-]{0,37}$", var.name))
    error_message = "name must start with a letter and hold at most 38 letters, digits or hyphens (function names are `<name>-approval-callback`, at most 64 characters)."
  }
}

variable "config_json" {
  description = "The auto-remediate configuration document (the same JSON as `local/config.json`): rules and their modes, exclusion tags, accounts, member_role, approval (approvers, sender, timeout). Passed to every handler as AUTO_REMEDIATE_CONFIG, or kept in S3 (config_store); the handlers validate it at cold start."
  type        = string

  validation {
    condition     = can(jsondecode(var.config_json)) && can(keys(jsondecode(var.config_json)))
    error_message = "config_json must be a JSON object (see local/config.json)."
  }
}

variable "config_store" {
  description = "Where the handlers read config_json from: `env` (AUTO_REMEDIATE_CONFIG in each function's environment, Lambda's 4 KB), `s3` (an object in a private, versioned, KMS-encrypted bucket this module creates; the environment names it and its version, read once per cold start), or `auto`: the environment while the minified config is at most 3,000 characters (about 150 accounts), S3 above."
  type        = string
  default     = "auto"

  validation {
    condition     = contains(["auto", "env", "s3"], var.config_store)
    error_message = "config_store must be auto, env or s3."
  }
}

variable "conformity_topic_name" {
  description = "Name of the SNS topic Conformity publishes to. Null means `<name>-conformity`, one topic per deployment. Set `CloudConformity` to keep the topic of a deployment made before this variable existed (otherwise Terraform replaces it and the channel's ARN changes); to adopt a topic made outside Terraform, import it (infra/README.md)."
  type        = string
  default     = null

  validation {
    condition     = var.conformity_topic_name == null || can(regex("^[A-Za-z0-9_-]{1,256}$", var.conformity_topic_name))
    error_message = "conformity_topic_name must be 1 to 256 letters, digits, hyphens or underscores (a standard SNS topic name)."
  }
}

variable "conformity_publisher_account_id" {
  description = "The AWS account Cloud One Conformity publishes SNS notifications from (717210094962, per Conformity's SNS communication-channel documentation): the only principal, besides this account, allowed to publish to the Conformity topic, and to use the module's key through SNS when the topic is encrypted."
  type        = string
  default     = "717210094962"

  validation {
    condition     = can(regex("^[0-9]{12}$", var.conformity_publisher_account_id))
    error_message = "conformity_publisher_account_id must be a 12-digit AWS account number."
  }
}

variable "encrypt_conformity_topic" {
  description = "Encrypt the Conformity topic with the module's KMS key; the key policy then lets the Conformity publisher account use the key through SNS. Opt-in: SNS uses the key as the publisher, so Conformity's own IAM must also allow it on this key, which only Conformity can grant (otherwise every publish fails, and nothing here sees it). False (the default) leaves the topic unencrypted (findings are resource names, no secret) and grants that account nothing on the key."
  type        = bool
  default     = false
}

variable "alarm_on_rejected_deliveries" {
  description = "Alarm when the trigger rejects a delivery (metric AutoRemediate/Deliveries, Delivery=Rejected): a publisher is sending malformed or hostile messages to the topic. The metric's namespace is shared by every deployment in the account and region."
  type        = bool
  default     = true
}

variable "lambda_zip" {
  description = "The zipped `bootstrap` binary built by `make package`. Null means `../target/lambda/<architecture>/bootstrap/bootstrap.zip` relative to this module."
  type        = string
  default     = null
}

variable "architecture" {
  description = "The Lambda architecture the zip was built for."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64."
  }
}

variable "signing_key_store" {
  description = "Where the approval-link signing key is kept: `secretsmanager` (a secret; AWSCURRENT signs, AWSPREVIOUS still verifies after a rotation) or `ssm` (a SecureString parameter)."
  type        = string
  default     = "secretsmanager"

  validation {
    condition     = contains(["secretsmanager", "ssm"], var.signing_key_store)
    error_message = "signing_key_store must be secretsmanager or ssm."
  }
}

variable "create_ses_identity" {
  description = "Create the SES e-mail identity of `approval.sender` (SES then mails it a verification link). False when the address or its domain is already a verified identity."
  type        = bool
  default     = true
}

variable "verify_approver_addresses" {
  description = "Also create an SES identity for each approver: needed while the account's SES is in the sandbox, where recipients must be verified too."
  type        = bool
  default     = false
}

variable "outcome_email_addresses" {
  description = "Addresses subscribed to the outcome topic (every execution's end, and the alarms). Each must confirm its subscription."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.outcome_email_addresses : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", a))])
    error_message = "outcome_email_addresses must be e-mail addresses."
  }
}

variable "alarm_actions" {
  description = "More ARNs (SNS topics, ...) notified by the alarms, besides the outcome topic."
  type        = list(string)
  default     = []
}

variable "state_machine_log_level" {
  description = "Step Functions logging level. Execution data is never logged (it carries the approval task token)."
  type        = string
  default     = "ERROR"

  validation {
    condition     = contains(["ERROR", "ALL"], var.state_machine_log_level)
    error_message = "state_machine_log_level must be ERROR or ALL."
  }
}

variable "log_retention_days" {
  description = "Retention of the functions', the state machine's and the approval API's log groups."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ..., 365, ..., 3653)."
  }
}

variable "log_level" {
  description = "The handlers' application log level (Lambda's JSON log format; every line carries the execution, rule and resource)."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"], upper(var.log_level))
    error_message = "log_level must be one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL."
  }
}

variable "approval_api_throttling" {
  description = "Rate (requests per second) and burst limits of the approval pages' HTTP API."
  type = object({
    rate_limit  = number
    burst_limit = number
  })
  default = {
    rate_limit  = 5
    burst_limit = 20
  }
}

variable "tags" {
  description = "Tags merged into every resource's tags (after the module's own `service = auto-remediate`, one of the default exclusion tags, so the remediator never touches its own resources)."
  type        = map(string)
  default     = {}
}

variable "subscribe_security_hub" {
  description = "Invoke the trigger with AWS Security Hub's 'Security Hub Findings - Imported' events from this account's default event bus: FAILED, ACTIVE findings of the controls lambdas/core/catalog/sources.json maps, not SUPPRESSED or RESOLVED (the trigger sorts again whatever arrives). Deploy in the Security Hub administrator account and its aggregation Region to receive every member account's and linked Region's findings (cross-Region aggregation sends them all to that Region's bus). Also grants notify securityhub:BatchUpdateFindings on this account's hubs: once all runs of a finding have ended it is set RESOLVED with a note naming the executions when every mapped rule healed or was already compliant, and given a note only otherwise (lambdas/notify/src/securityhub.rs)."
  type        = bool
  default     = false
}

variable "subscribe_config_rules" {
  description = "Invoke the trigger with AWS Config's 'Config Rules Compliance Change' events (NON_COMPLIANT) from this account's default event bus. Config sends them in each account and Region where the rule runs: forward them to this bus (an EventBridge rule in each member account and Region targeting it, allowed by the bus's policy) to heal an organization from one deployment. A managed rule is known by its Config rule's name (the documented one, securityhub-<name>-<suffix>, <name>-conformance-pack-<suffix>); map rules named otherwise in the config's sources.config_rules (rule name to managed rule identifier), else their events are acknowledged RuleNotHealed."
  type        = bool
  default     = false
}
