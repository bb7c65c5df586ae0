output "role_arn" {
  description = "The member role (the deployment's config lists this account in `accounts`)."
  value       = aws_iam_role.member.arn
}

output "role_name" {
  description = "The role's name: the config's `member_role`."
  value       = aws_iam_role.member.name
}
