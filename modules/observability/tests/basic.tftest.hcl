# `terraform test` with a mocked AWS provider. Mocks return random strings for computed
# attributes, and the provider rejects those where it expects an ARN; the defaults below have
# the right shape.
mock_provider "aws" {
  mock_data "aws_region" {
    defaults = { region = "eu-west-1" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "111122223333", arn = "arn:aws:iam::111122223333:root" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws", dns_suffix = "amazonaws.com" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_resource "aws_kms_key" {
    defaults = {
      arn    = "arn:aws:kms:eu-west-1:111122223333:key/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
      key_id = "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
    }
  }
  mock_resource "aws_sns_topic" {
    defaults = { arn = "arn:aws:sns:eu-west-1:111122223333:unit-alarms" }
  }
  mock_resource "aws_sns_topic_subscription" {
    defaults = { arn = "arn:aws:sns:eu-west-1:111122223333:unit-alarms:0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d" }
  }
  mock_resource "aws_cloudwatch_dashboard" {
    defaults = { dashboard_arn = "arn:aws:cloudwatch::111122223333:dashboard/unit" }
  }
  mock_resource "aws_cloudwatch_metric_alarm" {
    defaults = { arn = "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:unit-alarm" }
  }
  mock_resource "aws_cloudwatch_query_definition" {
    defaults = { query_definition_id = "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/vendedlogs/states/example-observability-checkout" }
  }
}

variables {
  name      = "unit"
  functions = { cart = "unit-cart", order_steps = "unit-order-steps" }
  dead_letter_queue_arns = {
    cart        = "arn:aws:sqs:eu-west-1:111122223333:unit-cart-dlq"
    order_steps = "arn:aws:sqs:eu-west-1:111122223333:unit-order-steps-dlq"
  }
}

run "without_subscribers_nothing_is_notified" {
  command = apply

  assert {
    condition     = length(aws_sns_topic.alarms) == 0 && length(aws_kms_key.this) == 0 && output.alarm_topic_arn == null
    error_message = "no subscribers: no topic and no key"
  }

  assert {
    condition     = alltrue([for alarm in concat([aws_cloudwatch_metric_alarm.cache_hit_ratio], values(aws_cloudwatch_metric_alarm.function), values(aws_cloudwatch_metric_alarm.dead_letter_queue)) : length(alarm.alarm_actions) == 0])
    error_message = "no subscribers: the alarms notify no one"
  }

  assert {
    condition     = toset(keys(output.alarm_arns)) == toset(["unit-cache-hit-ratio", "unit-errors-cart", "unit-errors-order_steps", "unit-throttles-cart", "unit-throttles-order_steps", "unit-dlq-cart", "unit-dlq-order_steps"])
    error_message = "one hit-ratio alarm, and errors, throttles and DLQ alarms per function"
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.dead_letter_queue["cart"].dimensions.QueueName == "unit-cart-dlq" && aws_cloudwatch_metric_alarm.dead_letter_queue["cart"].threshold == 0 && aws_cloudwatch_metric_alarm.dead_letter_queue["cart"].comparison_operator == "GreaterThanThreshold"
    error_message = "a DLQ alarm fires on any waiting message of its queue"
  }

  assert {
    condition     = length(aws_cloudwatch_query_definition.execution_state_transitions) == 0 && length(aws_cloudwatch_query_definition.state_durations) == 0 && length(aws_cloudwatch_metric_alarm.workflow_failure_rate) == 0
    error_message = "no workflow: no saved queries and no failure-rate alarm"
  }

  assert {
    condition     = length(jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets) == 13
    error_message = "8 application graphs, 4 Lambda graphs, the DLQ graph and nothing for an absent workflow or cache"
  }

  assert {
    condition     = alltrue([for widget in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets : widget.properties.region == "eu-west-1"])
    error_message = "every graph names the region"
  }
}

run "hit_ratio_alarm_is_metric_math_over_the_catalog_metrics" {
  command = plan

  assert {
    condition     = one([for q in aws_cloudwatch_metric_alarm.cache_hit_ratio.metric_query : q if q.return_data == true]).expression == "FILL(hits, 0) / (FILL(hits, 0) + FILL(misses, 0))"
    error_message = "the hit ratio is hits / (hits + misses)"
  }

  assert {
    condition     = toset([for q in aws_cloudwatch_metric_alarm.cache_hit_ratio.metric_query : one(q.metric).metric_name if length(q.metric) > 0]) == toset(["CacheHit", "CacheMiss"])
    error_message = "the ratio reads CacheHit and CacheMiss"
  }

  assert {
    condition     = alltrue([for q in aws_cloudwatch_metric_alarm.cache_hit_ratio.metric_query : one(q.metric).dimensions.Strategy == "cache" && one(q.metric).dimensions.service == "catalog" if length(q.metric) > 0])
    error_message = "the catalog emits its cache metrics with Strategy=cache and its service name"
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.cache_hit_ratio.threshold == 0.8 && aws_cloudwatch_metric_alarm.cache_hit_ratio.comparison_operator == "LessThanThreshold"
    error_message = "the alarm fires below the default 0.8"
  }
}

run "subscribers_get_an_encrypted_topic" {
  command = apply

  variables {
    alarm_subscribers = [{ protocol = "email", endpoint = "ops@example.com" }]
  }

  assert {
    condition     = aws_sns_topic.alarms[0].kms_master_key_id == aws_kms_key.this[0].arn && aws_kms_key.this[0].enable_key_rotation
    error_message = "the topic is encrypted with the module's own rotating key"
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.cache_hit_ratio.alarm_actions == toset([aws_sns_topic.alarms[0].arn]) && aws_cloudwatch_metric_alarm.function["throttles-cart"].ok_actions == toset([aws_sns_topic.alarms[0].arn])
    error_message = "alarms notify the topic on ALARM and OK"
  }

  assert {
    condition     = aws_sns_topic_subscription.alarms["email:ops@example.com"].protocol == "email"
    error_message = "one subscription per subscriber"
  }
}

run "a_key_passed_in_is_used" {
  command = apply

  variables {
    alarm_subscribers = [{ protocol = "https", endpoint = "https://hooks.example.com/alarms" }]
    kms               = { create_key = false, key_arn = "arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555" }
  }

  assert {
    condition     = length(aws_kms_key.this) == 0 && aws_sns_topic.alarms[0].kms_master_key_id == "arn:aws:kms:eu-west-1:111122223333:key/11111111-2222-3333-4444-555555555555"
    error_message = "a key passed in encrypts the topic, and none is created"
  }
}

run "workflow_gets_a_failure_rate_alarm_and_a_saved_query" {
  command = apply

  variables {
    workflow = {
      state_machine_arn = "arn:aws:states:eu-west-1:111122223333:stateMachine:unit-checkout"
      log_group_name    = "/aws/vendedlogs/states/unit-checkout"
    }
  }

  assert {
    condition     = aws_cloudwatch_query_definition.execution_state_transitions[0].log_group_names == tolist(["/aws/vendedlogs/states/unit-checkout"]) && aws_cloudwatch_query_definition.execution_state_transitions[0].name == "unit/execution-state-transitions"
    error_message = "the saved query reads the workflow's log group"
  }

  assert {
    condition     = strcontains(aws_cloudwatch_query_definition.execution_state_transitions[0].query_string, "filter execution_arn like") && strcontains(aws_cloudwatch_query_definition.execution_state_transitions[0].query_string, "details.name as state")
    error_message = "the saved query lists one execution's states"
  }

  assert {
    condition     = aws_cloudwatch_query_definition.state_durations[0].log_group_names == tolist(["/aws/vendedlogs/states/unit-checkout"]) && aws_cloudwatch_query_definition.state_durations[0].name == "unit/state-durations"
    error_message = "the per-state query reads the workflow's log group"
  }

  assert {
    condition     = strcontains(aws_cloudwatch_query_definition.state_durations[0].query_string, "by execution_arn, state, bin(300s) as window") && strcontains(aws_cloudwatch_query_definition.state_durations[0].query_string, "pct(state_ms, 99) as p99_ms") && strcontains(aws_cloudwatch_query_definition.state_durations[0].query_string, "as retries by state")
    error_message = "the per-state query pairs each execution's visits, then takes percentiles and retries per state"
  }

  assert {
    condition     = !strcontains(aws_cloudwatch_query_definition.state_durations[0].query_string, "$${")
    error_message = "every template variable of the per-state query is filled in"
  }

  assert {
    condition     = length([for widget in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets : widget if widget.type == "log"]) == 1
    error_message = "one Logs Insights widget: the per-state p99 over time"
  }

  assert {
    condition = alltrue([
      for widget in jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets :
      startswith(widget.properties.query, "SOURCE '/aws/vendedlogs/states/unit-checkout'") && strcontains(widget.properties.query, "stats pct(state_ms, 99) as p99_ms by window, state") && widget.properties.region == "eu-west-1"
      if widget.type == "log"
    ])
    error_message = "the widget queries the workflow's log group for the p99 per state and time window"
  }

  assert {
    condition     = length(jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets) == 16
    error_message = "13 graphs without a workflow, its 2 metric graphs and its log widget"
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.workflow_failure_rate[0].threshold == 5 && length(aws_cloudwatch_metric_alarm.workflow_failure_rate[0].metric_query) == 5
    error_message = "the failure rate is math over four execution metrics, alarmed above 5 %"
  }

  assert {
    condition     = alltrue([for q in aws_cloudwatch_metric_alarm.workflow_failure_rate[0].metric_query : one(q.metric).dimensions.StateMachineArn == "arn:aws:states:eu-west-1:111122223333:stateMachine:unit-checkout" if length(q.metric) > 0])
    error_message = "the execution metrics are the state machine's"
  }
}

run "replication_group_nodes_get_memory_alarms" {
  command = apply

  variables {
    cache = { mode = "replication_group", name = "unit-catalog", nodes = 3 }
  }

  assert {
    condition     = toset([for alarm in aws_cloudwatch_metric_alarm.cache_node_memory : alarm.dimensions.CacheClusterId]) == toset(["unit-catalog-001", "unit-catalog-002", "unit-catalog-003"]) && toset(keys(aws_cloudwatch_metric_alarm.cache_node_memory)) == toset(["001", "002", "003"])
    error_message = "one memory alarm per cache cluster of the group, named as ElastiCache names them"
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.cache_node_memory["002"].metric_name == "DatabaseMemoryUsagePercentage" && aws_cloudwatch_metric_alarm.cache_node_memory["002"].threshold == 80
    error_message = "memory alarms fire above 80 % by default"
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.serverless_cache_storage) == 0
    error_message = "no serverless storage alarm for a replication group"
  }
}

run "serverless_cache_gets_a_storage_alarm" {
  command = apply

  variables {
    cache = { mode = "serverless", name = "unit-catalog", max_data_storage_gb = 2 }
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.cache_node_memory) == 0 && length(aws_cloudwatch_metric_alarm.serverless_cache_storage) == 1
    error_message = "a serverless cache is alarmed on as a whole"
  }

  assert {
    condition     = one([for q in aws_cloudwatch_metric_alarm.serverless_cache_storage[0].metric_query : q if q.return_data == true]).expression == "100 * bytes / 2147483648"
    error_message = "storage is a percentage of the 2 GB limit"
  }
}

run "rejects_plain_http_subscribers" {
  command = plan

  variables {
    alarm_subscribers = [{ protocol = "http", endpoint = "http://hooks.example.com/alarms" }]
  }

  expect_failures = [var.alarm_subscribers]
}

run "rejects_a_hit_ratio_above_one" {
  command = plan

  variables {
    alarms = { cache_hit_ratio_min = 80 }
  }

  expect_failures = [var.alarms]
}

run "rejects_an_unknown_cache_mode" {
  command = plan

  variables {
    cache = { mode = "cluster", name = "unit-catalog" }
  }

  expect_failures = [var.cache]
}

# Queue and state machine ARNs are known only after apply when they are created in the same
# apply; the set of alarms must still be known at plan.
run "plans_while_arns_are_unknown" {
  command = plan

  module {
    source = "./tests/setup"
  }

  variables {
    functions = { cart = "unit-cart", checkout = "unit-checkout" }
  }

  assert {
    condition     = toset(output.alarm_names) == toset(["unit-cache-hit-ratio", "unit-workflow-failure-rate", "unit-dlq-cart", "unit-dlq-checkout", "unit-errors-cart", "unit-errors-checkout", "unit-throttles-cart", "unit-throttles-checkout"])
    error_message = "every alarm is planned although the ARNs it watches are unknown"
  }
}

run "basic_example" {
  command = apply

  module {
    source = "./examples/basic"
  }

  assert {
    condition     = output.dashboard_name == "example-observability-basic" && length(output.alarm_arns) == 7
    error_message = "the basic example makes a dashboard and seven alarms"
  }
}

run "complete_example" {
  command = apply

  module {
    source = "./examples/complete"
  }

  assert {
    condition     = output.alarm_topic_arn == "arn:aws:sns:eu-west-1:111122223333:unit-alarms" && output.query_definition_id == "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
    error_message = "the complete example notifies a topic and saves the state-transition query"
  }
}
