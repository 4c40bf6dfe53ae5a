# A STANDARD state machine that invokes one function, with encrypted logs and X-Ray.
provider "aws" {
  region = "eu-west-1"
}

module "hello" {
  source = "../../../lambda-function"

  function_name = "example-workflow-hello"
  package_path  = "${path.module}/../../../lambda-function/examples/basic/package.zip"
  handler       = "app.handler"
}

module "workflow" {
  source = "../.."

  name                 = "example-hello"
  definition_template  = "${path.module}/hello.asl.json"
  template_variables   = { hello_arn = module.hello.function_arn }
  lambda_function_arns = [module.hello.function_arn]
}

output "state_machine_arn" {
  description = "Start executions here."
  value       = module.workflow.arn
}
