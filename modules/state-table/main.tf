data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  create_key  = var.kms.create_key
  kms_key_arn = local.create_key ? aws_kms_key.this[0].arn : var.kms.key_arn

  index_attributes = flatten([
    for index in var.global_secondary_indexes : compact([index.partition_key, index.sort_key])
  ])
  attributes = distinct(concat([var.keys.partition, var.keys.sort], local.index_attributes))
}

data "aws_iam_policy_document" "key" {
  count = local.create_key ? 1 : 0
  # In a key policy "*" is this key, and account-root administration is AWS's default
  # key policy; without it the key becomes unmanageable.
  #checkov:skip=CKV_AWS_111:key policy: Resource "*" means this key only
  #checkov:skip=CKV_AWS_356:key policy: Resource "*" means this key only
  #checkov:skip=CKV_AWS_109:key policy: account-root administration is AWS's default key policy

  # DynamoDB uses the key through grants made for principals that already have table
  # permissions, so the policy needs no service statement.
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
}

resource "aws_kms_key" "this" {
  count = local.create_key ? 1 : 0

  description             = "Encrypts DynamoDB table ${var.name}"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms.deletion_window_in_days
  policy                  = data.aws_iam_policy_document.key[0].json
  tags                    = var.tags
}

resource "aws_kms_alias" "this" {
  count = local.create_key ? 1 : 0

  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this[0].key_id
}

resource "aws_dynamodb_table" "this" {
  name                        = var.name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = var.keys.partition
  range_key                   = var.keys.sort
  deletion_protection_enabled = var.deletion_protection
  stream_enabled              = var.stream.enabled
  stream_view_type            = var.stream.enabled ? var.stream.view_type : null

  dynamic "attribute" {
    for_each = toset(local.attributes)
    content {
      name = attribute.value
      type = "S"
    }
  }

  dynamic "ttl" {
    for_each = var.ttl_attribute == null ? [] : [var.ttl_attribute]
    content {
      attribute_name = ttl.value
      enabled        = true
    }
  }

  # Always on: a state table without continuous backups is not a state table.
  point_in_time_recovery {
    enabled                 = true
    recovery_period_in_days = var.point_in_time_recovery_days
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = local.kms_key_arn
  }

  dynamic "global_secondary_index" {
    for_each = { for index in var.global_secondary_indexes : index.name => index }
    content {
      name               = global_secondary_index.key
      projection_type    = global_secondary_index.value.projection_type
      non_key_attributes = global_secondary_index.value.projection_type == "INCLUDE" ? global_secondary_index.value.non_key_attributes : null

      key_schema {
        attribute_name = global_secondary_index.value.partition_key
        key_type       = "HASH"
      }

      dynamic "key_schema" {
        for_each = global_secondary_index.value.sort_key == null ? [] : [global_secondary_index.value.sort_key]
        content {
          attribute_name = key_schema.value
          key_type       = "RANGE"
        }
      }
    }
  }

  tags = var.tags
}
