# Two private subnets, a DynamoDB gateway endpoint, the default interface endpoints and flow logs.
provider "aws" {
  region = "eu-west-1"
}

module "network" {
  source = "../.."

  name = "example"
}

output "private_subnet_ids" {
  description = "Where to put functions and caches."
  value       = module.network.private_subnet_ids
}
