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

output "cache_name" {
  description = "Replication group id or serverless cache name: the host part of an IAM authentication token."
  value       = local.cache_name
}

output "cache_arn" {
  description = "ARN of the replication group or serverless cache."
  value       = local.cache_arn
}

output "user_id" {
  description = "The application user (user id and user name are equal, as IAM authentication requires)."
  value       = aws_elasticache_user.app.user_id
}

output "client_connect_policy_statement" {
  description = "The IAM statement a client needs to authenticate as the application user: elasticache:Connect on this cache and this user only. Fits lambda-function's policy_statements."
  value = {
    sid        = "CacheConnectAsAppUser"
    actions    = ["elasticache:Connect"]
    resources  = [local.cache_arn, aws_elasticache_user.app.arn]
    conditions = []
  }
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
  description = "Key for data at rest and the logs."
  value       = local.kms_key_arn
}

output "user_name" {
  description = "Name of the application RBAC user."
  value       = aws_elasticache_user.app.user_name
}
