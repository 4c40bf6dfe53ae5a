# `terraform test` with a mocked AWS provider: no account, no cost. CI runs it per module.
# Mocks return random strings for computed attributes, and the provider rejects those
# where it expects an ARN: the defaults below have the right shape.
mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "111122223333", arn = "arn:aws:iam::111122223333:root" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws", dns_suffix = "amazonaws.com" }
  }
  mock_resource "aws_kms_key" {
    defaults = {
      arn    = "arn:aws:kms:eu-west-1:111122223333:key/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
      key_id = "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
    }
  }
  mock_resource "aws_kms_alias" {
    defaults = { arn = "arn:aws:kms:eu-west-1:111122223333:alias/unit-state" }
  }
  mock_resource "aws_dynamodb_table" {
    defaults = {
      arn        = "arn:aws:dynamodb:eu-west-1:111122223333:table/unit-state"
      stream_arn = "arn:aws:dynamodb:eu-west-1:111122223333:table/unit-state/stream/2025-01-01T00:00:00.000"
    }
  }
}

run "basic_example_has_secure_defaults" {
  command = apply

  module {
    source = "./examples/basic"
  }

  assert {
    condition     = output.table_name == "example-state"
    error_message = "the basic example must create the table it names"
  }
}

run "module_defaults" {
  command = apply

  variables {
    name = "unit-state"
  }

  assert {
    condition     = aws_dynamodb_table.this.point_in_time_recovery[0].enabled
    error_message = "PITR must always be on"
  }

  assert {
    condition     = aws_dynamodb_table.this.deletion_protection_enabled
    error_message = "deletion protection must default to on"
  }

  assert {
    condition     = one(aws_dynamodb_table.this.ttl).attribute_name == "expires_at"
    error_message = "TTL must default to expires_at"
  }

  assert {
    condition     = length(aws_kms_key.this) == 1 && aws_kms_key.this[0].enable_key_rotation
    error_message = "a rotating customer-managed key must be created by default"
  }

  assert {
    condition     = one(aws_dynamodb_table.this.server_side_encryption).kms_key_arn == aws_kms_key.this[0].arn
    error_message = "the table must be encrypted with the module's key"
  }
}

run "complete_example" {
  command = apply

  module {
    source = "./examples/complete"
  }

  assert {
    condition     = startswith(output.stream_arn, "arn:aws:dynamodb:")
    error_message = "the complete example streams changes"
  }
}

run "rejects_bad_pitr_window" {
  command = plan

  variables {
    name                        = "unit-state"
    point_in_time_recovery_days = 36
  }

  expect_failures = [var.point_in_time_recovery_days]
}
