output "handlers" {
  description = "The handler names of the catalog, in its order (one Lambda function and one role each)."
  value       = [for h in var.catalog.handlers : h.name]
}

output "handler_policies" {
  description = "Per handler, its role's policy document (JSON): the catalog's actions for it, scoped, plus the platform actions."
  value = {
    for name, statements in local.handler_statements : name => jsonencode({
      Version   = "2012-10-17"
      Statement = statements
    })
  }

  precondition {
    condition     = length(local.unmapped_own_actions) == 0
    error_message = "Handler actions with no resource mapping in infra/modules/policies (add them to own_action_resources): ${join(", ", local.unmapped_own_actions)}."
  }
}

output "member_read_policy" {
  description = "The member-account read role's policy document (JSON): every rule's read actions, no write."
  value = jsonencode({
    Version   = "2012-10-17"
    Statement = local.member_statements.read
  })
}

output "member_write_policy" {
  description = "The member-account write role's policy document (JSON): every rule's read and write actions."
  value = jsonencode({
    Version   = "2012-10-17"
    Statement = local.member_statements.write
  })
}

output "assumes_member_roles" {
  description = "The handlers whose actions include sts:AssumeRole (they act in member accounts through a member role)."
  value       = sort([for h in var.catalog.handlers : h.name if contains(h.actions, "sts:AssumeRole")])
}

output "member_role_handlers" {
  description = "Member role (`read`, `write`) → the handlers that assume it (catalog `handlers[].member_role`): whom each role trusts."
  value = {
    for role in ["read", "write"] : role => sort([for h in var.catalog.handlers : h.name if try(h.member_role, null) == role])
  }
}

output "unscoped_rule_actions" {
  description = "Rule actions granted on `*`: those without resource-level permissions, and any a new family added that has no pattern here yet."
  value       = local.unscoped_rule_actions
}
