# Lambda faults on one function: the FIS extension layer, its environment and its read access to
# the configuration bucket go on the function; an alarm on the function's errors stops the
# experiments.
provider "aws" {
  region = "eu-west-1"
}

module "function" {
  source = "../../../lambda-function"

  function_name         = "example-fis-target"
  package_path          = "${path.module}/../../../lambda-function/examples/basic/package.zip"
  handler               = "app.handler"
  layers                = [module.fault_injection.lambda_layer_arn]
  environment_variables = module.fault_injection.lambda_environment
  policy_statements     = module.fault_injection.lambda_policy_statements
}

# Stops an experiment once more than 50 invocations fail in a minute: the fault is meant to hurt
# a share of them, not all.
resource "aws_cloudwatch_metric_alarm" "errors" {
  alarm_name          = "example-fis-target-errors"
  alarm_description   = "example-fis-target fails more than the experiment intends"
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = module.function.function_name }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 50
  treat_missing_data  = "notBreaching"
}

module "fault_injection" {
  source = "../.."

  name                      = "example-fis"
  stop_condition_alarm_arns = [aws_cloudwatch_metric_alarm.errors.arn]
  lambda_functions          = { target = module.function.function_arn }
  lambda_faults = {
    invocation_error     = { functions = ["target"], invocation_percentage = 25 }
    invocation_add_delay = { functions = ["target"], startup_delay_milliseconds = 12000 }
  }
  log_retention_in_days = 30
}

output "experiment_template_ids" {
  description = "Start one with `aws fis start-experiment --experiment-template-id <id>`."
  value       = module.fault_injection.experiment_template_ids
}

output "function_name" {
  description = "The target function."
  value       = module.function.function_name
}
