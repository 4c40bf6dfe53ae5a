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

  name                      = "example-serverless"
  mode                      = "serverless"
  vpc_id                    = module.network.vpc_id
  subnet_ids                = module.network.private_subnet_ids
  client_security_group_ids = [module.client.security_group_id]
  serverless                = { max_data_storage_gb = 2, max_ecpu_per_second = 2000 }
}

output "endpoint" {
  description = "Connect with a cluster-mode client, TLS and the credentials in secret_arn."
  value       = "${module.cache.endpoint}:${module.cache.port}"
}
