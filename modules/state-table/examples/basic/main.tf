# The smallest useful table: pk/sk, TTL on expires_at, PITR, a customer-managed key.
provider "aws" {
  region = "eu-west-1"
}

module "state_table" {
  source = "../.."

  name = "example-state"
}

output "table_name" {
  description = "The table's name."
  value       = module.state_table.name
}
