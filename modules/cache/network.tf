resource "aws_security_group" "this" {
  name_prefix = "${var.name}-cache-"
  description = "Valkey ${var.name}: TLS on ${local.port} from the client security groups only"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-cache" })

  lifecycle {
    create_before_destroy = true
  }
}

# A ready-made client group: attach it to whatever should reach the cache, and no
# rule on either side needs to know the other's identity in advance.
resource "aws_security_group" "client" {
  #checkov:skip=CKV2_AWS_5:this group exists to be attached by the cache's clients (output client_security_group_id); the shop attaches it to the catalog function
  name_prefix = "${var.name}-cache-client-"
  description = "Clients of Valkey ${var.name}: may reach it on ${local.port}-${local.port + 1}"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name}-cache-client" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_egress_rule" "client_to_cache" {
  security_group_id            = aws_security_group.client.id
  description                  = "Valkey over TLS to the cache"
  ip_protocol                  = "tcp"
  from_port                    = local.port
  to_port                      = local.port + 1
  referenced_security_group_id = aws_security_group.this.id
}

resource "aws_vpc_security_group_ingress_rule" "client_group" {
  security_group_id            = aws_security_group.this.id
  description                  = "Valkey over TLS from the cache's client group"
  ip_protocol                  = "tcp"
  from_port                    = local.port
  to_port                      = local.port + 1 # serverless readers use 6380
  referenced_security_group_id = aws_security_group.client.id
}

# count, not for_each: the IDs are often unknown until apply, their number is not.
resource "aws_vpc_security_group_ingress_rule" "clients" {
  count = length(var.client_security_group_ids)

  security_group_id            = aws_security_group.this.id
  description                  = "Valkey over TLS from a client"
  ip_protocol                  = "tcp"
  from_port                    = local.port
  to_port                      = local.port + 1
  referenced_security_group_id = var.client_security_group_ids[count.index]
}
