"""A saga step's execution environment dies after its DynamoDB write, before it answers (an
out-of-memory kill, a host failure): Step Functions sees Runtime.ExitError and retries the step,
which must find its own work done (conditional writes keyed by the order) and not do it twice."""

from drivers.chaos.harness import Experiment

EXPERIMENT = Experiment(
    name="step-crash-after-write",
    fault="order-steps killed after its write, 40% of invocations, 10 s",
    rules=lambda target: [
        {
            "kind": "lambda-crash",
            "phase": "after",
            "function": target.function_name("order_steps"),
            "probability": 0.4,
            "duration_seconds": 10,
        }
    ],
    fis_template="lambda_invocation_error",
    fault_seconds=10,
    error_budget=0.0,  # the API itself is not hit: no 5xx at all
    short=True,
)
