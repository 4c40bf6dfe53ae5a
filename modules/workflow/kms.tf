data "aws_iam_policy_document" "key" {
  count = local.create_key ? 1 : 0
  # In a key policy "*" is this key, and account-root administration is AWS's default
  # key policy; without it the key becomes unmanageable.
  #checkov:skip=CKV_AWS_111:key policy: Resource "*" means this key only
  #checkov:skip=CKV_AWS_356:key policy: Resource "*" means this key only
  #checkov:skip=CKV_AWS_109:key policy: account-root administration is AWS's default key policy

  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "StepFunctionsEncryptsExecutionData"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:aws:states:stateMachineArn"
      values   = ["arn:${local.partition}:states:${local.region}:${local.account_id}:stateMachine:${var.name}"]
    }
  }

  statement {
    sid       = "CloudWatchLogsEncryptsExecutionLogs"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com", "delivery.logs.amazonaws.com"]
    }
  }
}

resource "aws_kms_key" "this" {
  count = local.create_key ? 1 : 0

  description         = "Encrypts execution data and logs of state machine ${var.name}"
  enable_key_rotation = true
  policy              = data.aws_iam_policy_document.key[0].json
  tags                = var.tags
}

resource "aws_kms_alias" "this" {
  count = local.create_key ? 1 : 0

  name          = "alias/states/${var.name}"
  target_key_id = aws_kms_key.this[0].key_id
}
