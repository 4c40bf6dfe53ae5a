"""Which AWS services and which cache a function can reach, from the network `terraform apply` made.

The twin's functions all talk to one loopback moto URL, so nothing on the machine stops a
function in a private subnet from reaching an API that, in AWS, it has no route to. This
module works out, for one function, the routes its VPC really has, from the describe_* answers
of moto's EC2, Lambda and ElastiCache (never from a list repeating the HCL); the worker then
refuses the rest (network_guard.py) the way AWS does: the connection never completes.

The rules, each from AWS's documentation:

- A function outside a VPC reaches every public AWS endpoint, and nothing inside a VPC,
  so not the cache.
  https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html
- A function in a VPC has no internet access, so no public endpoint, unless a route table of
  its subnets sends 0.0.0.0/0 to a NAT gateway (and its security groups let 443 out there).
  https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc-internet.html
- A gateway endpoint (DynamoDB, S3) serves the subnets whose route tables it is in; the
  security group's egress must allow the service's prefix list (or 0.0.0.0/0).
  https://docs.aws.amazon.com/vpc/latest/privatelink/gateway-endpoints.html
- An interface endpoint serves the AWS SDK's default hostname only with private DNS on, and
  only if 443 is allowed out of the function's groups to the endpoint and into the
  endpoint's groups from the function.
  https://docs.aws.amazon.com/vpc/latest/privatelink/privatelink-access-aws-services.html
  https://docs.aws.amazon.com/vpc/latest/privatelink/create-interface-endpoint.html
- A security group allows what one of its rules allows (union); traffic needs an egress rule
  on the sender's groups and an ingress rule on the receiver's.
  https://docs.aws.amazon.com/vpc/latest/userguide/vpc-security-groups.html
- ElastiCache is reached only from inside its VPC, through its security groups.
  https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/elasticache-vpc-accessing.html

A function with subnets in several AZs must have the route from every subnet: Lambda places
its network interfaces in any of them, so a route that only some have fails some calls.
"""

from __future__ import annotations

import ipaddress
import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

HTTPS_PORT = 443
ANYWHERE = "0.0.0.0/0"
# The worker reads the function's network from this environment variable (network_guard.py).
POLICY_VARIABLE = "TWIN_NETWORK_POLICY"


@dataclass
class Network:
    """The describe_* answers of the account's network, as boto3 returns them."""

    subnets: list[dict[str, Any]] = field(default_factory=list)
    route_tables: list[dict[str, Any]] = field(default_factory=list)
    vpc_endpoints: list[dict[str, Any]] = field(default_factory=list)
    security_groups: list[dict[str, Any]] = field(default_factory=list)
    prefix_lists: list[dict[str, Any]] = field(default_factory=list)
    nat_gateways: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Cache:
    """A cache the function might connect to: its VPC side (port, security groups, subnets)."""

    name: str
    port: int
    security_group_ids: tuple[str, ...]
    subnet_ids: tuple[str, ...]


@dataclass
class Reachability:
    """What one function can reach. `services` is None when every public endpoint is reachable."""

    function: str
    services: set[str] | None
    routes: dict[str, str]
    unreachable_caches: dict[str, str]
    reachable_caches: dict[str, str]
    why_no_internet: str = ""

    def reaches(self, service: str) -> bool:
        return self.services is None or service in self.services

    def worker_policy(self, cache_addresses: Iterable[str]) -> str:
        """The worker's view: services it may call, and the cache addresses it may not connect to.

        The twin runs every cache as one local redis-server, so its address stands for them:
        it is refused when the function can reach none of the stack's caches."""
        blocked = [] if self.reachable_caches else list(cache_addresses)
        reason = "; ".join(f"{name}: {why}" for name, why in self.unreachable_caches.items())
        return json.dumps(
            {
                "function": self.function,
                "services": None if self.services is None else sorted(self.services),
                "why_no_route": self.why_no_internet,
                "blocked_addresses": blocked,
                "why_blocked": reason or "the function is not in the cache's VPC",
            },
            sort_keys=True,
        )


# ---- security groups ---------------------------------------------------------------------


def _covers_port(permission: dict[str, Any], port: int) -> bool:
    protocol = str(permission.get("IpProtocol", ""))
    if protocol == "-1":
        return True
    if protocol not in ("tcp", "6"):
        return False
    return int(permission.get("FromPort", -1)) <= port <= int(permission.get("ToPort", -1))


def _cidr_contains(rule_cidr: str, target_cidr: str) -> bool:
    try:
        return ipaddress.ip_network(target_cidr, strict=False).subnet_of(
            ipaddress.ip_network(rule_cidr, strict=False)
        )
    except (TypeError, ValueError):
        return False


@dataclass(frozen=True)
class Peer:
    """The other end of a connection, as a security group rule can name it."""

    group_ids: frozenset[str] = frozenset()
    cidrs: tuple[str, ...] = ()  # every one must be inside an allowed CIDR
    prefix_list_id: str | None = None


def _allows(groups: list[dict[str, Any]], direction: str, port: int, peer: Peer) -> bool:
    """Whether any rule of `groups` (IpPermissions or IpPermissionsEgress) allows `port` to/from `peer`."""
    for group in groups:
        for permission in group.get(direction, []):
            if not _covers_port(permission, port):
                continue
            if any(pair.get("GroupId") in peer.group_ids for pair in permission.get("UserIdGroupPairs", [])):
                return True
            if peer.prefix_list_id and any(
                entry.get("PrefixListId") == peer.prefix_list_id
                for entry in permission.get("PrefixListIds", [])
            ):
                return True
            ranges = [entry.get("CidrIp", "") for entry in permission.get("IpRanges", [])]
            if peer.cidrs and all(any(_cidr_contains(rule, cidr) for rule in ranges) for cidr in peer.cidrs):
                return True
    return False


# ---- the computation ---------------------------------------------------------------------


def _service_of(endpoint: dict[str, Any]) -> str:
    """com.amazonaws.us-east-1.states -> states (the SDK's endpoint prefix and signing name)."""
    return str(endpoint.get("ServiceName", "")).split(".", 3)[-1]


def _route_tables_of(network: Network, vpc_id: str, subnet_id: str) -> list[dict[str, Any]]:
    """The table a subnet uses: its explicit association, else its VPC's main table."""
    tables = [table for table in network.route_tables if table.get("VpcId") == vpc_id]
    for table in tables:
        if any(link.get("SubnetId") == subnet_id for link in table.get("Associations", [])):
            return [table]
    return [table for table in tables if any(link.get("Main") for link in table.get("Associations", []))]


def _available(resource: dict[str, Any]) -> bool:
    return str(resource.get("State", "available")).lower() in ("available", "pending")


def reachability(function: dict[str, Any], network: Network, caches: Iterable[Cache] = ()) -> Reachability:
    """What `function` (get_function_configuration's answer) reaches through `network`."""
    name = str(function.get("FunctionName", ""))
    vpc_config = function.get("VpcConfig") or {}
    subnet_ids = list(vpc_config.get("SubnetIds") or [])
    if not subnet_ids:
        return Reachability(
            name,
            None,
            {"*": "public endpoints: the function is not in a VPC"},
            {cache.name: "the cache is in a VPC and the function is not" for cache in caches},
            {},
        )

    subnets = {subnet["SubnetId"]: subnet for subnet in network.subnets}
    vpc_id = str(vpc_config.get("VpcId") or subnets.get(subnet_ids[0], {}).get("VpcId", ""))
    own_cidrs = tuple(subnets[sid]["CidrBlock"] for sid in subnet_ids if sid in subnets)
    group_ids = set(vpc_config.get("SecurityGroupIds") or [])
    own_groups = [group for group in network.security_groups if group.get("GroupId") in group_ids]
    groups_by_id = {group["GroupId"]: group for group in network.security_groups}
    tables_per_subnet = [_route_tables_of(network, vpc_id, sid) for sid in subnet_ids]
    table_ids_per_subnet = [{table["RouteTableId"] for table in tables} for tables in tables_per_subnet]

    services: set[str] = set()
    routes: dict[str, str] = {}

    # NAT: every subnet's table sends 0.0.0.0/0 to an available NAT gateway, and 443 may leave.
    live_nats = {nat["NatGatewayId"] for nat in network.nat_gateways if _available(nat)}
    nat_everywhere = all(
        any(
            route.get("DestinationCidrBlock") == ANYWHERE and route.get("NatGatewayId") in live_nats
            for table in tables
            for route in table.get("Routes", [])
        )
        for tables in tables_per_subnet
    )
    why_no_internet = ""
    internet = False
    if not nat_everywhere:
        why_no_internet = "no route to a NAT gateway in the route tables of its subnets"
    elif not _allows(own_groups, "IpPermissionsEgress", HTTPS_PORT, Peer(cidrs=(ANYWHERE,))):
        why_no_internet = "its security groups do not allow 443 out to 0.0.0.0/0 (the NAT route)"
    else:
        internet = True

    prefix_list_of = {
        entry.get("PrefixListName"): entry.get("PrefixListId") for entry in network.prefix_lists
    }
    for endpoint in network.vpc_endpoints:
        if endpoint.get("VpcId") != vpc_id or not _available(endpoint):
            continue
        service = _service_of(endpoint)
        kind = str(endpoint.get("VpcEndpointType", "")).lower()
        if kind == "gateway":
            in_every_table = all(ids & set(endpoint.get("RouteTableIds", [])) for ids in table_ids_per_subnet)
            prefix_list = prefix_list_of.get(endpoint.get("ServiceName"))
            egress = _allows(
                own_groups,
                "IpPermissionsEgress",
                HTTPS_PORT,
                Peer(cidrs=(ANYWHERE,), prefix_list_id=prefix_list),
            )
            if in_every_table and egress:
                services.add(service)
                routes[service] = f"gateway endpoint {endpoint.get('VpcEndpointId')}"
        elif kind == "interface" and endpoint.get("PrivateDnsEnabled"):
            endpoint_group_ids = {group.get("GroupId") for group in endpoint.get("Groups", [])}
            endpoint_groups = [groups_by_id[gid] for gid in endpoint_group_ids if gid in groups_by_id]
            endpoint_cidrs = tuple(
                subnets[sid]["CidrBlock"] for sid in endpoint.get("SubnetIds", []) if sid in subnets
            )
            egress = _allows(
                own_groups,
                "IpPermissionsEgress",
                HTTPS_PORT,
                Peer(frozenset(endpoint_group_ids), endpoint_cidrs),
            )
            ingress = _allows(
                endpoint_groups, "IpPermissions", HTTPS_PORT, Peer(frozenset(group_ids), own_cidrs)
            )
            if egress and ingress:
                services.add(service)
                routes[service] = f"interface endpoint {endpoint.get('VpcEndpointId')}"

    reachable_caches: dict[str, str] = {}
    unreachable_caches: dict[str, str] = {}
    for cache in caches:
        cache_groups = [groups_by_id[gid] for gid in cache.security_group_ids if gid in groups_by_id]
        cache_vpcs = {subnets[sid].get("VpcId") for sid in cache.subnet_ids if sid in subnets}
        cache_cidrs = tuple(subnets[sid]["CidrBlock"] for sid in cache.subnet_ids if sid in subnets)
        if cache_vpcs and vpc_id not in cache_vpcs:
            unreachable_caches[cache.name] = "the cache is in another VPC"
        elif not _allows(
            own_groups,
            "IpPermissionsEgress",
            cache.port,
            Peer(frozenset(cache.security_group_ids), cache_cidrs),
        ):
            unreachable_caches[cache.name] = (
                f"the function's security groups do not allow port {cache.port} out to it"
            )
        elif not _allows(cache_groups, "IpPermissions", cache.port, Peer(frozenset(group_ids), own_cidrs)):
            unreachable_caches[cache.name] = (
                f"the cache's security groups do not allow port {cache.port} in from it"
            )
        else:
            reachable_caches[cache.name] = f"port {cache.port} through the security groups"

    if internet:
        routes["*"] = "public endpoints through a NAT gateway"
        return Reachability(name, None, routes, unreachable_caches, reachable_caches)
    return Reachability(name, services, routes, unreachable_caches, reachable_caches, why_no_internet)


# ---- reading the applied stack from moto -------------------------------------------------


def read_caches(elasticache: Any) -> list[Cache]:
    """The account's caches (replication groups, serverless caches) with their VPC side: port,
    security groups (on the member clusters) and subnets (their subnet group's)."""
    subnets_of_group = {
        group["CacheSubnetGroupName"]: tuple(
            subnet["SubnetIdentifier"] for subnet in group.get("Subnets", [])
        )
        for group in elasticache.describe_cache_subnet_groups().get("CacheSubnetGroups", [])
    }
    clusters = {
        cluster["CacheClusterId"]: cluster
        for cluster in elasticache.describe_cache_clusters(ShowCacheNodeInfo=True).get("CacheClusters", [])
    }
    caches: list[Cache] = []
    for group in elasticache.describe_replication_groups().get("ReplicationGroups", []):
        members = [clusters[member] for member in group.get("MemberClusters", []) if member in clusters]
        endpoint = group.get("ConfigurationEndpoint") or next(
            (node["PrimaryEndpoint"] for node in group.get("NodeGroups", []) if node.get("PrimaryEndpoint")),
            {},
        )
        caches.append(
            Cache(
                group["ReplicationGroupId"],
                int(endpoint.get("Port") or 6379),
                tuple(
                    sorted(
                        {
                            sg["SecurityGroupId"]
                            for member in members
                            for sg in member.get("SecurityGroups", [])
                        }
                    )
                ),
                tuple(
                    sorted(
                        {
                            sid
                            for m in members
                            for sid in subnets_of_group.get(m.get("CacheSubnetGroupName", ""), ())
                        }
                    )
                ),
            )
        )
    for cache in elasticache.describe_serverless_caches().get("ServerlessCaches", []):
        caches.append(
            Cache(
                cache["ServerlessCacheName"],
                int((cache.get("Endpoint") or {}).get("Port") or 6379),
                tuple(cache.get("SecurityGroupIds", [])),
                tuple(cache.get("SubnetIds", [])),
            )
        )
    return caches


def read_network(ec2: Any) -> Network:
    def every(operation: str, key: str) -> list[dict[str, Any]]:
        return [item for page in ec2.get_paginator(operation).paginate() for item in page[key]]

    return Network(
        subnets=every("describe_subnets", "Subnets"),
        route_tables=every("describe_route_tables", "RouteTables"),
        vpc_endpoints=every("describe_vpc_endpoints", "VpcEndpoints"),
        security_groups=every("describe_security_groups", "SecurityGroups"),
        prefix_lists=every("describe_prefix_lists", "PrefixLists"),
        nat_gateways=every("describe_nat_gateways", "NatGateways"),
    )


class NetworkView:
    """Per-function worker policies, read from the twin's own moto endpoint.

    Reading the network costs a handful of describe calls, so it is kept until something may
    have changed it: `changed()` is called for every EC2 or ElastiCache request that is not a
    read (see `is_network_write`); a function's own VpcConfig is part of the key."""

    def __init__(self, clients: Any, cache_addresses: Iterable[str]) -> None:
        self._clients = clients  # service name -> boto3 client against the twin
        self._cache_addresses = [address for address in cache_addresses if address]
        self._lock = threading.Lock()
        self._generation = 0
        self._network: tuple[int, Network, list[Cache]] | None = None
        self._policies: dict[tuple[str, int], str] = {}

    def changed(self) -> None:
        with self._lock:
            self._generation += 1

    def _read(self) -> tuple[int, Network, list[Cache]]:
        with self._lock:
            generation = self._generation
            if self._network is not None and self._network[0] == generation:
                return self._network
        network = read_network(self._clients("ec2"))
        caches = read_caches(self._clients("elasticache"))
        with self._lock:
            self._network = (generation, network, caches)
        return generation, network, caches

    def policy(self, function_arn: str, vpc_config_key: str) -> str:
        generation = self._generation
        key = (f"{function_arn}|{vpc_config_key}", generation)
        cached = self._policies.get(key)
        if cached is not None:
            return cached
        generation, network, caches = self._read()
        configuration = self._clients("lambda").get_function_configuration(FunctionName=function_arn)
        policy = reachability(configuration, network, caches).worker_policy(self._cache_addresses)
        self._policies = {k: v for k, v in self._policies.items() if k[1] == generation}
        self._policies[(key[0], generation)] = policy
        return policy


def is_network_write(environ: dict[str, Any]) -> bool:
    """Whether a request to the twin may change the network: an EC2 or ElastiCache action that is
    not Describe*/List* (both are query APIs: the action is in the query string or the form body)."""
    authorization = str(environ.get("HTTP_AUTHORIZATION", ""))
    scope = authorization.partition("Credential=")[2].split(",", 1)[0].split("/")
    if len(scope) < 4 or scope[3] not in ("ec2", "elasticache"):
        return False
    action = _query_action(str(environ.get("QUERY_STRING", "")))
    if action is None:
        action = _form_action(environ)
    return action is None or not action.startswith(("Describe", "List"))


def _query_action(query: str) -> str | None:
    from urllib.parse import parse_qs

    values = parse_qs(query).get("Action")
    return values[0] if values else None


def _form_action(environ: dict[str, Any]) -> str | None:
    """Reads the form body's Action and puts the body back for moto."""
    import io

    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length <= 0:
        return None
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    return _query_action(body.decode("utf-8", errors="replace"))
