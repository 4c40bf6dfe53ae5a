# A dashboard and alarms for two functions and their dead-letter queues, with no one notified:
# the alarms' state shows on the dashboard and in the console. The functions need not exist yet.
provider "aws" {
  region = "eu-west-1"
}

data "aws_caller_identity" "current" {}

module "observability" {
  source = "../.."

  name      = "example-observability-basic"
  functions = { cart = "example-cart", catalog = "example-catalog" }
  dead_letter_queue_arns = {
    cart    = "arn:aws:sqs:eu-west-1:${data.aws_caller_identity.current.account_id}:example-cart-dlq"
    catalog = "arn:aws:sqs:eu-west-1:${data.aws_caller_identity.current.account_id}:example-catalog-dlq"
  }
}

output "dashboard_name" {
  description = "Open it in the CloudWatch console."
  value       = module.observability.dashboard_name
}

output "alarm_arns" {
  description = "Every alarm, by name."
  value       = module.observability.alarm_arns
}
