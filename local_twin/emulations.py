"""What moto lacks for `terraform apply` of this project's stack, emulated in the twin's server.

Each emulation is small, tested (tests/integration/test_twin_emulations.py) and listed in
the README's twin section with the real service's behaviour beside it.
"""

from __future__ import annotations


def install() -> None:
    """Patches moto, in the server process, before it serves its first request."""
