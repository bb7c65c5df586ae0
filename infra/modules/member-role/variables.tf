variable "name" {
  description = "The write role's name: the config's `member_role` (default `auto-remediate-member`)."
  type        = string
  default     = "auto-remediate-member"

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.name))
    error_message = "name must be an IAM role name (1 to 64 of letters, digits and +=,.@_-)."
  }
}

variable "read_name" {
  description = "The read role's name: the config's `member_read_role`; null means `<name>-read` (the config's default too)."
  type        = string
  default     = null

  validation {
    condition     = var.read_name == null || can(regex("^[A-Za-z0-9+=,.@_-]{1,64}$", var.read_name))
    error_message = "read_name must be an IAM role name (1 to 64 of letters, digits and +=,.@_-)."
  }
}

variable "trusted_role_arns" {
  description = "The deployment account's handler roles allowed to assume each role: the root module's `member_trusted_role_arns` output (`read`: the read-only handlers' roles; `write`: the remediate role)."
  type = object({
    read  = list(string)
    write = list(string)
  })

  validation {
    condition     = length(var.trusted_role_arns.read) > 0 && length(var.trusted_role_arns.write) > 0 && alltrue([for a in concat(var.trusted_role_arns.read, var.trusted_role_arns.write) : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/", a))])
    error_message = "trusted_role_arns.read and .write must be non-empty lists of IAM role ARNs."
  }

  validation {
    condition     = length(setintersection(toset(var.trusted_role_arns.read), toset(var.trusted_role_arns.write))) == 0
    error_message = "A role trusted by the read role may not be trusted by the write role: only the remediate role may write."
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
