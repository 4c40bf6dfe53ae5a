"""The table's stream lags 6 s and the cache loses every key meanwhile (a node restarted empty):
prices change during the lag, and no read may see an old price for longer than the documented
staleness bound."""

from drivers.chaos.harness import Experiment

EXPERIMENT = Experiment(
    name="stream-lag-cache-flush",
    fault="stream delivery held 6 s, Valkey flushed",
    rules=lambda target: [
        {
            "kind": "stream-delay",
            "function": target.function_name("cache_invalidator"),
            "duration_seconds": 6,
        },
        {"kind": "valkey-flush"},
    ],
    fis_template="cache_interrupt_az_power",
    fault_seconds=6,
    orders=4,
    error_budget=0.0,
    catalog_reads=True,
)
