# `terraform test` with a mocked AWS provider. Mocks return random strings for computed
# attributes, and the provider rejects those where it expects an ARN; the defaults below have the
# right shape. The SSM public parameter stands for AWS's FIS extension layer of the region.
mock_provider "aws" {
  mock_data "aws_region" {
    defaults = { region = "eu-west-1" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "111122223333", arn = "arn:aws:iam::111122223333:root" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws", dns_suffix = "amazonaws.com" }
  }
  mock_data "aws_availability_zones" {
    defaults = { names = ["eu-west-1a", "eu-west-1b", "eu-west-1c"] }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_data "aws_ssm_parameter" {
    defaults = { value = "arn:aws:lambda:eu-west-1:444455556666:layer:aws-fis-extension-arm64:9", insecure_value = "arn:aws:lambda:eu-west-1:444455556666:layer:aws-fis-extension-arm64:9" }
  }
  mock_resource "aws_kms_key" {
    defaults = {
      arn    = "arn:aws:kms:eu-west-1:111122223333:key/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
      key_id = "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
    }
  }
  mock_resource "aws_s3_bucket" {
    defaults = { arn = "arn:aws:s3:::unit-fis-fis-config-111122223333" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/fis/unit-fis" }
  }
  mock_resource "aws_cloudwatch_metric_alarm" {
    defaults = { arn = "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:example-alarm" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::111122223333:role/unit-fis-fis-role" }
  }
  mock_resource "aws_fis_experiment_template" {
    defaults = { id = "EXT1a2b3c4d5e6f7" }
  }
  # The examples' function, network and cache.
  mock_resource "aws_sqs_queue" {
    defaults = {
      arn = "arn:aws:sqs:eu-west-1:111122223333:example-fis-target-dlq"
      url = "https://sqs.eu-west-1.amazonaws.com/111122223333/example-fis-target-dlq"
    }
  }
  mock_resource "aws_lambda_function" {
    defaults = {
      arn                  = "arn:aws:lambda:eu-west-1:111122223333:function:example-fis-target"
      qualified_arn        = "arn:aws:lambda:eu-west-1:111122223333:function:example-fis-target:1"
      invoke_arn           = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:111122223333:function:example-fis-target/invocations"
      qualified_invoke_arn = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:111122223333:function:example-fis-target:1/invocations"
      version              = "1"
    }
  }
  mock_resource "aws_security_group" {
    defaults = {
      id  = "sg-0a1b2c3d4e5f6a7b8"
      arn = "arn:aws:ec2:eu-west-1:111122223333:security-group/sg-0a1b2c3d4e5f6a7b8"
    }
  }
  mock_resource "aws_vpc" {
    defaults = {
      id  = "vpc-0a1b2c3d4e5f6a7b8"
      arn = "arn:aws:ec2:eu-west-1:111122223333:vpc/vpc-0a1b2c3d4e5f6a7b8"
    }
  }
  mock_resource "aws_subnet" {
    defaults = {
      id  = "subnet-0a1b2c3d4e5f6a7b8"
      arn = "arn:aws:ec2:eu-west-1:111122223333:subnet/subnet-0a1b2c3d4e5f6a7b8"
    }
  }
  mock_resource "aws_vpc_endpoint" {
    defaults = {
      id             = "vpce-0a1b2c3d4e5f6a7b8"
      arn            = "arn:aws:ec2:eu-west-1:111122223333:vpc-endpoint/vpce-0a1b2c3d4e5f6a7b8"
      prefix_list_id = "pl-6da54004"
    }
  }
  mock_resource "aws_flow_log" {
    defaults = { arn = "arn:aws:ec2:eu-west-1:111122223333:vpc-flow-log/fl-0a1b2c3d4e5f6a7b8" }
  }
  mock_resource "aws_elasticache_user" {
    defaults = { arn = "arn:aws:elasticache:eu-west-1:111122223333:user:example-fis-cache-app" }
  }
  mock_resource "aws_elasticache_user_group" {
    defaults = { arn = "arn:aws:elasticache:eu-west-1:111122223333:usergroup:example-fis-cache" }
  }
  mock_resource "aws_elasticache_replication_group" {
    defaults = {
      arn                      = "arn:aws:elasticache:eu-west-1:111122223333:replicationgroup:example-fis-cache"
      primary_endpoint_address = "master.example-fis-cache.abc123.euw1.cache.amazonaws.com"
      reader_endpoint_address  = "replica.example-fis-cache.abc123.euw1.cache.amazonaws.com"
    }
  }
  mock_resource "aws_cloudwatch_dashboard" {
    defaults = { dashboard_arn = "arn:aws:cloudwatch::111122223333:dashboard/example-fis-cache" }
  }
}

variables {
  name                      = "unit-fis"
  stop_condition_alarm_arns = ["arn:aws:cloudwatch:eu-west-1:111122223333:alarm:unit-workflow-failure-rate"]
  lambda_functions = {
    order_steps = "arn:aws:lambda:eu-west-1:111122223333:function:unit-order-steps"
    checkout    = "arn:aws:lambda:eu-west-1:111122223333:function:unit-checkout"
  }
}

run "lambda_faults_reach_only_their_functions" {
  command = apply

  variables {
    lambda_faults = {
      invocation_error     = { functions = ["order_steps"] }
      invocation_add_delay = { functions = ["checkout"], startup_delay_milliseconds = 12000 }
    }
  }

  assert {
    condition     = keys(output.experiment_template_ids) == ["lambda_invocation_add_delay", "lambda_invocation_error"]
    error_message = "one template per configured Lambda fault, by its fixed key"
  }

  assert {
    condition     = one(aws_fis_experiment_template.lambda["lambda_invocation_error"].target).resource_arns == toset([var.lambda_functions.order_steps])
    error_message = "invocation-error targets order_steps by ARN, and nothing else"
  }

  assert {
    condition     = { for p in one(aws_fis_experiment_template.lambda["lambda_invocation_add_delay"].action).parameter : p.key => p.value } == { duration = "PT2M", invocationPercentage = "100", startupDelayMilliseconds = "12000" }
    error_message = "add-delay carries FIS's parameter names and the values asked for"
  }

  assert {
    condition     = { for p in one(aws_fis_experiment_template.lambda["lambda_invocation_error"].action).parameter : p.key => p.value }.preventExecution == "false"
    error_message = "by default the error comes after the function's code has run (a crash after its side effect)"
  }

  assert {
    condition     = toset([for s in aws_fis_experiment_template.lambda["lambda_invocation_error"].stop_condition : s.value]) == toset(var.stop_condition_alarm_arns) && alltrue([for s in aws_fis_experiment_template.lambda["lambda_invocation_error"].stop_condition : s.source == "aws:cloudwatch:alarm"])
    error_message = "every template stops on the given alarms"
  }

  assert {
    condition     = length(output.lambda_environment) == 2 && output.lambda_environment.AWS_FIS_CONFIGURATION_LOCATION == "arn:aws:s3:::unit-fis-fis-config-111122223333/FisConfigs/" && output.lambda_environment.AWS_LAMBDA_EXEC_WRAPPER == "/opt/aws-fis/bootstrap"
    error_message = "the functions get AWS's two required variables: the configuration folder's S3 ARN and the extension's wrapper"
  }

  assert {
    condition     = output.lambda_layer_arn == "arn:aws:lambda:eu-west-1:444455556666:layer:aws-fis-extension-arm64:9" && data.aws_ssm_parameter.extension_layer[0].name == "/aws/service/fis/lambda-extension/AWS-FIS-extension-arm64/1.x.x"
    error_message = "the layer comes from AWS's SSM public parameter for the architecture"
  }

  assert {
    condition     = [for s in data.aws_iam_policy_document.experiment["lambda_invocation_error"].statement : s.resources if s.sid == "InspectTargetFunctions"] == [toset([var.lambda_functions.order_steps])]
    error_message = "the invocation-error role may inspect only its own target function"
  }

  assert {
    condition     = [for s in data.aws_iam_policy_document.experiment["lambda_invocation_error"].statement : s.resources if s.sid == "WriteFaultConfigurations"] == [toset(["arn:aws:s3:::unit-fis-fis-config-111122223333/FisConfigs/*"])]
    error_message = "FIS may write only under the configuration prefix"
  }

  assert {
    condition     = length(aws_iam_role.experiment) == 2 && !contains(keys(aws_iam_role.experiment), "cache_interrupt_az_power")
    error_message = "a role per template, none for faults not configured"
  }

  assert {
    condition     = aws_s3_bucket_public_access_block.configuration[0].restrict_public_buckets && one(aws_s3_bucket_versioning.configuration[0].versioning_configuration).status == "Enabled"
    error_message = "the configuration bucket is private and versioned"
  }

  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.configuration[0].rule).apply_server_side_encryption_by_default).sse_algorithm == "aws:kms"
    error_message = "the configuration bucket is KMS-encrypted"
  }

  assert {
    condition     = one(one(aws_fis_experiment_template.lambda["lambda_invocation_error"].log_configuration).cloudwatch_logs_configuration).log_group_arn == "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/fis/unit-fis:*" && aws_cloudwatch_log_group.experiments.kms_key_id == output.kms_key_arn
    error_message = "experiments log to the module's KMS-encrypted log group, by the ARN form FIS takes"
  }
}

run "an_explicit_layer_needs_no_parameter" {
  command = plan

  variables {
    lambda_faults = {
      architecture        = "x86_64"
      extension_layer_arn = "arn:aws:lambda:eu-west-1:444455556666:layer:aws-fis-extension-x86_64:9"
      invocation_error    = { functions = ["order_steps"] }
    }
  }

  assert {
    condition     = length(data.aws_ssm_parameter.extension_layer) == 0 && output.lambda_layer_arn == "arn:aws:lambda:eu-west-1:444455556666:layer:aws-fis-extension-x86_64:9"
    error_message = "a given layer ARN is used as it is"
  }
}

run "cache_faults_target_the_group_and_its_subnets" {
  command = apply

  variables {
    cache = {
      replication_group_id  = "unit-cache"
      replication_group_arn = "arn:aws:elasticache:eu-west-1:111122223333:replicationgroup:unit-cache"
      resource_tags         = { project = "shop", environment = "unit" }
      availability_zone     = "eu-west-1a"
      vpc_id                = "vpc-0a1b2c3d4e5f6a7b8"
      subnet_ids            = ["subnet-1", "subnet-2"]
    }
  }

  assert {
    condition     = keys(output.experiment_template_ids) == ["cache_disrupt_connectivity", "cache_interrupt_az_power"]
    error_message = "a cache gets the AZ power and the connectivity templates, no Lambda faults were asked for"
  }

  assert {
    condition     = one(aws_fis_experiment_template.cache_interrupt_az_power[0].target).parameters.availabilityZoneIdentifier == "eu-west-1a" && length(coalesce(one(aws_fis_experiment_template.cache_interrupt_az_power[0].target).resource_arns, [])) == 0
    error_message = "FIS selects a replication group by tag, with the AZ as a target parameter (it refuses resourceArns for this type)"
  }

  assert {
    condition     = one(one(aws_fis_experiment_template.cache_interrupt_az_power[0].target).filter).values == toset(["unit-cache"])
    error_message = "the filter keeps the experiment to this replication group"
  }

  assert {
    condition     = one(aws_fis_experiment_template.cache_disrupt_connectivity[0].target).resource_arns == toset(["arn:aws:ec2:eu-west-1:111122223333:subnet/subnet-1", "arn:aws:ec2:eu-west-1:111122223333:subnet/subnet-2"])
    error_message = "disrupt-connectivity targets the cache's subnets by ARN"
  }

  assert {
    condition     = [for s in data.aws_iam_policy_document.experiment["cache_interrupt_az_power"].statement : s.resources if s.sid == "InterruptCacheAzPower"] == [toset(["arn:aws:elasticache:eu-west-1:111122223333:replicationgroup:unit-cache", "arn:aws:elasticache:eu-west-1:111122223333:cluster:unit-cache-*"])]
    error_message = "the AZ power role may act on this group and its member clusters only"
  }

  assert {
    condition     = [for s in data.aws_iam_policy_document.experiment["cache_disrupt_connectivity"].statement : s.resources if s.sid == "SwapCacheSubnetsNetworkAcl"] == [toset(["arn:aws:ec2:eu-west-1:111122223333:subnet/subnet-1", "arn:aws:ec2:eu-west-1:111122223333:subnet/subnet-2", "arn:aws:ec2:eu-west-1:111122223333:network-acl/*"])]
    error_message = "the connectivity role may swap the network ACL of the cache's subnets only"
  }

  assert {
    condition     = length(aws_s3_bucket.configuration) == 0 && length(output.lambda_environment) == 0 && output.lambda_layer_arn == null
    error_message = "no configuration bucket, layer or environment without Lambda faults"
  }
}

run "rejects_a_bad_name" {
  command = plan

  variables {
    name = "Unit_FIS"
  }

  expect_failures = [var.name]
}

run "rejects_templates_without_a_stop_condition" {
  command = plan

  variables {
    stop_condition_alarm_arns = []
  }

  expect_failures = [var.stop_condition_alarm_arns]
}

run "rejects_a_qualified_function_arn" {
  command = plan

  variables {
    lambda_functions = { order_steps = "arn:aws:lambda:eu-west-1:111122223333:function:unit-order-steps:live" }
  }

  expect_failures = [var.lambda_functions]
}

run "rejects_a_fault_on_an_unknown_function" {
  command = plan

  variables {
    lambda_faults = { invocation_error = { functions = ["cart"] } }
  }

  expect_failures = [aws_fis_experiment_template.lambda]
}

run "rejects_a_percentage_over_100" {
  command = plan

  variables {
    lambda_faults = { invocation_error = { functions = ["order_steps"], invocation_percentage = 150 } }
  }

  expect_failures = [var.lambda_faults]
}

run "rejects_an_unknown_disruption_scope" {
  command = plan

  variables {
    cache = {
      replication_group_id  = "unit-cache"
      replication_group_arn = "arn:aws:elasticache:eu-west-1:111122223333:replicationgroup:unit-cache"
      resource_tags         = { project = "shop" }
      availability_zone     = "eu-west-1a"
      vpc_id                = "vpc-0a1b2c3d4e5f6a7b8"
      subnet_ids            = ["subnet-1"]
      disrupt_connectivity  = { scope = "everything" }
    }
  }

  expect_failures = [var.cache]
}

run "rejects_an_unsupported_log_retention" {
  command = plan

  variables {
    log_retention_in_days = 10
  }

  expect_failures = [var.log_retention_in_days]
}

run "basic_example" {
  command = apply

  module {
    source = "./examples/basic"
  }

  assert {
    condition     = keys(output.experiment_template_ids) == ["lambda_invocation_add_delay", "lambda_invocation_error"]
    error_message = "the basic example has both Lambda faults"
  }
}

run "complete_example" {
  command = apply

  module {
    source = "./examples/complete"
  }

  assert {
    condition     = keys(output.experiment_template_ids) == ["cache_disrupt_connectivity", "cache_interrupt_az_power"]
    error_message = "the complete example has both cache faults"
  }
}
