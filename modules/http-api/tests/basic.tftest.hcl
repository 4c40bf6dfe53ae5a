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
    condition     = output.api_endpoint != ""
    error_message = "the basic example creates an API"
  }
}

run "iam_auth_by_default" {
  command = apply

  variables {
    name = "unit"
    routes = {
      "GET /x" = { function_name = "fn", invoke_arn = "arn:aws:apigateway:eu-west-1:lambda:path/fn" }
    }
  }

  assert {
    condition     = aws_apigatewayv2_route.this["GET /x"].authorization_type == "AWS_IAM"
    error_message = "routes must default to IAM authorization"
  }
}

run "jwt_needs_its_settings" {
  command = plan

  variables {
    name          = "unit"
    authorization = { type = "JWT" }
    routes = {
      "GET /x" = { function_name = "fn", invoke_arn = "arn:aws:apigateway:eu-west-1:lambda:path/fn" }
    }
  }

  expect_failures = [var.authorization]
}
