# The first az_count zones of a sorted list: a zone AWS adds later never moves an
# existing deployment. Pass availability_zones to pin names explicitly.
data "aws_availability_zones" "available" {
  #checkov:skip=CKV_AWS_394:the module slices the first az_count names, or filters on var.availability_zones when given
  state = "available"

  dynamic "filter" {
    for_each = var.availability_zones == null ? [] : [var.availability_zones]
    content {
      name   = "zone-name"
      values = filter.value
    }
  }
}

locals {
  azs              = slice(sort(data.aws_availability_zones.available.names), 0, var.az_count)
  endpoint_azs     = var.interface_endpoint_az_count == null ? local.azs : slice(local.azs, 0, min(var.interface_endpoint_az_count, var.az_count))
  nat_count        = var.nat_gateway.enabled ? (var.nat_gateway.single ? 1 : var.az_count) : 0
  public_subnet_of = { for index, az in local.azs : az => cidrsubnet(var.cidr_block, var.subnet_newbits, index + 8) }
}

resource "aws_vpc" "this" {
  cidr_block           = var.cidr_block
  enable_dns_support   = true
  enable_dns_hostnames = true # interface endpoints with private DNS need both
  tags                 = merge(var.tags, { Name = var.name })
}

# Nothing may use the default security group: it admits nothing and sends nothing.
resource "aws_default_security_group" "this" {
  vpc_id = aws_vpc.this.id
  tags   = merge(var.tags, { Name = "${var.name}-default-deny" })
}

resource "aws_subnet" "private" {
  count = var.az_count

  vpc_id                  = aws_vpc.this.id
  availability_zone       = local.azs[count.index]
  cidr_block              = cidrsubnet(var.cidr_block, var.subnet_newbits, count.index)
  map_public_ip_on_launch = false
  tags                    = merge(var.tags, { Name = "${var.name}-private-${local.azs[count.index]}", tier = "private" })
}

resource "aws_route_table" "private" {
  count = var.az_count

  vpc_id = aws_vpc.this.id
  tags   = merge(var.tags, { Name = "${var.name}-private-${local.azs[count.index]}" })
}

resource "aws_route_table_association" "private" {
  count = var.az_count

  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private[count.index].id
}
