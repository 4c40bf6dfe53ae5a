output "name" {
  description = "Table name."
  value       = aws_dynamodb_table.this.name
}

output "arn" {
  description = "Table ARN (for IAM statements; add \"/index/*\" for the GSIs)."
  value       = aws_dynamodb_table.this.arn
}

output "stream_arn" {
  description = "Stream ARN, or null when the stream is off."
  value       = var.stream.enabled ? aws_dynamodb_table.this.stream_arn : null
}

output "kms_key_arn" {
  description = "ARN of the key that encrypts the table; functions need kms:Decrypt on it."
  value       = local.kms_key_arn
}

output "keys" {
  description = "Partition and sort key attribute names."
  value       = var.keys
}

output "ttl_attribute" {
  description = "The TTL attribute, or null."
  value       = var.ttl_attribute
}
