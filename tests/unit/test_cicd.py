"""CI/CD: separate build, staging and production roles, an approval gate that always stands before
production, GitHub OIDC roles per stage, and one GitHub OIDC provider per account (issue 8, items 1 and 13).

The program runs with fake handlers (``platform_plans``), so every policy document is known here. What the
emulator can evaluate for real (which role may call what) is proven in
tests/integration/test_cicd_roles.py; the conditions it cannot evaluate (the OIDC ``sub``/``aud`` claims,
``aws:SourceArn`` of a service principal) are asserted on the documents below.
"""

from __future__ import annotations

import json
import threading
from fnmatch import fnmatchcase
from functools import cache
from pathlib import Path
from typing import Any

import pulumi
import pytest

from mlplatform.app.offline import plan_offline
from mlplatform.components.cicd import Cicd, CicdArgs, stage_endpoints
from mlplatform.components.common import Platform
from mlplatform.engine.embedded.deployment import Deployment
from mlplatform.engine.embedded.handlers import registry
from mlplatform.engine.embedded.monitor import EngineMonitor, Registration
from mlplatform.engine.embedded.runner import run_program
from mlplatform.engine.offline import plain
from mlplatform.engine.values import UNKNOWN
from mlplatform.errors import MlplatformError
from mlplatform.program import TargetSettings, make_provider
from mlplatform.spec.models import CicdSpec, MonitoringSpec, PlatformSpec
from tests.unit.platform_plans import PlatformPlan
from tests.unit.test_components import _variant
from tests.unit.test_models import errors_of, platform

ACCOUNT = "123456789012"
ENDPOINTS = [
    {"name": "staging-churn", "model": {"image": "serving:1", "model_data_url": "sample"}},
    {"name": "churn", "model": {"image": "serving:1", "model_data_url": "sample"}},
]
GITHUB = {"provider": "github-oidc", "repository": "acme/models"}


def _plan(cicd: dict[str, Any] | None = None, endpoints: list[dict[str, Any]] | None = None) -> PlatformPlan:
    overrides: dict[str, Any] = {"serving": {"endpoints": ENDPOINTS if endpoints is None else endpoints}}
    if cicd:
        overrides["cicd"] = cicd
    return _evaluated(json.dumps(overrides, sort_keys=True))


@cache
def _evaluated(overrides: str) -> PlatformPlan:
    # The program is deterministic and the tests only read the plan: evaluate each configuration once.
    return _variant("level2", json.loads(overrides))


def _document(plan: PlatformPlan, logical: str, key: str = "policy") -> dict[str, Any]:
    record = next(r for r in plan.custom() if plan.name(r) == logical)
    document: dict[str, Any] = json.loads(record.inputs[key])
    return document


def _actions(document: dict[str, Any]) -> set[str]:
    return {action for item in document["Statement"] if item["Effect"] == "Allow" for action in item["Action"]}


def _allows(document: dict[str, Any], action: str, resource: str) -> bool:
    """Whether an Allow statement names ``action`` on ``resource`` (IAM's wildcard matching, no conditions)."""
    return any(
        item["Effect"] == "Allow"
        and action in item["Action"]
        and any(fnmatchcase(resource, pattern) for pattern in item["Resource"])
        for item in document["Statement"]
    )


def _endpoint(name: str) -> str:
    return f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/mlp-local-{name}"


def _config(name: str) -> str:
    return f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint-config/mlp-local-{name}"


def _stage_names(plan: PlatformPlan) -> list[str]:
    pipeline = plan.of_type("aws:codepipeline/pipeline:Pipeline")[0]
    return [stage["name"] for stage in pipeline.inputs["stages"]]


# ---- item 1: who may deploy what -------------------------------------------------------------------


def test_endpoints_belong_to_the_stage_their_name_starts_with_and_to_production_otherwise() -> None:
    owned = stage_endpoints(["dev", "staging", "prod"], ["staging", "staging-churn", "dev-x", "churn", "stagingx"])
    assert owned == {"dev": ["dev-x"], "staging": ["staging", "staging-churn"], "prod": ["churn", "stagingx"]}
    assert stage_endpoints(["prod"], ["prod-a", "b"]) == {"prod": ["prod-a", "b"]}


def test_build_staging_and_prod_each_run_with_a_role_of_their_own() -> None:
    plan = _plan()
    projects = {plan.name(r): r.inputs["serviceRole"] for r in plan.of_type("aws:codebuild/project:Project")}
    assert len(set(projects.values())) == 3, projects
    roles = {r.inputs["name"] for r in plan.of_type("aws:iam/role:Role") if plan.name(r).startswith("cicd-")}
    assert {"mlp-local-codebuild", "mlp-local-deploy-staging", "mlp-local-deploy-prod"} <= roles
    assert plan.outputs["deploy_role_arns"].keys() == {"staging", "prod"}
    assert plan.outputs["deploy_role_arn"] == plan.outputs["deploy_role_arns"]["prod"]


def test_the_build_role_can_deploy_nothing() -> None:
    """The build runs repository code before the approval: it may read the source and write its logs only."""
    build = _document(_plan(), "cicd-build-role-policy")
    actions = _actions(build)
    assert not {a for a in actions if a.startswith(("sagemaker:", "iam:", "sts:", "codebuild:", "codepipeline:"))}
    assert "s3:PutObject" not in actions  # it cannot change what the deploy stages run
    assert actions == {
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:GetBucketLocation",
        "s3:ListBucket",
        "kms:Decrypt",
        "kms:DescribeKey",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    }


def test_only_the_production_role_may_touch_production_endpoints() -> None:
    plan = _plan()
    build = _document(plan, "cicd-build-role-policy")
    staging = _document(plan, "cicd-deploy-staging-role-policy")
    prod = _document(plan, "cicd-deploy-prod-role-policy")
    for action, resource in [
        ("sagemaker:UpdateEndpoint", _endpoint("churn")),
        ("sagemaker:UpdateEndpoint", _config("churn-v2")),
        ("sagemaker:CreateEndpointConfig", _config("churn-v2")),
        ("sagemaker:CreateModel", f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model/mlp-local-churn-v2"),
    ]:
        assert _allows(prod, action, resource), (action, resource)
        assert not _allows(staging, action, resource), (action, resource)
        assert not _allows(build, action, resource), (action, resource)
    for action, resource in [
        ("sagemaker:UpdateEndpoint", _endpoint("staging-churn")),
        ("sagemaker:CreateEndpointConfig", _config("staging-churn-v2")),
    ]:
        assert _allows(staging, action, resource), (action, resource)
        assert not _allows(prod, action, resource), (action, resource)
        assert not _allows(build, action, resource), (action, resource)
    # No deploy role may create or delete endpoints: they are the platform's (serving.endpoints).
    for document in (staging, prod):
        assert not {"sagemaker:CreateEndpoint", "sagemaker:DeleteEndpoint"} & _actions(document)


def test_deploy_roles_pass_only_the_serving_role_and_only_to_sagemaker() -> None:
    plan = _plan()
    execution = plan.outputs["serving_role_arn"]  # what the models they deploy run as
    for logical in ("cicd-deploy-staging-role-policy", "cicd-deploy-prod-role-policy"):
        passing = [s for s in _document(plan, logical)["Statement"] if "iam:PassRole" in s["Action"]]
        assert passing == [
            {
                "Sid": "PassExecutionRole",
                "Effect": "Allow",
                "Action": ["iam:PassRole"],
                "Resource": [execution],
                "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            }
        ]


def test_a_stage_without_endpoints_gets_no_rollout_permission() -> None:
    staging = _document(_plan(endpoints=[ENDPOINTS[1]]), "cicd-deploy-staging-role-policy")
    assert not {"sagemaker:UpdateEndpoint", "sagemaker:CreateModel", "iam:PassRole"} & _actions(staging)


def test_the_pipeline_starts_each_project_but_cannot_assume_or_pass_their_roles() -> None:
    plan = _plan()
    pipeline = _document(plan, "cicd-pipeline-role-policy")
    for project in ("build", "deploy-staging", "deploy-prod"):
        arn = f"arn:aws:codebuild:us-east-1:{ACCOUNT}:project/mlp-local-{project}"
        assert _allows(pipeline, "codebuild:StartBuild", arn), project
    assert not {a for a in _actions(pipeline) if a.startswith(("sts:", "iam:", "sagemaker:"))}


def test_each_codebuild_role_trusts_codebuild_only_for_its_own_project() -> None:
    """moto cannot evaluate a service principal's trust policy (its trust check fails on one): asserted here."""
    plan = _plan()
    for role, project in [("build", "build"), ("deploy-staging", "deploy-staging"), ("deploy-prod", "deploy-prod")]:
        logical = "cicd-build-role" if role == "build" else f"cicd-{role}-role"
        (trust,) = _document(plan, logical, "assumeRolePolicy")["Statement"]
        assert trust["Principal"] == {"Service": "codebuild.amazonaws.com"}
        assert trust["Condition"] == {
            "ArnEquals": {"aws:SourceArn": f"arn:aws:codebuild:us-east-1:{ACCOUNT}:project/mlp-local-{project}"},
            "StringEquals": {"aws:SourceAccount": ACCOUNT},
        }


def test_deploy_stages_run_the_approved_source_not_the_build_output() -> None:
    """Repository code runs in the build; an output of the build could carry changes into the prod deploy."""
    pipeline = _plan().of_type("aws:codepipeline/pipeline:Pipeline")[0]
    actions = [action for stage in pipeline.inputs["stages"] for action in stage["actions"]]
    builds = [action for action in actions if action["category"] == "Build"]
    assert len(builds) == 3
    assert all(action["inputArtifacts"] == ["source"] and not action.get("outputArtifacts") for action in builds)


@pytest.mark.parametrize(
    ("stages", "expected"),
    [
        (["staging", "prod"], ["Source", "Build", "Deploy-staging", "Approve-prod", "Deploy-prod"]),
        (["prod"], ["Source", "Build", "Approve-prod", "Deploy-prod"]),
        (["dev", "qa", "live"], ["Source", "Build", "Deploy-dev", "Deploy-qa", "Approve-live", "Deploy-live"]),
    ],
)
def test_the_approval_stands_before_production_whatever_the_stages(stages: list[str], expected: list[str]) -> None:
    assert _stage_names(_plan({"stages": stages})) == expected


def test_no_approval_only_when_switched_off() -> None:
    names = _stage_names(_plan({"stages": ["prod"], "manual_approval_before_prod": False}))
    assert names == ["Source", "Build", "Deploy-prod"]


# ---- item 1: github-oidc ---------------------------------------------------------------------------


def _github_trust(plan: PlatformPlan, stage: str) -> dict[str, Any]:
    (trust,) = _document(plan, f"cicd-github-{stage}", "assumeRolePolicy")["Statement"]
    return trust


def test_github_production_role_trusts_only_the_production_environment() -> None:
    """moto does not evaluate token claims (sub, aud) on AssumeRoleWithWebIdentity: asserted on the document."""
    plan = _plan(GITHUB)
    provider = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
    prod = _github_trust(plan, "prod")
    assert prod["Principal"] == {"Federated": provider}
    assert prod["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert prod["Condition"] == {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": "repo:acme/models:environment:prod",
        }
    }
    staging = _github_trust(plan, "staging")
    assert staging["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"] == (
        "repo:acme/models:ref:refs/heads/main"
    )
    named = _github_trust(_plan({**GITHUB, "github_environment": "production", "branch": "release"}), "prod")
    assert named["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"] == (
        "repo:acme/models:environment:production"
    )
    assert "StringLike" not in named["Condition"]  # an exact subject, never a pattern


def test_github_roles_are_separated_like_the_codebuild_roles() -> None:
    plan = _plan(GITHUB)
    staging = _document(plan, "cicd-github-staging-policy")
    prod = _document(plan, "cicd-github-prod-policy")
    assert _allows(prod, "sagemaker:UpdateEndpoint", _endpoint("churn"))
    assert not _allows(staging, "sagemaker:UpdateEndpoint", _endpoint("churn"))
    assert _allows(staging, "sagemaker:UpdateEndpoint", _endpoint("staging-churn"))
    assert not _allows(prod, "sagemaker:UpdateEndpoint", _endpoint("staging-churn"))
    roles = {r.inputs["name"] for r in plan.of_type("aws:iam/role:Role") if plan.name(r).startswith("cicd-")}
    assert roles == {"mlp-local-github-staging", "mlp-local-github-prod"}


def test_github_trust_policies_are_concrete_at_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The provider's ARN is derived from the account, so scanners see the trust policies (were "after apply")."""
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "gh.yaml").write_text(
        "blueprint: level2\ntarget: aws\nregion: eu-west-1\naccount_id: '111111111111'\n"
        "overrides:\n  cicd: {provider: github-oidc, repository: acme/models}\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    plan = plan_offline("gh")
    roles = [r for r in plan.resources if r.type == "aws:iam/role:Role" and r.name.startswith("cicd-github-")]
    assert len(roles) == 2
    for role in roles:
        trust = role.inputs["assumeRolePolicy"]
        assert trust != UNKNOWN
        assert "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com" in trust


# ---- item 13: one GitHub OIDC provider per account -------------------------------------------------


def test_an_environment_creates_the_provider_unless_it_is_given() -> None:
    created = _plan(GITHUB)
    assert len(created.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")) == 1
    existing = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
    reused = _plan({**GITHUB, "github_oidc_provider_arn": existing})
    assert not reused.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert _github_trust(reused, "prod")["Principal"] == {"Federated": existing}


# ---- every CI/CD policy is a concrete document when its inputs are ----------------------------------


class _Registrations:
    """A registrar that keeps what the SDK registered (raw inputs, unknowns included)."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self.seen: list[Registration] = []
        self.lock = threading.Lock()

    def register(self, registration: Registration) -> tuple[str, dict[str, Any]]:
        with self.lock:
            self.seen.append(registration)
        return self.deployment.register(registration)

    def register_outputs(self, urn: str, outputs: dict[str, Any]) -> None:
        self.deployment.register_outputs(urn, outputs)

    def invoke(self, token: str, args: dict[str, Any], provider: str | None) -> dict[str, Any]:
        return self.deployment.invoke(token, args, provider)


@pytest.mark.parametrize("provider", ["codepipeline", "github-oidc"])
def test_every_cicd_policy_is_known_before_deploying(provider: str) -> None:
    """Given concrete key, role and topic ARNs, no policy waits for another resource's output (export/Checkov)."""
    platform = Platform(name="mlp-x", env="x", blueprint="level2", region="eu-west-1", account_id="111111111111")
    defaults = CicdSpec()
    args = CicdArgs(
        provider=provider,
        kms_key_arn="arn:aws:kms:eu-west-1:111111111111:key/00000000-0000-0000-0000-000000000000",
        execution_role_arn="arn:aws:iam::111111111111:role/mlp-x-sagemaker-execution",
        alarm_topic_arn="arn:aws:sns:eu-west-1:111111111111:mlp-x-alarms",
        log_bucket="mlp-x-logs-111111111111",
        repository="acme/models",
        endpoints=("staging-churn", "churn"),
        # The rest as the spec's defaults (the program always passes them).
        branch=defaults.branch,
        stages=tuple(defaults.stages),
        model_package_groups=(),
        manual_approval_before_prod=defaults.manual_approval_before_prod,
        github_environment=defaults.github_environment,
        github_oidc_provider_arn=defaults.github_oidc_provider_arn,
        log_retention_days=MonitoringSpec().log_retention_days,
        permissions_boundary_arn=None,
    )
    deployment = Deployment(previous={}, handlers=registry(), preview=True, offline=True)
    registrar = _Registrations(deployment)

    def program() -> None:
        provider_ = make_provider(TargetSettings(region="eu-west-1"), allowed_account="111111111111")
        Cicd("cicd", args, platform, pulumi.ResourceOptions(providers=[provider_]))

    run_program(program, EngineMonitor(registrar, "mlplatform", "x"), preview=True, parallel=4)
    documents = {
        f"{reg.name}.{key}": plain(reg.inputs[key])
        for reg in registrar.seen
        if reg.type.startswith("aws:iam/role")
        for key in ("policy", "assumeRolePolicy")
        if key in reg.inputs
    }
    expected = 10 if provider == "codepipeline" else 4  # 5 roles (build, 2 deploy, pipeline, start) or 2
    assert len(documents) == expected, sorted(documents)
    unknown = [where for where, value in documents.items() if value == UNKNOWN or UNKNOWN in json.dumps(value)]
    assert not unknown


# ---- spec --------------------------------------------------------------------------------------------


def _error(cicd: dict[str, Any], **extra: Any) -> str:
    with pytest.raises(MlplatformError) as caught:
        _plan(cicd, **extra)
    return str(caught.value)


def test_stage_names_may_not_overlap_as_prefixes() -> None:
    message = _error({"stages": ["qa", "qa-eu", "prod"]})
    assert "cicd.stages[1]" in message and "'qa-eu'" in message and "qa-*" in message


def test_github_settings_are_refused_for_codepipeline_and_approval_cannot_be_switched_off_for_github() -> None:
    message = _error({"github_environment": "production"})
    assert "cicd.github_environment" in message and "only provider github-oidc" in message
    # codepipeline's source is an object in the artifact bucket: a repository would be a setting nothing applies.
    message = _error({"repository": "acme/models"})
    assert "cicd.repository" in message and "only provider github-oidc" in message and "source/main.zip" in message
    message = _error({**GITHUB, "manual_approval_before_prod": False})
    assert "cicd.manual_approval_before_prod" in message and "required reviewers" in message


def test_the_provider_arn_must_be_githubs_in_the_environments_account() -> None:
    message = _error({**GITHUB, "github_oidc_provider_arn": "arn:aws:iam::111111111111:oidc-provider/example.com"})
    assert "cicd.github_oidc_provider_arn" in message and "token.actions.githubusercontent.com" in message
    other = "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"
    message = _error({**GITHUB, "github_oidc_provider_arn": other})
    assert "account 111111111111" in message and ACCOUNT in message


def test_role_names_are_checked_against_iams_limit() -> None:
    data = platform(2, name="mlp-" + "x" * 28, account_id="111111111111")
    data["cicd"]["stages"] = ["staging", "a" * 31 + "b"]
    (error,) = errors_of(PlatformSpec, data)
    assert error["loc"] == ("cicd", "stages", 1)
    assert "IAM CreateRole (RoleName)" in error["msg"] and "72 characters" in error["msg"]
