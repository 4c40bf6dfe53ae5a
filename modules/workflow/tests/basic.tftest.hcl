mock_provider "aws" {
  mock_data "aws_region" {
    defaults = { region = "eu-west-1" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

mock_provider "archive" {}

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
}

run "rejects_unknown_type" {
  command = plan

  variables {
    name                = "unit"
    definition_template = "./examples/basic/hello.asl.json"
    type                = "FAST"
  }

  expect_failures = [var.type]
}
