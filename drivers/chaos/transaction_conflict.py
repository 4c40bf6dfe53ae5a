"""DynamoDB cancels half of the saga's transactions with TransactionConflict (another transaction
holds an item, as on a hot product): the reservation must be retried, not taken for out-of-stock."""

from drivers.chaos.harness import Experiment

EXPERIMENT = Experiment(
    name="transaction-conflict",
    fault="TransactWriteItems cancelled (TransactionConflict) on 50% of calls, 8 s",
    rules=lambda target: [
        {
            "kind": "error",
            "code": "TransactionConflict",
            "operation": "TransactWriteItems",
            "probability": 0.5,
            "duration_seconds": 8,
        }
    ],
    fis_template="lambda_invocation_error",
    fault_seconds=8,
    error_budget=0.0,
)
