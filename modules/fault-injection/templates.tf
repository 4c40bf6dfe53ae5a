locals {
  # FIS wants a log group ARN that ends in ":*".
  log_group_arn = "${trimsuffix(aws_cloudwatch_log_group.experiments.arn, ":*")}:*"
}

# aws:lambda:invocation-error and aws:lambda:invocation-add-delay on functions given by ARN.
resource "aws_fis_experiment_template" "lambda" {
  for_each = local.lambda_faults

  description = each.value.description
  role_arn    = aws_iam_role.experiment[each.key].arn
  tags        = merge(var.tags, { Name = "${var.name}-${replace(each.key, "_", "-")}" })

  action {
    name      = replace(each.key, "_", "-")
    action_id = each.value.action_id

    target {
      key   = "Functions"
      value = "functions"
    }

    dynamic "parameter" {
      for_each = each.value.parameters
      content {
        key   = parameter.key
        value = parameter.value
      }
    }
  }

  target {
    name           = "functions"
    resource_type  = "aws:lambda:function"
    selection_mode = "ALL"
    resource_arns  = [for function in each.value.functions : var.lambda_functions[function] if contains(keys(var.lambda_functions), function)]
  }

  dynamic "stop_condition" {
    for_each = toset(var.stop_condition_alarm_arns)
    content {
      source = "aws:cloudwatch:alarm"
      value  = stop_condition.value
    }
  }

  experiment_options {
    account_targeting            = "single-account"
    empty_target_resolution_mode = "fail"
  }

  log_configuration {
    log_schema_version = 2

    cloudwatch_logs_configuration {
      log_group_arn = local.log_group_arn
    }
  }

  depends_on = [aws_iam_role_policy.experiment]

  lifecycle {
    precondition {
      condition     = alltrue([for function in each.value.functions : contains(keys(var.lambda_functions), function)])
      error_message = "lambda_faults' functions (${join(", ", each.value.functions)}) must be keys of lambda_functions (${join(", ", keys(var.lambda_functions))})."
    }
  }
}

# aws:elasticache:replicationgroup-interrupt-az-power: the nodes in one AZ lose power, a replica
# is promoted. FIS selects replication groups by tag and needs the AZ as a target parameter
# ("Targets for AWS FIS", resource parameters: https://docs.aws.amazon.com/fis/latest/userguide/targets.html);
# the filter on ReplicationGroupId keeps it to this one group.
resource "aws_fis_experiment_template" "cache_interrupt_az_power" {
  count = local.has_cache ? 1 : 0

  description = "Interrupt power to ${var.cache.replication_group_id}'s nodes in ${var.cache.availability_zone} for ${var.cache.interrupt_az_power.duration}"
  role_arn    = aws_iam_role.experiment["cache_interrupt_az_power"].arn
  tags        = merge(var.tags, { Name = "${var.name}-cache-interrupt-az-power" })

  action {
    name      = "interrupt-az-power"
    action_id = "aws:elasticache:replicationgroup-interrupt-az-power"

    target {
      key   = "ReplicationGroups"
      value = "cache"
    }

    parameter {
      key   = "duration"
      value = var.cache.interrupt_az_power.duration
    }
  }

  target {
    name           = "cache"
    resource_type  = "aws:elasticache:replicationgroup"
    selection_mode = "ALL"
    parameters     = { availabilityZoneIdentifier = var.cache.availability_zone }

    dynamic "resource_tag" {
      for_each = var.cache.resource_tags
      content {
        key   = resource_tag.key
        value = resource_tag.value
      }
    }

    filter {
      path   = "ReplicationGroupId"
      values = [var.cache.replication_group_id]
    }
  }

  dynamic "stop_condition" {
    for_each = toset(var.stop_condition_alarm_arns)
    content {
      source = "aws:cloudwatch:alarm"
      value  = stop_condition.value
    }
  }

  experiment_options {
    account_targeting            = "single-account"
    empty_target_resolution_mode = "fail"
  }

  log_configuration {
    log_schema_version = 2

    cloudwatch_logs_configuration {
      log_group_arn = local.log_group_arn
    }
  }

  depends_on = [aws_iam_role_policy.experiment]
}

# aws:network:disrupt-connectivity on the cache's subnets: traffic in and out of them is denied
# (scope all; traffic inside one subnet stays allowed, so a client in the same subnet as a
# node still reaches it).
resource "aws_fis_experiment_template" "cache_disrupt_connectivity" {
  count = local.has_cache ? 1 : 0

  description = "Deny ${var.cache.disrupt_connectivity.scope} traffic of the cache's subnets for ${var.cache.disrupt_connectivity.duration}"
  role_arn    = aws_iam_role.experiment["cache_disrupt_connectivity"].arn
  tags        = merge(var.tags, { Name = "${var.name}-cache-disrupt-connectivity" })

  action {
    name      = "disrupt-connectivity"
    action_id = "aws:network:disrupt-connectivity"

    target {
      key   = "Subnets"
      value = "subnets"
    }

    parameter {
      key   = "duration"
      value = var.cache.disrupt_connectivity.duration
    }

    parameter {
      key   = "scope"
      value = var.cache.disrupt_connectivity.scope
    }
  }

  target {
    name           = "subnets"
    resource_type  = "aws:ec2:subnet"
    selection_mode = "ALL"
    resource_arns  = local.subnet_arns
  }

  dynamic "stop_condition" {
    for_each = toset(var.stop_condition_alarm_arns)
    content {
      source = "aws:cloudwatch:alarm"
      value  = stop_condition.value
    }
  }

  experiment_options {
    account_targeting            = "single-account"
    empty_target_resolution_mode = "fail"
  }

  log_configuration {
    log_schema_version = 2

    cloudwatch_logs_configuration {
      log_group_arn = local.log_group_arn
    }
  }

  depends_on = [aws_iam_role_policy.experiment]
}
