# The alarm topic, made only when someone is to be notified: KMS-encrypted, publishable only by
# this account's CloudWatch alarms of this module, over TLS.

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

  # CloudWatch encrypts what its alarms publish to the topic with this key.
  statement {
    sid       = "CloudWatchAlarmsPublish"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_kms_key" "this" {
  count = local.create_key ? 1 : 0

  description         = "Encrypts the alarm topic of ${var.name}"
  enable_key_rotation = true
  policy              = data.aws_iam_policy_document.key[0].json
  tags                = var.tags
}

resource "aws_kms_alias" "this" {
  count = local.create_key ? 1 : 0

  name          = "alias/observability/${var.name}"
  target_key_id = aws_kms_key.this[0].key_id
}

resource "aws_sns_topic" "alarms" {
  count = local.notify ? 1 : 0

  name              = "${var.name}-alarms"
  display_name      = "${var.name} alarms"
  kms_master_key_id = local.kms_key_arn
  tags              = var.tags
}

data "aws_iam_policy_document" "topic" {
  count = local.notify ? 1 : 0

  statement {
    sid       = "OwnAlarmsPublish"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms[0].arn]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${local.alarm_prefix}*"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms[0].arn]

    principals {
      type        = "AWS"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sns_topic_policy" "alarms" {
  count = local.notify ? 1 : 0

  arn    = aws_sns_topic.alarms[0].arn
  policy = data.aws_iam_policy_document.topic[0].json
}

resource "aws_sns_topic_subscription" "alarms" {
  for_each = { for subscriber in var.alarm_subscribers : "${subscriber.protocol}:${subscriber.endpoint}" => subscriber }

  topic_arn = aws_sns_topic.alarms[0].arn
  protocol  = each.value.protocol
  endpoint  = each.value.endpoint
}
