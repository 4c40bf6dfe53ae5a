# A saved Logs Insights query: one execution's state transitions, in order, from the state
# machine's log group. Step Functions logs one JSON event per history event (logging level ALL):
# `type` (ExecutionStarted, TaskStateEntered, TaskStateExited, ..., ExecutionSucceeded or
# ExecutionFailed), `details.name` (the state), `id` and `previous_event_id`, and the
# `execution_arn`, whose last part is the execution's name. The shop names each checkout
# execution after its order id, so the query finds an order's saga by that id.

locals {
  execution_placeholder = "00000000-0000-0000-0000-000000000000"
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
