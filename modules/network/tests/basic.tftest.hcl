mock_provider "aws" {
  mock_data "aws_availability_zones" {
    defaults = { names = ["eu-west-1a", "eu-west-1b", "eu-west-1c"] }
  }
  mock_data "aws_region" {
    defaults = { region = "eu-west-1" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
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
}

run "rejects_unknown_endpoint" {
  command = plan

  variables {
    name                = "unit"
    interface_endpoints = ["ec2messages"]
  }

  expect_failures = [var.interface_endpoints]
}
