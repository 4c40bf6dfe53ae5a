"""DynamoDB throttles a third of the functions' requests for a while (a hot partition, on-demand
capacity catching up with a burst): every strategy must ride it out on its clients' retries."""

from drivers.chaos.harness import Experiment

EXPERIMENT = Experiment(
    name="dynamodb-throttling",
    fault="DynamoDB ThrottlingException on 30% of calls, 8 s",
    rules=lambda target: [
        {"kind": "error", "code": "ThrottlingException", "probability": 0.3, "duration_seconds": 8},
    ],
    fis_template="lambda_invocation_error",
    fault_seconds=8,
    error_budget=0.2,
    short=True,
)
