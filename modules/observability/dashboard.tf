# One dashboard: the functions' own metrics first (state latency per strategy, the cache, the
# conflicts and replays), then the workflow, the functions, the streams, the queues and the cache.
#
# Each graph is built as a JSON string, so that graphs of different shapes can be left out by
# conditions; they are laid out two to a row in the order listed.

locals {
  period = var.dashboard_period_seconds

  # SEARCH(...) finds every dimension combination the functions emitted, so a new operation or
  # function shows up without a change here. Latencies are percentiles of each combination.
  search = "SEARCH('{%s,%s} MetricName=\"%s\"', '%s', %d)"

  # Dynamic labels: the dimension values of each series that SEARCH returns.
  label_strategy_operation = "$${PROP('Dim.Strategy')} $${PROP('Dim.Operation')} ($${PROP('Dim.service')})"
  label_service            = "$${PROP('Dim.service')}"
  label_path               = "$${PROP('Dim.Path')}"

  app_graphs = [
    jsonencode({
      title = "State reads: latency p50 / p99 (ms) by strategy and operation"
      metrics = [
        [{ id = "read_p50", expression = format(local.search, local.namespace, "Operation,Strategy,service", local.app_metrics.state_read_latency, "p50", local.period), label = "p50 ${local.label_strategy_operation}" }],
        [{ id = "read_p99", expression = format(local.search, local.namespace, "Operation,Strategy,service", local.app_metrics.state_read_latency, "p99", local.period), label = "p99 ${local.label_strategy_operation}" }],
      ]
      yAxis = { left = { min = 0, label = "ms", showUnits = false } }
    }),
    jsonencode({
      title = "State writes: latency p50 / p99 (ms) by strategy and operation"
      metrics = [
        [{ id = "write_p50", expression = format(local.search, local.namespace, "Operation,Strategy,service", local.app_metrics.state_write_latency, "p50", local.period), label = "p50 ${local.label_strategy_operation}" }],
        [{ id = "write_p99", expression = format(local.search, local.namespace, "Operation,Strategy,service", local.app_metrics.state_write_latency, "p99", local.period), label = "p99 ${local.label_strategy_operation}" }],
      ]
      yAxis = { left = { min = 0, label = "ms", showUnits = false } }
    }),
    jsonencode({
      title = "Catalog cache hit ratio"
      metrics = [
        [{ id = "hit_ratio", expression = "FILL(hits, 0) / (FILL(hits, 0) + FILL(misses, 0))", label = "hit ratio" }],
        [local.namespace, local.app_metrics.cache_hit, "Strategy", local.cache_dimensions.Strategy, "service", local.cache_dimensions.service, { id = "hits", stat = "Sum", visible = false }],
        [local.namespace, local.app_metrics.cache_miss, "Strategy", local.cache_dimensions.Strategy, "service", local.cache_dimensions.service, { id = "misses", stat = "Sum", visible = false }],
      ]
      yAxis       = { left = { min = 0, max = 1, showUnits = false } }
      annotations = { horizontal = [{ label = "alarm below", value = var.alarms.cache_hit_ratio_min }] }
    }),
    jsonencode({
      title = "Catalog read latency p50 / p99 (ms) by outcome"
      metrics = [
        for pair in setproduct(["hit", "miss", "fallback"], ["p50", "p99"]) :
        [local.namespace, local.app_metrics.catalog_read_latency, "Strategy", local.cache_dimensions.Strategy, "Outcome", pair[0], "service", local.cache_dimensions.service, { stat = pair[1], label = "${pair[0]} ${pair[1]}" }]
      ]
      yAxis = { left = { min = 0, label = "ms", showUnits = false } }
    }),
    jsonencode({
      title = "Cache errors, fallback reads and failed invalidations"
      metrics = [
        [local.namespace, local.app_metrics.cache_error, "Strategy", local.cache_dimensions.Strategy, "service", local.cache_dimensions.service, { stat = "Sum", label = "cache errors" }],
        [local.namespace, local.app_metrics.catalog_read_latency, "Strategy", local.cache_dimensions.Strategy, "Outcome", "fallback", "service", local.cache_dimensions.service, { stat = "SampleCount", label = "reads served from the table (fallback)" }],
        [{ id = "invalidation_failed", expression = format(local.search, local.namespace, "Path,Strategy,service", local.app_metrics.cache_invalidation_failed, "Sum", local.period), label = "failed invalidations ${local.label_path}" }],
      ]
      yAxis = { left = { min = 0, showUnits = false } }
    }),
    jsonencode({
      title = "Cache invalidations (count) and stream invalidation lag p99 (ms)"
      metrics = [
        [{ id = "invalidations", expression = format(local.search, local.namespace, "Path,Strategy,service", local.app_metrics.cache_invalidation, "Sum", local.period), label = "invalidations ${local.label_path}" }],
        [{ id = "lag_p99", expression = format(local.search, local.namespace, "Path,Strategy,service", local.app_metrics.invalidation_lag, "p99", local.period), label = "lag p99 ${local.label_path} (ms)", yAxis = "right" }],
      ]
      yAxis = { left = { min = 0, showUnits = false }, right = { min = 0, label = "ms", showUnits = false } }
    }),
    jsonencode({
      title = "Version conflicts (409), idempotent replays, workflows started (by checkout, and by the order relay for abandoned orders)"
      metrics = [
        [{ id = "conflicts", expression = format(local.search, local.namespace, "Strategy,service", local.app_metrics.version_conflict, "Sum", local.period), label = "version conflicts ${local.label_service}" }],
        [{ id = "replays", expression = format(local.search, local.namespace, "Strategy,service", local.app_metrics.idempotent_replay, "Sum", local.period), label = "idempotent replays ${local.label_service}" }],
        [{ id = "started", expression = format(local.search, local.namespace, "Strategy,service", local.app_metrics.workflow_started, "Sum", local.period), label = "workflows started ${local.label_service}" }],
        [{ id = "abandoned", expression = format(local.search, local.namespace, "Strategy,service", local.app_metrics.abandoned_order_started, "Sum", local.period), label = "abandoned orders started ${local.label_service}" }],
      ]
      yAxis = { left = { min = 0, showUnits = false } }
    }),
    jsonencode({
      title = "Cold starts"
      metrics = [
        [{ id = "cold_starts", expression = format(local.search, local.namespace, "function_name,service", local.app_metrics.cold_start, "Sum", local.period), label = local.label_service }],
      ]
      yAxis = { left = { min = 0, showUnits = false } }
    }),
  ]

  workflow_graphs = local.has_workflow ? [
    jsonencode({
      title = "Step Functions executions"
      metrics = [
        for metric in ["ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"] :
        ["AWS/States", metric, "StateMachineArn", var.workflow.state_machine_arn, { stat = "Sum", label = metric }]
      ]
      yAxis = { left = { min = 0, showUnits = false } }
    }),
    jsonencode({
      title = "Step Functions execution duration p50 / p99 (ms)"
      metrics = [
        for stat in ["p50", "p99"] :
        ["AWS/States", "ExecutionTime", "StateMachineArn", var.workflow.state_machine_arn, { stat = stat, label = stat }]
      ]
      yAxis = { left = { min = 0, label = "ms", showUnits = false } }
    }),
  ] : []

  function_graphs = length(var.functions) > 0 ? [
    for graph in [
      { title = "Lambda errors", metric = "Errors", stat = "Sum" },
      { title = "Lambda throttles", metric = "Throttles", stat = "Sum" },
      { title = "Lambda duration p99 (ms)", metric = "Duration", stat = "p99" },
      { title = "Lambda concurrent executions (max)", metric = "ConcurrentExecutions", stat = "Maximum" },
      ] : jsonencode({
        title   = graph.title
        metrics = [for key, function_name in var.functions : ["AWS/Lambda", graph.metric, "FunctionName", function_name, { stat = graph.stat, label = key }]]
        yAxis   = { left = { min = 0, showUnits = false } }
    })
  ] : []

  stream_graphs = length(var.stream_consumer_functions) > 0 ? [
    jsonencode({
      title   = "Stream consumers: iterator age (max, ms)"
      metrics = [for function_name in var.stream_consumer_functions : ["AWS/Lambda", "IteratorAge", "FunctionName", function_name, { stat = "Maximum" }]]
      yAxis   = { left = { min = 0, label = "ms", showUnits = false } }
    }),
  ] : []

  queue_graphs = length(var.dead_letter_queue_arns) > 0 ? [
    jsonencode({
      title   = "Dead-letter queues: messages waiting"
      metrics = [for key, queue in local.dlq_queue_names : ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queue, { stat = "Maximum", label = key }]]
      yAxis   = { left = { min = 0, showUnits = false } }
    }),
  ] : []

  # A replication group reports per cache cluster (node); a serverless cache as a whole.
  cache_graphs = local.cache_mode == "replication_group" ? [
    for graph in [
      { title = "ElastiCache engine CPU (%)", metric = "EngineCPUUtilization", stat = "Average" },
      { title = "ElastiCache memory used (%)", metric = "DatabaseMemoryUsagePercentage", stat = "Maximum" },
      { title = "ElastiCache evictions", metric = "Evictions", stat = "Sum" },
      ] : jsonencode({
        title   = graph.title
        metrics = [for node in values(local.cache_nodes) : ["AWS/ElastiCache", graph.metric, "CacheClusterId", node, { stat = graph.stat }]]
        yAxis   = { left = { min = 0, showUnits = false } }
    })
    ] : local.cache_mode == "serverless" ? [
    for graph in [
      { title = "ElastiCache processing units (ECPU)", metric = "ElastiCacheProcessingUnits", stat = "Sum" },
      { title = "ElastiCache bytes used for the cache", metric = "BytesUsedForCache", stat = "Maximum" },
      { title = "ElastiCache evictions", metric = "Evictions", stat = "Sum" },
      ] : jsonencode({
        title   = graph.title
        metrics = [["AWS/ElastiCache", graph.metric, "clusterId", var.cache.name, { stat = graph.stat }]]
        yAxis   = { left = { min = 0, showUnits = false } }
    })
  ] : []

  graphs = concat(local.app_graphs, local.workflow_graphs, local.function_graphs, local.stream_graphs, local.queue_graphs, local.cache_graphs)

  metric_widgets = [
    for graph in local.graphs : jsonencode({
      type = "metric"
      properties = merge(
        { region = local.region, view = "timeSeries", stacked = false, period = local.period },
        jsondecode(graph),
      )
    })
  ]

  # The per-state p99 of the saga over time, from the state machine's execution log (a Logs
  # Insights widget: Step Functions publishes no per-state metric).
  log_widgets = local.has_workflow ? [
    jsonencode({
      type = "log"
      properties = {
        title   = "Checkout saga: time per state, p99 (ms), from the execution log"
        region  = local.region
        view    = "timeSeries"
        stacked = false
        query = trimspace(templatefile("${path.module}/queries/state_p99_over_time.tftpl", {
          log_group = var.workflow.log_group_name
          visits    = local.state_visits
        }))
      }
    }),
  ] : []

  widgets = concat(local.metric_widgets, local.log_widgets)
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = var.name
  dashboard_body = jsonencode({
    widgets = [
      for index, widget in local.widgets : merge(jsondecode(widget), {
        x      = (index % 2) * 12
        y      = floor(index / 2) * 6
        width  = 12
        height = 6
      })
    ]
  })
}
