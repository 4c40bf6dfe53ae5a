data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "this" {
  name_prefix        = "${substr(var.function_name, 0, 30)}-"
  description        = "Execution role of ${var.function_name}"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "this" {
  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  statement {
    sid       = "UseOwnKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [local.kms_key_arn]
  }

  # X-Ray's write actions support no resource-level permissions.
  statement {
    sid       = "WriteTraces"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }

  # What the durable SDK calls to checkpoint and to read state back on replay, per the Lambda
  # guide's "Security and permissions for Lambda durable functions". Lambda authorizes these
  # against the execution's ARN (function:name:qualifier/durable-execution/...), which only
  # the qualified `:*` form matches.
  dynamic "statement" {
    for_each = var.durable_config == null ? [] : ["arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${var.function_name}:*"]
    content {
      sid       = "CheckpointOwnDurableExecutions"
      actions   = ["lambda:CheckpointDurableExecution", "lambda:GetDurableExecutionState"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = var.dead_letter_queue.enabled ? [aws_sqs_queue.dead_letter[0].arn] : []
    content {
      sid       = "SendToDeadLetterQueue"
      actions   = ["sqs:SendMessage"]
      resources = [statement.value]
    }
  }

  # What Lambda's event source mapping needs, on these streams only.
  dynamic "statement" {
    for_each = length(var.stream_sources) > 0 ? [[for source in values(var.stream_sources) : source.stream_arn]] : []
    content {
      sid       = "ReadStreamSources"
      actions   = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
      resources = statement.value
    }
  }

  # The mapping's fourth action: ListStreams has no resource type in the Service Authorization
  # Reference, so a statement scoped to the streams never allows it; only "*" does.
  dynamic "statement" {
    for_each = length(var.stream_sources) > 0 ? ["*"] : []
    content {
      sid       = "ListStreams"
      actions   = ["dynamodb:ListStreams"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = anytrue([for source in values(var.stream_sources) : source.on_failure_destination_arn != null]) ? [compact([for source in values(var.stream_sources) : source.on_failure_destination_arn])] : []
    content {
      sid       = "SendStreamFailures"
      actions   = ["sqs:SendMessage"]
      resources = statement.value
    }
  }

  dynamic "statement" {
    for_each = var.policy_statements
    content {
      sid       = statement.value.sid
      effect    = statement.value.effect
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

resource "aws_iam_role_policy" "this" {
  name   = "least-privilege"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

# ENI management for VPC functions; AWS's managed policy scopes it as tightly as the
# EC2 API allows.
resource "aws_iam_role_policy_attachment" "vpc_access" {
  count = var.vpc == null ? 0 : 1

  role       = aws_iam_role.this.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
}
