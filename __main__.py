"""The program `pulumi up -s <env>` runs on Pulumi.yaml: the platform `mlplatform up --env <env>` deploys."""

from mlplatform.app.stack_program import run

run()
