"""A saga step's execution environment dies after its DynamoDB write, before it answers (an
out-of-memory kill, a host failure): Step Functions sees Runtime.ExitError and retries the step,
which must find its own work done (conditional writes keyed by the order) and not do it twice."""

from drivers.chaos.harness import Experiment

# At most this many environments die. The saga retries a crashed step 6 times (7 attempts:
# terraform/workflows/checkout.asl.json, AWS's recommended Lambda retrier), so no order can lose
# every attempt of one step to the fault, and the experiment asserts the idempotency of the
# retried steps rather than the luck of the draw: at 40 % for the whole window and no cap, about
# one order in a run of 13 lost all four attempts of the old retrier (CI, 2026-12-02). A sustained
# crash rate p fails a step with probability p**7; docs/chaos.md gives the numbers.
CRASHES = 6

EXPERIMENT = Experiment(
    name="step-crash-after-write",
    fault=f"order-steps killed after its write, 40%, 10 s, {CRASHES} at most",
    rules=lambda target: [
        {
            "kind": "lambda-crash",
            "phase": "after",
            "function": target.function_name("order_steps"),
            "probability": 0.4,
            "count": CRASHES,
            "duration_seconds": 10,
        }
    ],
    fis_template="lambda_invocation_error",
    fault_seconds=10,
    error_budget=0.0,  # the API itself is not hit: no 5xx at all
    short=True,
)
