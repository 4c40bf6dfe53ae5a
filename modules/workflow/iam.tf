data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "this" {
  name_prefix        = "${substr(var.name, 0, 30)}-sfn-"
  description        = "Execution role of state machine ${var.name}"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "this" {
  # Log delivery and X-Ray APIs support no resource-level permissions.
  #checkov:skip=CKV_AWS_111:logs:*LogDelivery and logs resource-policy actions accept only "*" (Step Functions logging docs)
  #checkov:skip=CKV_AWS_356:logs:*LogDelivery and logs resource-policy actions accept only "*" (Step Functions logging docs)

  dynamic "statement" {
    for_each = length(var.lambda_function_arns) > 0 ? [1] : []
    content {
      sid       = "InvokeListedFunctions"
      actions   = ["lambda:InvokeFunction"]
      resources = concat(var.lambda_function_arns, [for arn in var.lambda_function_arns : "${arn}:*"])
    }
  }

  dynamic "statement" {
    for_each = var.table_access
    content {
      actions   = statement.value.actions
      resources = [statement.value.table_arn]
    }
  }

  statement {
    sid = "DeliverExecutionLogs"
    actions = [
      "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "WriteTraces"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"]
    resources = ["*"]
  }

  statement {
    sid       = "UseOwnKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [local.kms_key_arn]
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "least-privilege"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}
