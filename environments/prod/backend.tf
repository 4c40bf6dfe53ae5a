# State in S3 with S3-native locking (no DynamoDB lock table). Bucket, key and region
# come from a backend config file at init:
#   terraform init -backend-config=backend.hcl   (see backend.hcl.example)
# `make plan ENV=<env>` does this for you.
terraform {
  backend "s3" {
    use_lockfile = true
    encrypt      = true
  }
}
