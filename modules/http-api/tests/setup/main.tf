# Test helper: the http-api module fed the invoke ARNs of functions that do not exist
# yet. terraform_data's output is known only after apply, as a new function's
# invoke_arn is on a fresh account.
variable "routes" {
  description = "Route key to function_name and optional qualifier."
  type = map(object({
    function_name = string
    qualifier     = optional(string)
  }))
}

resource "terraform_data" "invoke_arn" {
  for_each = var.routes

  input = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:111122223333:function:${each.value.function_name}/invocations"
}

module "api" {
  source = "../.."

  name   = "unit"
  routes = { for key, route in var.routes : key => merge(route, { invoke_arn = terraform_data.invoke_arn[key].output }) }
}
