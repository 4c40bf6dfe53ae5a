# The configuration bucket of the FIS extension for Lambda: while an experiment runs, FIS writes
# each target function's fault configuration under FisConfigs/ and the extension in the function
# polls it ("Use the AWS FIS aws:lambda:function actions", Prerequisites:
# https://docs.aws.amazon.com/fis/latest/userguide/use-lambda-actions.html). One bucket per region.
# Private, KMS-encrypted, versioned, TLS only, as the state bucket (environments/bootstrap).

resource "aws_s3_bucket" "configuration" {
  count = local.has_lambda_faults ? 1 : 0
  #checkov:skip=CKV_AWS_18:it holds only FIS's transient fault configurations; FIS's own experiment log records each write
  #checkov:skip=CKV_AWS_144:a fault configuration is per region by design (AWS: one bucket per region); replicating it elsewhere has no use
  #checkov:skip=CKV2_AWS_62:nothing consumes its events: the extension polls

  bucket = local.configuration_bucket
  # Only FIS's short-lived configurations and their old versions are in it: a destroy empties it.
  force_destroy = true
  tags          = var.tags
}

resource "aws_s3_bucket_ownership_controls" "configuration" {
  count = local.has_lambda_faults ? 1 : 0

  bucket = aws_s3_bucket.configuration[0].id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "configuration" {
  count = local.has_lambda_faults ? 1 : 0

  bucket                  = aws_s3_bucket.configuration[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "configuration" {
  count = local.has_lambda_faults ? 1 : 0

  bucket = aws_s3_bucket.configuration[0].id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "configuration" {
  count = local.has_lambda_faults ? 1 : 0

  bucket = aws_s3_bucket.configuration[0].id

  rule {
    bucket_key_enabled = true

    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = local.kms_key_arn
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "configuration" {
  count = local.has_lambda_faults ? 1 : 0

  bucket = aws_s3_bucket.configuration[0].id

  rule {
    id     = "expire-old-fault-configurations"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = 7
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

data "aws_iam_policy_document" "configuration_bucket" {
  count = local.has_lambda_faults ? 1 : 0

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.configuration[0].arn, "${aws_s3_bucket.configuration[0].arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "configuration" {
  count = local.has_lambda_faults ? 1 : 0

  bucket = aws_s3_bucket.configuration[0].id
  policy = data.aws_iam_policy_document.configuration_bucket[0].json

  depends_on = [aws_s3_bucket_public_access_block.configuration]
}
