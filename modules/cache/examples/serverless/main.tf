# ElastiCache Serverless for Valkey: cluster-mode only, so clients use a cluster client.
provider "aws" {
  region = "eu-west-1"
}

module "network" {
  source = "../../../network"

  name     = "example-serverless"
  az_count = 3
}

# The cache's client: a function in the same private subnets.
module "client" {
  source = "../../../lambda-function"

  function_name = "example-serverless-client"
  package_path  = "${path.module}/../../../lambda-function/examples/basic/package.zip"
  handler       = "app.handler"
  vpc = {
    vpc_id     = module.network.vpc_id
    subnet_ids = module.network.private_subnet_ids
  }
  # IAM authentication: the function signs a token for the app user; no password exists.
  environment_variables = {
    CACHE_ENDPOINT   = "${module.cache.endpoint}:${module.cache.port}"
    CACHE_NAME       = module.cache.cache_name
    CACHE_USER       = module.cache.user_id
    CACHE_SERVERLESS = "true"
  }
  policy_statements = [module.cache.client_connect_policy_statement]
}

module "cache" {
  source = "../.."

  name                      = "example-serverless"
  mode                      = "serverless"
  vpc_id                    = module.network.vpc_id
  subnet_ids                = module.network.private_subnet_ids
  client_security_group_ids = [module.client.security_group_id]
  serverless                = { max_data_storage_gb = 2, max_ecpu_per_second = 2000 }
}

output "endpoint" {
  description = "Connect with a cluster-mode client, TLS and an IAM authentication token for the app user."
  value       = "${module.cache.endpoint}:${module.cache.port}"
}
