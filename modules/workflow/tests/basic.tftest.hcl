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
    defaults = { arn = "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/vendedlogs/states/unit" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::111122223333:role/unit-sfn-20250101000000000000000001" }
  }
  mock_resource "aws_sfn_state_machine" {
    defaults = { arn = "arn:aws:states:eu-west-1:111122223333:stateMachine:unit" }
  }
  # The example's function.
  mock_resource "aws_sqs_queue" {
    defaults = {
      arn = "arn:aws:sqs:eu-west-1:111122223333:example-workflow-hello-dlq"
      url = "https://sqs.eu-west-1.amazonaws.com/111122223333/example-workflow-hello-dlq"
    }
  }
  mock_resource "aws_lambda_function" {
    defaults = {
      arn                  = "arn:aws:lambda:eu-west-1:111122223333:function:example-workflow-hello"
      qualified_arn        = "arn:aws:lambda:eu-west-1:111122223333:function:example-workflow-hello:1"
      invoke_arn           = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:111122223333:function:example-workflow-hello/invocations"
      qualified_invoke_arn = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:111122223333:function:example-workflow-hello:1/invocations"
      version              = "1"
    }
  }
}

run "basic_example" {
  command = apply

  module {
    source = "./examples/basic"
  }

  assert {
    condition     = output.state_machine_arn != ""
    error_message = "the example creates a state machine"
  }
}

run "secure_defaults" {
  command = apply

  variables {
    name                 = "unit"
    definition_template  = "./examples/basic/hello.asl.json"
    template_variables   = { hello_arn = "arn:aws:lambda:eu-west-1:111122223333:function:hello" }
    lambda_function_arns = ["arn:aws:lambda:eu-west-1:111122223333:function:hello"]
  }

  assert {
    condition     = aws_sfn_state_machine.this.tracing_configuration[0].enabled
    error_message = "X-Ray must be on"
  }

  assert {
    condition     = !aws_sfn_state_machine.this.logging_configuration[0].include_execution_data
    error_message = "payload logging must be opt-in"
  }

  assert {
    condition     = one(aws_sfn_state_machine.this.encryption_configuration).kms_key_id == aws_kms_key.this[0].arn && aws_sfn_state_machine.this.role_arn == aws_iam_role.this.arn
    error_message = "execution data is encrypted with the module's key, and the machine runs as its own role"
  }

  assert {
    condition     = jsondecode(aws_sfn_state_machine.this.definition).States.Hello.Parameters.FunctionName == "arn:aws:lambda:eu-west-1:111122223333:function:hello"
    error_message = "the template's placeholders are filled from template_variables"
  }
}

run "rejects_unknown_type" {
  command = plan

  variables {
    name                = "unit"
    definition_template = "./examples/basic/hello.asl.json"
    template_variables  = { hello_arn = "arn:aws:lambda:eu-west-1:111122223333:function:hello" }
    type                = "FAST"
  }

  expect_failures = [var.type]
}
