# RBAC: an application user whose password lives only in Secrets Manager, and a
# replacement "default" user that is switched off, so unauthenticated access is impossible.

resource "random_password" "app" {
  length  = 32
  special = false # ElastiCache passwords exclude several special characters
}

resource "random_password" "disabled_default" {
  length  = 32
  special = false
}

resource "aws_elasticache_user" "app" {
  user_id       = "${var.name}-app"
  user_name     = "${var.name}-app"
  engine        = "valkey"
  access_string = var.access_string
  tags          = var.tags

  authentication_mode {
    type      = "password"
    passwords = [random_password.app.result]
  }
}

resource "aws_elasticache_user" "disabled_default" {
  user_id       = "${var.name}-default-off"
  user_name     = "default"
  engine        = "valkey"
  access_string = "off -@all"
  tags          = var.tags

  authentication_mode {
    type      = "password"
    passwords = [random_password.disabled_default.result]
  }
}

resource "aws_elasticache_user_group" "this" {
  user_group_id = var.name
  engine        = "valkey"
  user_ids      = [aws_elasticache_user.disabled_default.user_id, aws_elasticache_user.app.user_id]
  tags          = var.tags
}

resource "aws_secretsmanager_secret" "credentials" {
  #checkov:skip=CKV2_AWS_57:ElastiCache RBAC passwords have no managed rotation Lambda; rotate by tainting random_password.app, which updates the user and the secret together
  name_prefix             = "${var.name}/cache-credentials-"
  description             = "RBAC user of cache ${var.name}: {\"username\", \"password\"}"
  kms_key_id              = local.kms_key_arn
  recovery_window_in_days = var.secret_recovery_window_in_days
  tags                    = var.tags
}

resource "aws_secretsmanager_secret_version" "credentials" {
  secret_id = aws_secretsmanager_secret.credentials.id
  secret_string = jsonencode({
    username = aws_elasticache_user.app.user_name
    password = random_password.app.result
  })
}
