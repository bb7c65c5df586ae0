# The two roles auto-remediate assumes in a member account, each trusted by the deployment
# account's handler roles that use it, and only by those:
# - the read role (`<name>-read` unless `read_name` says): every rule's read actions, no write;
#   trusted by the handlers that only read (classify, verify, request-approval and the approval
#   callback, catalog `handlers[].member_role = "read"`);
# - the write role (`name`, the config's `member_role`): every rule's reads and writes; trusted by
#   the remediate role alone (`member_role = "write"`).
# Both policies come from lambdas/core/catalog/iam.json. Each session is narrower still: the
# handler passes a session policy holding only its family's declared actions (reads only on the
# read role; lambdas/core/src/aws.rs), and IAM grants the intersection. Deploy the root module
# first: IAM checks that trusted role ARNs exist.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  catalog   = jsondecode(file(coalesce(var.catalog_file, "${path.module}/../../../lambdas/core/catalog/iam.json")))
  read_name = coalesce(var.read_name, "${var.name}-read")
}

module "policies" {
  source = "../policies"

  catalog    = local.catalog
  partition  = data.aws_partition.current.partition
  account_id = data.aws_caller_identity.current.account_id
}

data "aws_iam_policy_document" "read_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "AWS"
      identifiers = var.trusted_role_arns.read
    }
  }
}

data "aws_iam_policy_document" "write_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "AWS"
      identifiers = var.trusted_role_arns.write
    }
  }
}

resource "aws_iam_role" "read" {
  name                 = local.read_name
  description          = "auto-remediate reads here (rules' read actions from lambdas/core/catalog/iam.json, no write)."
  assume_role_policy   = data.aws_iam_policy_document.read_trust.json
  max_session_duration = 3600
  tags                 = merge({ service = "auto-remediate" }, var.tags)

  lifecycle {
    precondition {
      condition     = local.read_name != var.name
      error_message = "read_name must differ from name: the read role holds no write."
    }
  }
}

resource "aws_iam_role_policy" "read" {
  name   = local.read_name
  role   = aws_iam_role.read.id
  policy = module.policies.member_read_policy
}

resource "aws_iam_role" "member" {
  name                 = var.name
  description          = "auto-remediate fixes here (rules' reads and writes from lambdas/core/catalog/iam.json); only the remediate role may assume it."
  assume_role_policy   = data.aws_iam_policy_document.write_trust.json
  max_session_duration = 3600
  tags                 = merge({ service = "auto-remediate" }, var.tags)
}

resource "aws_iam_role_policy" "member" {
  name   = var.name
  role   = aws_iam_role.member.id
  policy = module.policies.member_write_policy
}
