# A function outside a VPC with the secure defaults: own KMS key, DLQ, X-Ray, 365-day logs.
provider "aws" {
  region = "eu-west-1"
}

module "function" {
  source = "../.."

  function_name = "example-basic"
  package_path  = "${path.module}/package.zip"
  handler       = "app.handler"
}

output "function_arn" {
  description = "The function."
  value       = module.function.function_arn
}
