data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  partition      = data.aws_partition.current.partition
  region         = data.aws_region.current.region
  account_id     = data.aws_caller_identity.current.account_id
  log_group_name = "/aws/apigateway/${var.name}"
  create_key     = var.access_logs.kms_key_arn == null

  # One integration and one permission per function (and alias), however many routes.
  # Keys are built only from names the caller wrote (known at plan); invoke_arn, known
  # only after apply while the function is new, stays in the values.
  route_targets = {
    for key, route in var.routes :
    key => route.qualifier == null ? route.function_name : "${route.function_name}:${route.qualifier}"
  }
  targets = {
    for target, routes in { for key, route in var.routes : local.route_targets[key] => route... } :
    target => routes[0]
  }
}

resource "aws_apigatewayv2_api" "this" {
  name          = var.name
  protocol_type = "HTTP"
  tags          = var.tags

  dynamic "cors_configuration" {
    for_each = var.cors == null ? [] : [var.cors]
    content {
      allow_origins = cors_configuration.value.allow_origins
      allow_methods = cors_configuration.value.allow_methods
      allow_headers = cors_configuration.value.allow_headers
      max_age       = cors_configuration.value.max_age
    }
  }
}

resource "aws_apigatewayv2_authorizer" "jwt" {
  count = var.authorization.type == "JWT" ? 1 : 0

  api_id           = aws_apigatewayv2_api.this.id
  name             = "${var.name}-jwt"
  authorizer_type  = "JWT"
  identity_sources = ["$request.header.Authorization"]

  jwt_configuration {
    issuer   = var.authorization.jwt.issuer
    audience = var.authorization.jwt.audience
  }
}

resource "aws_apigatewayv2_integration" "this" {
  for_each = local.targets

  api_id                 = aws_apigatewayv2_api.this.id
  integration_type       = "AWS_PROXY"
  integration_uri        = each.value.invoke_arn
  payload_format_version = "2.0"
  timeout_milliseconds   = 29000
}

resource "aws_apigatewayv2_route" "this" {
  for_each = var.routes

  api_id               = aws_apigatewayv2_api.this.id
  route_key            = each.key
  target               = "integrations/${aws_apigatewayv2_integration.this[local.route_targets[each.key]].id}"
  authorization_type   = var.authorization.type
  authorizer_id        = var.authorization.type == "JWT" ? aws_apigatewayv2_authorizer.jwt[0].id : null
  authorization_scopes = var.authorization.type == "JWT" ? var.authorization.jwt.scopes : null
}

resource "aws_lambda_permission" "this" {
  for_each = local.targets

  statement_id  = "AllowInvokeFrom-${var.name}"
  action        = "lambda:InvokeFunction"
  function_name = each.value.function_name
  qualifier     = each.value.qualifier
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.this.execution_arn}/*/*"
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.this.id
  name        = "$default"
  auto_deploy = true
  tags        = var.tags

  default_route_settings {
    throttling_rate_limit    = var.throttling.rate_limit
    throttling_burst_limit   = var.throttling.burst_limit
    detailed_metrics_enabled = true
  }

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.access.arn
    format = jsonencode({
      requestId          = "$context.requestId"
      ip                 = "$context.identity.sourceIp"
      requestTime        = "$context.requestTime"
      httpMethod         = "$context.httpMethod"
      routeKey           = "$context.routeKey"
      status             = "$context.status"
      protocol           = "$context.protocol"
      responseLength     = "$context.responseLength"
      integrationLatency = "$context.integrationLatency"
      integrationError   = "$context.integrationErrorMessage"
      authorizerError    = "$context.authorizer.error"
    })
  }
}
