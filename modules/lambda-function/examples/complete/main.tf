# A VPC function with SnapStart behind an alias, the public Powertools layer and a table grant.
provider "aws" {
  region = "eu-west-1"
}

module "network" {
  source = "../../../network"

  name = "example-fn"
}

module "function" {
  source = "../.."

  function_name        = "example-complete"
  package_path         = "${path.module}/../basic/package.zip"
  handler              = "app.handler"
  memory_size          = 1024
  timeout              = 15
  reserved_concurrency = 5
  snap_start           = true
  alias_name           = "live"
  powertools_layer     = { enabled = true }

  environment_variables = { POWERTOOLS_SERVICE_NAME = "example" }

  vpc = {
    vpc_id     = module.network.vpc_id
    subnet_ids = module.network.private_subnet_ids
    egress_rules = [
      { description = "DynamoDB gateway endpoint", from_port = 443, to_port = 443, prefix_list_id = module.network.dynamodb_prefix_list_id },
      { description = "Interface endpoints", from_port = 443, to_port = 443, cidr_ipv4 = module.network.vpc_cidr_block },
    ]
  }

  policy_statements = [
    {
      sid       = "ReadExampleTable"
      actions   = ["dynamodb:GetItem"]
      resources = ["arn:aws:dynamodb:eu-west-1:111122223333:table/example"]
    },
  ]
}

output "invoke_arn" {
  description = "API Gateway integration URI of the alias."
  value       = module.function.invoke_arn
}
