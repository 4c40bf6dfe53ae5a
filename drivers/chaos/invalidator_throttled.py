"""The cache invalidator throttled for 10 s (at its reserved concurrency, or the account's), while
orders change stock and prices change: the stream's mapping must hold the records and deliver
them after, never drop one (Lambda retries a throttled batch until its records pass
MaximumRecordAgeInSeconds, and the invalidator's is set above the staleness bound), and no catalog
read may see an old price for longer than the documented bound."""

from drivers.chaos.harness import Experiment

EXPERIMENT = Experiment(
    name="invalidator-throttled",
    fault="cache-invalidator throttled (TooManyRequests) 10 s",
    rules=lambda target: [
        {
            "kind": "lambda-throttle",
            "function": target.function_name("cache_invalidator"),
            "duration_seconds": 10,
        }
    ],
    fis_template="lambda_invocation_error",
    fault_seconds=10,
    orders=4,
    error_budget=0.0,
    catalog_reads=True,
)
