# The whole deployment account plus one member account's role. Replace the account numbers and
# addresses in config.json and below, run `make package` at the repository root, then
# `terraform init && terraform apply` here.

provider "aws" {
  region = var.region
}

provider "aws" {
  alias  = "member"
  region = var.region
  assume_role {
    role_arn = var.member_admin_role_arn
  }
}

variable "region" {
  description = "Where auto-remediate runs."
  type        = string
  default     = "eu-west-1"
}

variable "conformity_publisher_account_id" {
  description = "The account Conformity publishes from (Conformity's SNS channel documentation)."
  type        = string
  default     = "717210094962"
}

variable "member_admin_role_arn" {
  description = "A role in the member account allowed to create IAM roles (for the member role)."
  type        = string
}

module "auto_remediate" {
  source = "../.."

  config_json                     = file("${path.module}/config.json")
  conformity_publisher_account_id = var.conformity_publisher_account_id
  architecture                    = "arm64"
  signing_key_store               = "secretsmanager"
  outcome_email_addresses         = ["security-oncall@example.com"]

  tags = {
    owner = "security"
  }
}

module "member_role" {
  source    = "../../modules/member-role"
  providers = { aws = aws.member }

  name              = jsondecode(file("${path.module}/config.json")).member_role
  read_name         = try(jsondecode(file("${path.module}/config.json")).member_read_role, null)
  trusted_role_arns = module.auto_remediate.member_trusted_role_arns
}

output "conformity_topic_arn" {
  value = module.auto_remediate.conformity_topic_arn
}

output "state_machine_console_url" {
  value = module.auto_remediate.state_machine_console_url
}

output "approval_base_url" {
  value = module.auto_remediate.approval_base_url
}
