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
    defaults = { arn = "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/apigateway/unit" }
  }
  mock_resource "aws_apigatewayv2_api" {
    defaults = {
      id            = "a1b2c3d4e5"
      arn           = "arn:aws:apigateway:eu-west-1::/apis/a1b2c3d4e5"
      execution_arn = "arn:aws:execute-api:eu-west-1:111122223333:a1b2c3d4e5"
      api_endpoint  = "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com"
    }
  }
  # The complete example's function.
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::111122223333:role/example-api-backend-20250101000000000000000001" }
  }
  mock_resource "aws_sqs_queue" {
    defaults = {
      arn = "arn:aws:sqs:eu-west-1:111122223333:example-api-backend-dlq"
      url = "https://sqs.eu-west-1.amazonaws.com/111122223333/example-api-backend-dlq"
    }
  }
  mock_resource "aws_lambda_function" {
    defaults = {
      arn                  = "arn:aws:lambda:eu-west-1:111122223333:function:example-api-backend"
      qualified_arn        = "arn:aws:lambda:eu-west-1:111122223333:function:example-api-backend:1"
      invoke_arn           = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:111122223333:function:example-api-backend/invocations"
      qualified_invoke_arn = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:111122223333:function:example-api-backend:1/invocations"
      version              = "1"
    }
  }
  mock_resource "aws_lambda_alias" {
    defaults = {
      arn        = "arn:aws:lambda:eu-west-1:111122223333:function:example-api-backend:live"
      invoke_arn = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:111122223333:function:example-api-backend:live/invocations"
    }
  }
  mock_resource "aws_apigatewayv2_stage" {
    defaults = {
      arn           = "arn:aws:apigateway:eu-west-1::/apis/a1b2c3d4e5/stages/$default"
      execution_arn = "arn:aws:execute-api:eu-west-1:111122223333:a1b2c3d4e5/$default"
      invoke_url    = "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/"
    }
  }
}

# On a fresh account a function's invoke_arn is known only after apply. The helper feeds
# the module invoke ARNs from terraform_data outputs, which a plan leaves unknown.
run "plans_while_invoke_arns_are_unknown" {
  command = plan

  module {
    source = "./tests/setup"
  }

  variables {
    routes = {
      "GET /x"    = { function_name = "fn" }
      "PUT /x"    = { function_name = "fn" }
      "GET /live" = { function_name = "fn", qualifier = "live" }
    }
  }

  assert {
    condition     = toset(keys(module.api.integration_ids)) == toset(["fn", "fn:live"])
    error_message = "one integration per function and qualifier, keyed by names known at plan"
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

# The function is created in the same apply, so plan sees its invoke ARN as unknown.
run "complete_example" {
  command = apply

  module {
    source = "./examples/complete"
  }

  assert {
    condition     = output.api_endpoint == "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com"
    error_message = "the complete example creates an API"
  }
}

run "iam_auth_by_default" {
  command = apply

  variables {
    name = "unit"
    routes = {
      "GET /x" = { function_name = "fn", invoke_arn = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:111122223333:function:fn/invocations" }
    }
  }

  assert {
    condition     = aws_apigatewayv2_route.this["GET /x"].authorization_type == "AWS_IAM"
    error_message = "routes must default to IAM authorization"
  }

  assert {
    condition     = aws_lambda_permission.this["fn"].source_arn == "arn:aws:execute-api:eu-west-1:111122223333:a1b2c3d4e5/*/*"
    error_message = "only this API may invoke the function"
  }

  assert {
    condition     = aws_apigatewayv2_integration.this["fn"].integration_uri == "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:111122223333:function:fn/invocations"
    error_message = "the integration calls the route's function"
  }
}

run "jwt_needs_its_settings" {
  command = plan

  variables {
    name          = "unit"
    authorization = { type = "JWT" }
    routes = {
      "GET /x" = { function_name = "fn", invoke_arn = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:111122223333:function:fn/invocations" }
    }
  }

  expect_failures = [var.authorization]
}
