# A saved Logs Insights query: one execution's state transitions, in order, from the state
# machine's log group. Step Functions logs one JSON event per history event (logging level ALL):
# `type` (ExecutionStarted, TaskStateEntered, TaskStateExited, ..., ExecutionSucceeded or
# ExecutionFailed), `details.name` (the state), `id` and `previous_event_id`, and the
# `execution_arn`, whose last part is the execution's name. The shop names each checkout
# execution after its order id, so the query finds an order's saga by that id.

locals {
  execution_placeholder = "00000000-0000-0000-0000-000000000000"

  # One visit per execution and Task state, from the execution log: its time (entered to
  # exited), its attempts, binned by the dashboard's period. The saved per-state query and the
  # dashboard's per-state p99 widget both start from it. The query files sit beside this one so
  # that tests/unit/test_saga_log_query.py reads the same text as Terraform deploys.
  state_visits = trimspace(templatefile("${path.module}/queries/state_visits.tftpl", {
    bin = "${var.dashboard_period_seconds}s"
  }))
}

resource "aws_cloudwatch_query_definition" "execution_state_transitions" {
  count = local.has_workflow ? 1 : 0

  name            = "${var.name}/execution-state-transitions"
  log_group_names = [var.workflow.log_group_name]
  query_string    = <<-EOT
    # One execution's state transitions, oldest first. Replace ${local.execution_placeholder}
    # with the execution name (the shop's checkout: the order id).
    fields @timestamp, type, details.name as state, id, previous_event_id, execution_arn
    | filter execution_arn like /:${local.execution_placeholder}$/
    | filter type like /^Execution|StateEntered$|StateExited$|Failed$|TimedOut$/
    | sort @timestamp asc
    | limit 1000
  EOT
}

# A saved Logs Insights query: where the saga's time goes, per Task state, over any time range,
# computed from the same execution log events (see queries/state_durations.tftpl).
resource "aws_cloudwatch_query_definition" "state_durations" {
  count = local.has_workflow ? 1 : 0

  name            = "${var.name}/state-durations"
  log_group_names = [var.workflow.log_group_name]
  query_string = templatefile("${path.module}/queries/state_durations.tftpl", {
    bin    = "${var.dashboard_period_seconds}s"
    visits = local.state_visits
  })
}
