# One role per template, allowed exactly what that template's action needs on its own targets:
# the permissions each action lists in "AWS FIS Actions reference"
# (https://docs.aws.amazon.com/fis/latest/userguide/fis-actions-reference.html), with the
# target ARNs as resources where the action's API takes them. Where the API has no resource-level
# permissions (tag:GetResources, ec2:Describe*, the log-delivery calls) the resource is "*".

locals {
  experiment_arns = "arn:${local.partition}:fis:${local.region}:${local.account_id}:experiment/*"

  # Target resolution (tag:GetResources) and the experiment log ("Experiment logging",
  # permissions: https://docs.aws.amazon.com/fis/latest/userguide/monitoring-logging.html).
  common_statements = [
    { sid = "ResolveTargets", actions = ["tag:GetResources"], resources = ["*"], conditions = [] },
    {
      sid        = "DeliverExperimentLog"
      actions    = ["logs:CreateLogDelivery", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups"]
      resources  = ["*"]
      conditions = []
    },
  ]

  lambda_statements = {
    for key, fault in local.lambda_faults : key => [
      {
        # "Use the AWS FIS aws:lambda:function actions", the experiment's S3 write policy.
        sid        = "WriteFaultConfigurations"
        actions    = ["s3:PutObject", "s3:DeleteObject"]
        resources  = ["${aws_s3_bucket.configuration[0].arn}/${local.configuration_prefix}*"]
        conditions = []
      },
      {
        sid        = "EncryptFaultConfigurations"
        actions    = ["kms:GenerateDataKey", "kms:Decrypt"]
        resources  = [local.kms_key_arn]
        conditions = [{ test = "StringEquals", variable = "kms:ViaService", values = ["s3.${local.region}.amazonaws.com"] }]
      },
      {
        # AWS's example grants "*"; the targets are known, so only they.
        sid        = "InspectTargetFunctions"
        actions    = ["lambda:GetFunction"]
        resources  = [for function in fault.functions : var.lambda_functions[function] if contains(keys(var.lambda_functions), function)]
        conditions = []
      },
    ]
  }

  cache_az_power_statements = [
    {
      sid     = "InterruptCacheAzPower"
      actions = ["elasticache:InterruptClusterAzPower", "elasticache:DescribeReplicationGroups"]
      # The group and its member clusters (<group>-001, ...), which the action powers off.
      resources = local.has_cache ? [
        var.cache.replication_group_arn,
        "arn:${local.partition}:elasticache:${local.region}:${local.account_id}:cluster:${var.cache.replication_group_id}-*",
      ] : []
      conditions = []
    },
  ]

  # aws:network:disrupt-connectivity clones the subnets' network ACL, tags the clone
  # managedByFIS=true, adds deny entries and swaps it in; the managed policy
  # AWSFaultInjectionSimulatorNetworkAccess scopes it the same way, here to one VPC and its subnets.
  network_acls = "arn:${local.partition}:ec2:${local.region}:${local.account_id}:network-acl/*"
  disrupt_connectivity_statements = [
    {
      sid        = "CreateFisNetworkAcl"
      actions    = ["ec2:CreateNetworkAcl"]
      resources  = [local.network_acls]
      conditions = [{ test = "StringEquals", variable = "aws:RequestTag/managedByFIS", values = ["true"] }]
    },
    {
      sid        = "CreateNetworkAclInCacheVpc"
      actions    = ["ec2:CreateNetworkAcl"]
      resources  = local.has_cache ? ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:vpc/${var.cache.vpc_id}"] : []
      conditions = []
    },
    {
      sid       = "TagFisNetworkAcl"
      actions   = ["ec2:CreateTags"]
      resources = [local.network_acls]
      conditions = [
        { test = "StringEquals", variable = "ec2:CreateAction", values = ["CreateNetworkAcl"] },
        { test = "StringEquals", variable = "aws:RequestTag/managedByFIS", values = ["true"] },
      ]
    },
    {
      sid        = "EditFisNetworkAcl"
      actions    = ["ec2:CreateNetworkAclEntry", "ec2:DeleteNetworkAcl"]
      resources  = [local.network_acls]
      conditions = [{ test = "StringEquals", variable = "ec2:ResourceTag/managedByFIS", values = ["true"] }]
    },
    {
      sid        = "SwapCacheSubnetsNetworkAcl"
      actions    = ["ec2:ReplaceNetworkAclAssociation"]
      resources  = concat(local.subnet_arns, [local.network_acls])
      conditions = []
    },
    {
      sid        = "DescribeNetwork"
      actions    = ["ec2:DescribeManagedPrefixLists", "ec2:DescribeNetworkAcls", "ec2:DescribeSubnets", "ec2:DescribeVpcs"]
      resources  = ["*"]
      conditions = []
    },
    {
      sid        = "ReadPrefixLists"
      actions    = ["ec2:GetManagedPrefixListEntries"]
      resources  = ["arn:${local.partition}:ec2:${local.region}:*:prefix-list/*"]
      conditions = []
    },
  ]

  role_statements = merge(
    { for key, statements in local.lambda_statements : key => concat(statements, local.common_statements) },
    local.has_cache ? {
      cache_interrupt_az_power   = concat(local.cache_az_power_statements, local.common_statements)
      cache_disrupt_connectivity = concat(local.disrupt_connectivity_statements, local.common_statements)
    } : {},
  )
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["fis.amazonaws.com"]
    }

    # Only this account's experiments ("IAM roles for AWS FIS experiments", confused deputy:
    # https://docs.aws.amazon.com/fis/latest/userguide/getting-started-iam-service-role.html).
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [local.experiment_arns]
    }
  }
}

resource "aws_iam_role" "experiment" {
  for_each = local.role_statements

  name                 = "${var.name}-fis-${replace(each.key, "_", "-")}"
  description          = "FIS experiment template ${each.key} of ${var.name}: its action on its targets only"
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  max_session_duration = 43200 # an experiment may last 12 hours
  tags                 = var.tags
}

data "aws_iam_policy_document" "experiment" {
  for_each = local.role_statements
  #checkov:skip=CKV_AWS_356:"*" only where the API has no resource-level permissions: tag:GetResources, ec2:Describe*, the log-delivery calls
  #checkov:skip=CKV_AWS_111:the writes are scoped: network ACL writes to FIS-tagged ACLs of this account and region; logs:CreateLogDelivery/PutResourcePolicy have no resource-level permissions

  dynamic "statement" {
    for_each = each.value
    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = statement.value.resources

      dynamic "condition" {
        for_each = statement.value.conditions
        content {
          test     = condition.value.test
          variable = condition.value.variable
          values   = condition.value.values
        }
      }
    }
  }
}

resource "aws_iam_role_policy" "experiment" {
  for_each = local.role_statements

  name   = "least-privilege"
  role   = aws_iam_role.experiment[each.key].id
  policy = data.aws_iam_policy_document.experiment[each.key].json
}
