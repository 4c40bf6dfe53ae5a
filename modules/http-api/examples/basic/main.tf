# One IAM-authorised route to an existing function.
provider "aws" {
  region = "eu-west-1"
}

module "api" {
  source = "../.."

  name = "example-api"
  routes = {
    "GET /hello" = {
      function_name = "example-hello"
      invoke_arn    = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:111122223333:function:example-hello/invocations"
    }
  }
}

output "api_endpoint" {
  description = "Call it with SigV4."
  value       = module.api.api_endpoint
}
