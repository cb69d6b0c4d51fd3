"""String formats of the spec, each with the sentence users read when a value does not match.

A regular expression is a poor error message. Every ``pattern=`` in the spec goes through
:func:`fmt`, which remembers a human description; the error renderer shows that description as
"allowed" instead of the regex.
"""

from __future__ import annotations

FORMAT_HELP: dict[str, str] = {}


def fmt(pattern: str, help_text: str) -> str:
    """Register ``help_text`` for ``pattern`` and return the pattern (for ``Field(pattern=...)``)."""
    FORMAT_HELP[pattern] = help_text
    return pattern


INSTANCE_TYPE = fmt(r"^ml\.[a-z0-9]+[a-z0-9-]*\.[a-z0-9]+$", "a SageMaker instance type such as ml.m5.xlarge")
RESOURCE_NAME = fmt(
    r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$",
    "2-32 characters: lowercase letters, digits and '-', starting with a letter, not ending with '-'",
)
PLATFORM_NAME = fmt(
    r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$",
    "3-32 characters: lowercase letters, digits and '-', starting with a letter, not ending with '-'",
)
# SageMaker monitoring schedules accept only these crons (CreateMonitoringSchedule's ScheduleExpression).
MONITORING_CRON = fmt(
    r"^cron\(0 (\*|(0?\d|1\d|2[0-3])(/(0?[1-9]|1\d|2[0-4]))?) \? \* \* \*\)$",
    "what SageMaker monitoring accepts: hourly cron(0 * ? * * *), daily at hour H cron(0 H ? * * *), or every N "
    "hours from hour H cron(0 H/N ? * * *)",
)
ACCOUNT_ID = fmt(r"^\d{12}$", 'a 12-digit AWS account id, quoted: "123456789012"')
CIDR = fmt(r"^(\d{1,3}\.){3}\d{1,3}/(1[6-9]|2[0-8])$", "an IPv4 CIDR block from /16 to /28, such as 10.20.0.0/16")
IAM_POLICY_ARN = fmt(
    r"^arn:aws[a-z-]*:iam::(\d{12}|aws):policy/.+$",
    "an IAM policy ARN: arn:aws:iam::<account>:policy/<name> (or arn:aws:iam::aws:policy/<name>)",
)
FEATURE_NAME = fmt(
    r"^[a-zA-Z0-9]([-_]*[a-zA-Z0-9]){0,63}$", "1-64 letters, digits, '-' and '_', starting and ending alphanumeric"
)
S3_PREFIX = fmt(r"^[A-Za-z0-9!_.*'()/-]+/$", "an S3 key prefix ending in '/', such as incoming/")
MODEL_DATA = fmt(
    r"^(sample|s3://[a-z0-9.-]{3,63}/.+)$",
    "an s3:// URL of an object (s3://bucket/path/model.tar.gz) or `sample`",
)
S3_URL = fmt(r"^s3://[a-z0-9.-]{3,63}/.+$", "an s3:// URL of an object: s3://bucket/path/model.tar.gz")
REPOSITORY = fmt(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", "a repository as owner/name")
GITHUB_ENVIRONMENT = fmt(
    r"^[A-Za-z0-9_.-]{1,255}$", "a GitHub environment name: 1-255 letters, digits, '_', '.' and '-'"
)
GITHUB_OIDC_PROVIDER_ARN = fmt(
    r"^arn:aws[a-z-]*:iam::\d{12}:oidc-provider/token\.actions\.githubusercontent\.com$",
    "the ARN of GitHub's OIDC provider in this account: "
    "arn:aws:iam::<account>:oidc-provider/token.actions.githubusercontent.com",
)
ENV_NAME = fmt(
    r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$",
    "a lowercase DNS label of 1-40 characters: a-z, 0-9 and '-', starting and ending with a letter or digit",
)
TTL = fmt(r"^(\d+)([mhdw])$", "a duration such as 30m, 8h, 7d or 2w")
BACKEND = fmt(
    r"^(file://|s3://|gs://|azblob://|https://).+", "file://<dir>, s3://<bucket>/<prefix> or a Pulumi Cloud URL"
)
SECRETS_PROVIDER = fmt(
    r"^(default|passphrase|awskms://|gcpkms://|azurekeyvault://|hashivault://).*",
    "default, passphrase, or a KMS URL such as awskms://alias/mlplatform",
)
