# `terraform test` with a mocked AWS provider. Mocks return random strings for computed
# attributes, and the provider rejects those where it expects an ARN: the defaults below
# have the right shape.
mock_provider "aws" {
  mock_data "aws_availability_zones" {
    defaults = { names = ["eu-west-1a", "eu-west-1b", "eu-west-1c"] }
  }
  mock_data "aws_region" {
    defaults = { region = "eu-west-1" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "111122223333", arn = "arn:aws:iam::111122223333:root" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws", dns_suffix = "amazonaws.com" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
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
  mock_resource "aws_security_group" {
    defaults = {
      id  = "sg-0a1b2c3d4e5f6a7b8"
      arn = "arn:aws:ec2:eu-west-1:111122223333:security-group/sg-0a1b2c3d4e5f6a7b8"
    }
  }
  mock_resource "aws_vpc_endpoint" {
    defaults = {
      id             = "vpce-0a1b2c3d4e5f6a7b8"
      arn            = "arn:aws:ec2:eu-west-1:111122223333:vpc-endpoint/vpce-0a1b2c3d4e5f6a7b8"
      prefix_list_id = "pl-6da54004"
    }
  }
  mock_resource "aws_kms_key" {
    defaults = {
      arn    = "arn:aws:kms:eu-west-1:111122223333:key/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
      key_id = "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
    }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:111122223333:log-group:/vpc/unit/flow-logs" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::111122223333:role/unit-flow-logs-20250101000000000000000001" }
  }
  mock_resource "aws_flow_log" {
    defaults = { arn = "arn:aws:ec2:eu-west-1:111122223333:vpc-flow-log/fl-0a1b2c3d4e5f6a7b8" }
  }
}

run "basic_example" {
  command = apply

  module {
    source = "./examples/basic"
  }

  assert {
    condition     = length(output.private_subnet_ids) == 2
    error_message = "the basic example spans two AZs"
  }
}

run "private_only_by_default" {
  command = apply

  variables {
    name = "unit"
  }

  assert {
    condition     = length(aws_subnet.public) == 0 && length(aws_nat_gateway.this) == 0
    error_message = "no public subnets and no NAT unless asked"
  }

  assert {
    condition     = length(aws_flow_log.this) == 1
    error_message = "flow logs are on by default"
  }

  assert {
    condition     = aws_flow_log.this[0].log_destination == aws_cloudwatch_log_group.flow_logs[0].arn && aws_flow_log.this[0].iam_role_arn == aws_iam_role.flow_logs[0].arn
    error_message = "flow logs go to the module's log group through the module's role"
  }
}

run "rejects_unknown_endpoint" {
  command = plan

  variables {
    name                = "unit"
    interface_endpoints = ["ec2messages"]
  }

  expect_failures = [var.interface_endpoints]
}

run "complete_example" {
  command = apply

  module {
    source = "./examples/complete"
  }

  assert {
    condition     = output.vpc_id == "vpc-0a1b2c3d4e5f6a7b8"
    error_message = "the complete example creates a VPC"
  }
}
