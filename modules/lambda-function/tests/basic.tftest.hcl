mock_provider "aws" {
  mock_data "aws_region" {
    defaults = { region = "eu-west-1" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
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
