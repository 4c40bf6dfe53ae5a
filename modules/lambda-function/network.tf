resource "aws_security_group" "this" {
  count = var.vpc == null ? 0 : 1

  name_prefix = "${var.function_name}-"
  description = "Egress-only security group of the ${var.function_name} function"
  vpc_id      = var.vpc.vpc_id
  tags        = merge(var.tags, { Name = var.function_name })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_egress_rule" "this" {
  for_each = var.vpc == null ? {} : { for index, rule in var.vpc.egress_rules : tostring(index) => rule }

  security_group_id            = aws_security_group.this[0].id
  description                  = each.value.description
  ip_protocol                  = each.value.ip_protocol
  from_port                    = each.value.from_port
  to_port                      = each.value.to_port
  cidr_ipv4                    = each.value.cidr_ipv4
  prefix_list_id               = each.value.prefix_list_id
  referenced_security_group_id = each.value.referenced_security_group_id
}
