"""The local twin: the shop on moto, local Lambda workers and Redis, on loopback only."""
