# Test helper: the observability module fed queue and state machine ARNs that are known only
# after apply (terraform_data outputs), as those of resources created in the same apply are on
# a fresh account.
variable "functions" {
  description = "Function names by key; each gets a dead-letter queue whose ARN is unknown at plan."
  type        = map(string)
}

resource "terraform_data" "queue_arn" {
  for_each = var.functions

  input = "arn:aws:sqs:eu-west-1:111122223333:${each.value}-dlq"
}

resource "terraform_data" "state_machine_arn" {
  input = "arn:aws:states:eu-west-1:111122223333:stateMachine:unit-checkout"
}

module "observability" {
  source = "../.."

  name                   = "unit"
  functions              = var.functions
  dead_letter_queue_arns = { for key, queue in terraform_data.queue_arn : key => queue.output }
  workflow = {
    state_machine_arn = terraform_data.state_machine_arn.output
    log_group_name    = "/aws/vendedlogs/states/unit-checkout"
  }
  alarm_subscribers = [{ protocol = "email", endpoint = "ops@example.com" }]
}

output "alarm_names" {
  description = "Every alarm's name."
  value       = keys(module.observability.alarm_arns)
}
