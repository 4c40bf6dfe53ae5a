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
  source_dir    = "${path.module}/../../../lambda-function/examples/basic/src"
  handler       = "app.handler"
  vpc = {
    vpc_id     = module.network.vpc_id
    subnet_ids = module.network.private_subnet_ids
  }
  environment_variables = { CACHE_SECRET_ARN = module.cache.secret_arn }
  policy_statements = [
    { actions = ["secretsmanager:GetSecretValue"], resources = [module.cache.secret_arn] },
    { actions = ["kms:Decrypt"], resources = [module.cache.kms_key_arn] },
  ]
}

module "cache" {
  source = "../.."

  name                      = "example-cache"
  vpc_id                    = module.network.vpc_id
  subnet_ids                = module.network.private_subnet_ids
  client_security_group_ids = [module.client.security_group_id]
}

output "endpoint" {
  description = "Connect with TLS and the credentials in secret_arn."
  value       = "${module.cache.endpoint}:${module.cache.port}"
}
