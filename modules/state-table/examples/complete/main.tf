# Every option: a stream for change data capture, a GSI, an existing key and a short PITR window.
provider "aws" {
  region = "eu-west-1"
}

data "aws_caller_identity" "current" {}

resource "aws_kms_key" "shared" {
  description         = "Shared key for the example's state"
  enable_key_rotation = true
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "AccountAdministers"
      Effect    = "Allow"
      Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:root" }
      Action    = "kms:*"
      Resource  = "*"
    }]
  })
}

module "state_table" {
  source = "../.."

  name                = "example-complete-state"
  keys                = { partition = "pk", sort = "sk" }
  ttl_attribute       = "expires_at"
  deletion_protection = false

  point_in_time_recovery_days = 7
  kms                         = { create_key = false, key_arn = aws_kms_key.shared.arn }
  stream                      = { enabled = true, view_type = "NEW_AND_OLD_IMAGES" }

  global_secondary_indexes = [
    { name = "by-status", partition_key = "status", sort_key = "updated_at", projection_type = "KEYS_ONLY" },
  ]

  tags = { example = "complete" }
}

output "stream_arn" {
  description = "The table's stream."
  value       = module.state_table.stream_arn
}
