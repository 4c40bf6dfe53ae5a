# `terraform test` with a mocked AWS provider: no account, no cost. CI runs it per module.
mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "111122223333" }
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
}

run "rejects_bad_pitr_window" {
  command = plan

  variables {
    name                        = "unit-state"
    point_in_time_recovery_days = 36
  }

  expect_failures = [var.point_in_time_recovery_days]
}
