# A single-node Valkey replication group in a new private network, reachable by one client group.
provider "aws" {
  region = "eu-west-1"
}

module "network" {
  source = "../../../network"

  name = "example-cache"
}

# The cache's client: a function in the same private subnets.
module "client" {
  source = "../../../lambda-function"

  function_name = "example-cache-client"
  package_path  = "${path.module}/../../../lambda-function/examples/basic/package.zip"
  handler       = "app.handler"
  vpc = {
    vpc_id     = module.network.vpc_id
    subnet_ids = module.network.private_subnet_ids
  }
  # IAM authentication: the function signs a token for the app user; no password exists.
  environment_variables = {
    CACHE_ENDPOINT = "${module.cache.endpoint}:${module.cache.port}"
    CACHE_NAME     = module.cache.cache_name
    CACHE_USER     = module.cache.user_id
  }
  policy_statements = [module.cache.client_connect_policy_statement]
}

module "cache" {
  source = "../.."

  name                      = "example-cache"
  vpc_id                    = module.network.vpc_id
  subnet_ids                = module.network.private_subnet_ids
  client_security_group_ids = [module.client.security_group_id]
}

output "endpoint" {
  description = "Connect with TLS and an IAM authentication token for the app user."
  value       = "${module.cache.endpoint}:${module.cache.port}"
}
