# RBAC with IAM authentication: the application user has no password anywhere. A client
# signs a short-lived token (15 minutes) with its own IAM credentials and sends it in AUTH;
# ElastiCache admits it when the caller may elasticache:Connect on this cache and this user
# (client_connect_policy_statement). IAM users need user_id == user_name, Valkey or Redis OSS
# 7+, and TLS, which the replication group requires.
# The "default" user is replaced by one that is switched off ("off"), so no connection is
# ever unauthenticated; it needs no password because a disabled user cannot log in at all.

resource "aws_elasticache_user" "app" {
  user_id       = "${var.name}-app"
  user_name     = "${var.name}-app"
  engine        = "valkey"
  access_string = var.access_string
  tags          = var.tags

  authentication_mode {
    type = "iam"
  }
}

resource "aws_elasticache_user" "disabled_default" {
  user_id       = "${var.name}-default-off"
  user_name     = "default"
  engine        = "valkey"
  access_string = "off -@all"
  tags          = var.tags

  authentication_mode {
    type = "no-password-required"
  }
}

resource "aws_elasticache_user_group" "this" {
  user_group_id = var.name
  engine        = "valkey"
  user_ids      = [aws_elasticache_user.disabled_default.user_id, aws_elasticache_user.app.user_id]
  tags          = var.tags
}
