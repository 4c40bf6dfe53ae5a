resource "aws_security_group" "this" {
  name_prefix = "${var.name}-cache-"
  description = "Valkey ${var.name}: TLS on ${local.port} from the client security groups only"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-cache" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "clients" {
  for_each = toset(var.client_security_group_ids)

  security_group_id            = aws_security_group.this.id
  description                  = "Valkey over TLS from a client"
  ip_protocol                  = "tcp"
  from_port                    = local.port
  to_port                      = local.is_serverless ? local.port + 1 : local.port # serverless readers use 6380
  referenced_security_group_id = each.value
}
