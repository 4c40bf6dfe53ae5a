# Three AZs, NAT egress per AZ, endpoints in one AZ only, and rejected-traffic flow logs.
provider "aws" {
  region = "eu-west-1"
}

module "network" {
  source = "../.."

  name                        = "example-complete"
  cidr_block                  = "10.42.0.0/16"
  az_count                    = 3
  nat_gateway                 = { enabled = true, single = false }
  interface_endpoints         = ["states", "secretsmanager", "sts", "kms", "logs", "xray"]
  interface_endpoint_az_count = 1
  flow_logs                   = { traffic_type = "REJECT", retention_in_days = 365 }
  tags                        = { example = "complete" }
}

output "vpc_id" {
  description = "The VPC."
  value       = module.network.vpc_id
}
