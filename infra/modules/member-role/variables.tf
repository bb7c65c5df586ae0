variable "name" {
  description = "The role's name: the config's `member_role` (default `auto-remediate-member`)."
  type        = string
  default     = "auto-remediate-member"

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.name))
    error_message = "name must be an IAM role name (1 to 64 of letters, digits and +=,.@_-)."
  }
}

variable "trusted_role_arns" {
  description = "The deployment account's handler roles allowed to assume this role: the root module's `member_trusted_role_arns` output."
  type        = list(string)

  validation {
    condition     = length(var.trusted_role_arns) > 0 && alltrue([for a in var.trusted_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/", a))])
    error_message = "trusted_role_arns must be a non-empty list of IAM role ARNs."
  }
}

variable "catalog_file" {
  description = "The IAM catalog; null means this repository's lambdas/core/catalog/iam.json."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags merged into the role's tags."
  type        = map(string)
  default     = {}
}
