# Applied by tests/apply/test_apply_examples.py (pytest-terraform), then destroyed.
terraform {
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.28, < 7.0"
    }
    random = {
      source  = "hashicorp/random"
      version = ">= 3.6, < 4.0"
    }
  }
}

provider "aws" {}

resource "random_id" "suffix" {
  byte_length = 4
}

module "state_table" {
  source = "../../../../modules/state-table"

  name                = "sst-apply-${random_id.suffix.hex}-state"
  deletion_protection = false
}

output "table_name" {
  description = "Table under test."
  value       = module.state_table.name
}
