# `terraform test` with a mocked AWS provider. Mocks return random strings for computed
# attributes, and the provider rejects those where it expects an ARN: the defaults below
# have the right shape.
mock_provider "aws" {
  mock_data "aws_region" {
    defaults = { region = "eu-west-1" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "111122223333", arn = "arn:aws:iam::111122223333:root" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws", dns_suffix = "amazonaws.com" }
  }
  mock_data "aws_availability_zones" {
    defaults = { names = ["eu-west-1a", "eu-west-1b", "eu-west-1c"] }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_resource "aws_kms_key" {
    defaults = {
      arn    = "arn:aws:kms:eu-west-1:111122223333:key/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
      key_id = "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
    }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/unit" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::111122223333:role/unit-20250101000000000000000001" }
  }
  mock_resource "aws_sqs_queue" {
    defaults = {
      arn = "arn:aws:sqs:eu-west-1:111122223333:unit-dlq"
      url = "https://sqs.eu-west-1.amazonaws.com/111122223333/unit-dlq"
    }
  }
  mock_resource "aws_lambda_function" {
    defaults = {
      arn                  = "arn:aws:lambda:eu-west-1:111122223333:function:unit"
      qualified_arn        = "arn:aws:lambda:eu-west-1:111122223333:function:unit:1"
      invoke_arn           = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:111122223333:function:unit/invocations"
      qualified_invoke_arn = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:111122223333:function:unit:1/invocations"
      version              = "1"
    }
  }
  mock_resource "aws_lambda_alias" {
    defaults = {
      arn        = "arn:aws:lambda:eu-west-1:111122223333:function:unit:live"
      invoke_arn = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:111122223333:function:unit:live/invocations"
    }
  }
  mock_resource "aws_lambda_layer_version" {
    defaults = {
      arn       = "arn:aws:lambda:eu-west-1:111122223333:layer:unit-dependencies:1"
      layer_arn = "arn:aws:lambda:eu-west-1:111122223333:layer:unit-dependencies"
    }
  }
  # The complete example's network.
  mock_resource "aws_vpc" {
    defaults = {
      id  = "vpc-0a1b2c3d4e5f6a7b8"
      arn = "arn:aws:ec2:eu-west-1:111122223333:vpc/vpc-0a1b2c3d4e5f6a7b8"
    }
  }
  mock_resource "aws_subnet" {
    defaults = {
      id  = "subnet-0a1b2c3d4e5f6a7b8"
      arn = "arn:aws:ec2:eu-west-1:111122223333:subnet/subnet-0a1b2c3d4e5f6a7b8"
    }
  }
  mock_resource "aws_security_group" {
    defaults = {
      id  = "sg-0a1b2c3d4e5f6a7b8"
      arn = "arn:aws:ec2:eu-west-1:111122223333:security-group/sg-0a1b2c3d4e5f6a7b8"
    }
  }
  mock_resource "aws_vpc_endpoint" {
    defaults = {
      id             = "vpce-0a1b2c3d4e5f6a7b8"
      arn            = "arn:aws:ec2:eu-west-1:111122223333:vpc-endpoint/vpce-0a1b2c3d4e5f6a7b8"
      prefix_list_id = "pl-6da54004"
    }
  }
  mock_resource "aws_flow_log" {
    defaults = { arn = "arn:aws:ec2:eu-west-1:111122223333:vpc-flow-log/fl-0a1b2c3d4e5f6a7b8" }
  }
}

run "basic_example" {
  command = apply

  module {
    source = "./examples/basic"
  }

  assert {
    condition     = output.function_arn != ""
    error_message = "the basic example creates a function"
  }
}

run "secure_defaults" {
  command = apply

  variables {
    function_name = "unit"
    package_path  = "./examples/basic/package.zip"
    handler       = "app.handler"
  }

  assert {
    condition     = aws_lambda_function.this.tracing_config[0].mode == "Active"
    error_message = "X-Ray must be on by default"
  }

  assert {
    condition     = length(aws_sqs_queue.dead_letter) == 1
    error_message = "a DLQ must exist by default"
  }

  assert {
    condition     = aws_cloudwatch_log_group.this.retention_in_days == 365
    error_message = "logs are kept a year by default"
  }

  assert {
    condition     = aws_lambda_function.this.kms_key_arn == aws_kms_key.this[0].arn && one(aws_lambda_function.this.dead_letter_config).target_arn == aws_sqs_queue.dead_letter[0].arn
    error_message = "the function's own key encrypts its environment, and failed events go to its DLQ"
  }
}

run "durable_function" {
  command = apply

  variables {
    function_name  = "unit"
    package_path   = "./examples/basic/package.zip"
    handler        = "app.handler"
    alias_name     = "live"
    durable_config = { execution_timeout = 900 }
  }

  assert {
    condition     = aws_lambda_function.this.publish && terraform_data.durable_mode.input == true
    error_message = "a durable function publishes versions, and its durable mode is tracked for replacement"
  }

  assert {
    condition     = one([for s in data.aws_iam_policy_document.this.statement : s if s.sid == "CheckpointOwnDurableExecutions"]).resources == toset(["arn:aws:lambda:eu-west-1:111122223333:function:unit:*"])
    error_message = "the role may checkpoint and read the state of its own function's durable executions (qualified ARN), nothing else"
  }

  assert {
    condition     = toset(one([for s in data.aws_iam_policy_document.this.statement : s if s.sid == "CheckpointOwnDurableExecutions"]).actions) == toset(["lambda:CheckpointDurableExecution", "lambda:GetDurableExecutionState"])
    error_message = "exactly the two actions the durable SDK calls"
  }
}

run "ordinary_function_has_no_durable_permissions" {
  command = plan

  variables {
    function_name = "unit"
    package_path  = "./examples/basic/package.zip"
    handler       = "app.handler"
  }

  assert {
    condition     = length([for s in data.aws_iam_policy_document.this.statement : s if s.sid == "CheckpointOwnDurableExecutions"]) == 0 && terraform_data.durable_mode.input == false
    error_message = "without durable_config the role gets no durable execution permissions"
  }
}

run "durable_function_needs_an_alias" {
  command = plan

  variables {
    function_name  = "unit"
    package_path   = "./examples/basic/package.zip"
    handler        = "app.handler"
    durable_config = { execution_timeout = 900 }
  }

  expect_failures = [var.durable_config]
}

run "durable_limits_are_checked" {
  command = plan

  variables {
    function_name  = "unit"
    package_path   = "./examples/basic/package.zip"
    handler        = "app.handler"
    alias_name     = "live"
    durable_config = { execution_timeout = 31622401, retention_period = 91 }
  }

  expect_failures = [var.durable_config]
}

run "rejects_unsupported_runtime" {
  command = plan

  variables {
    function_name = "unit"
    package_path  = "./examples/basic/package.zip"
    handler       = "app.handler"
    runtime       = "python3.8"
  }

  expect_failures = [var.runtime]
}

run "complete_example" {
  command = apply

  module {
    source = "./examples/complete"
  }

  assert {
    condition     = endswith(output.invoke_arn, ":live/invocations")
    error_message = "with an alias, API Gateway invokes the alias"
  }
}
