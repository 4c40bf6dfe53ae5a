# JWT auth, CORS, custom throttling, and routes to a function's alias.
provider "aws" {
  region = "eu-west-1"
}

module "function" {
  source = "../../../lambda-function"

  function_name = "example-api-backend"
  package_path  = "${path.module}/../../../lambda-function/examples/basic/package.zip"
  handler       = "app.handler"
  alias_name    = "live"
}

module "api" {
  source = "../.."

  name = "example-api-complete"
  routes = {
    for route in ["GET /items/{id}", "PUT /items/{id}"] : route => {
      function_name = module.function.function_name
      invoke_arn    = module.function.invoke_arn
      qualifier     = module.function.qualifier
    }
  }
  authorization = {
    type = "JWT"
    jwt  = { issuer = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_example", audience = ["example-client"] }
  }
  throttling  = { rate_limit = 20, burst_limit = 40 }
  access_logs = { retention_in_days = 731 }
  cors        = { allow_origins = ["https://shop.example.com"] }
}

output "api_endpoint" {
  description = "Call it with a bearer token."
  value       = module.api.api_endpoint
}
