# The role auto-remediate assumes in a member account, trusted by the deployment account's handler
# roles only. Its policy is the union of every rule's read and write actions from the catalog; each
# session is narrower: the handler passes a session policy holding only its family's declared
# actions (lambdas/core/src/aws.rs), and IAM grants the intersection. Deploy the root module first:
# IAM checks that trusted role ARNs exist.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  catalog = jsondecode(file(coalesce(var.catalog_file, "${path.module}/../../../lambdas/core/catalog/iam.json")))
}

module "policies" {
  source = "../policies"

  catalog    = local.catalog
  partition  = data.aws_partition.current.partition
  account_id = data.aws_caller_identity.current.account_id
}

data "aws_iam_policy_document" "trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "AWS"
      identifiers = var.trusted_role_arns
    }
  }
}

resource "aws_iam_role" "member" {
  name                 = var.name
  description          = "auto-remediate acts here (rules' reads and writes from lambdas/core/catalog/iam.json)."
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  max_session_duration = 3600
  tags                 = merge({ service = "auto-remediate" }, var.tags)
}

resource "aws_iam_role_policy" "member" {
  name   = var.name
  role   = aws_iam_role.member.id
  policy = module.policies.member_policy
}
