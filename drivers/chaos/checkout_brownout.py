"""Step Functions stops answering for longer than checkout's timeout (a regional brown-out of one
API) while orders are placed: checkout has written each order but cannot start its saga. The
client's retry with the same Idempotency-Key must start the missing execution, and no order may
stay PENDING with nothing to finish it."""

from drivers.chaos.harness import Experiment

EXPERIMENT = Experiment(
    name="checkout-brownout",
    fault="Step Functions unreachable 12 s (checkout dies before StartExecution)",
    rules=lambda target: [{"kind": "brownout", "service": "states", "duration_seconds": 12}],
    fis_template="lambda_invocation_add_delay",
    fault_seconds=12,
    orders=6,
    error_budget=1.0,  # every placement may fail while it lasts; none may after
    terminal_within_seconds=150,
)
