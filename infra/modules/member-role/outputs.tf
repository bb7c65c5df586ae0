output "role_arn" {
  description = "The write role (the deployment's config lists this account in `accounts`)."
  value       = aws_iam_role.member.arn
}

output "role_name" {
  description = "The write role's name: the config's `member_role`."
  value       = aws_iam_role.member.name
}

output "read_role_arn" {
  description = "The read role."
  value       = aws_iam_role.read.arn
}

output "read_role_name" {
  description = "The read role's name: the config's `member_read_role` (default `<member_role>-read`)."
  value       = aws_iam_role.read.name
}
