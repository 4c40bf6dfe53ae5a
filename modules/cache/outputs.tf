output "mode" {
  description = "replication_group or serverless."
  value       = var.mode
}

output "endpoint" {
  description = "Primary (read/write) endpoint address."
  value       = local.endpoint
}

output "reader_endpoint" {
  description = "Reader endpoint address."
  value       = local.reader_endpoint
}

output "port" {
  description = "Port of the endpoint."
  value       = local.port
}

output "cluster_mode" {
  description = "Whether clients must use a cluster-mode client (true for serverless)."
  value       = local.is_serverless
}

output "secret_arn" {
  description = "Secrets Manager secret with {\"username\", \"password\"} of the application user. Grant secretsmanager:GetSecretValue on it and kms:Decrypt on kms_key_arn."
  value       = aws_secretsmanager_secret.credentials.arn
}

output "security_group_id" {
  description = "The cache's security group."
  value       = aws_security_group.this.id
}

output "client_security_group_id" {
  description = "Attach this group to a client (for example a function's vpc.security_group_ids) to let it reach the cache."
  value       = aws_security_group.client.id
}

output "kms_key_arn" {
  description = "Key for data at rest, the secret and the logs."
  value       = local.kms_key_arn
}

output "user_name" {
  description = "Name of the application RBAC user."
  value       = aws_elasticache_user.app.user_name
}
