"""The differential test: the embedded engine held to the Pulumi engine, on the same program.

For level0, level1 and level2, the real CLI deploys the built-in ``local`` environment twice, each time into a
fresh emulator of its own: once with ``--engine embedded`` and once with ``--engine pulumi`` (the real Pulumi
CLI with the emulator provider standing in for pulumi-aws). Then it compares

* what each engine registered and recorded: URNs, types, parents, providers, dependency edges (``dependencies``
  and ``propertyDependencies``), resource options, inputs and the stack's outputs, after the normalisation
  :func:`normalised` explains rule by rule;
* the ``up`` summaries and per-URN actions (the Pulumi engine's mapping of its steps onto mlplatform's plans);
* the live inventory, read with boto3 from each emulator (:func:`inventory`);
* for level2, a set of edits (in place and replace-forcing, on a bucket, the KMS key, a feature group, an
  endpoint, roles, the network): the ``preview --json`` action per URN from both engines, then the edits
  applied by each and all of the above compared again.

Differences that are by design are listed in docs/pulumi-engine.md ("Differences between the engines"); this
test removes exactly those, and nothing else.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.cli import Cli
from tests.integration.pulumi_env import CLI, isolated, needs_cli

pytestmark = [pytest.mark.integration, *needs_cli]

ENV_FILE = """\
target: local
region: us-east-1
samples: true
overrides:
  protect: false
  allow_destroy_data: true
"""
"""The built-in ``local`` environment written out (so the edits below can add overrides to it)."""

EDITS = """\
  artifact_store:
    noncurrent_version_expiration_days: 45   # the artifact bucket's lifecycle rule, in place
    access_logging: false                    # the log bucket and the logging settings go: deletes
  encryption:
    deletion_window_days: 14                 # the KMS key, in place
  container_registry:
    immutable_tags: false                    # the repositories, in place
  identity:
    permissions_boundary_arn: arn:aws:iam::123456789012:policy/mlp-boundary   # the roles, in place
  feature_store:
    feature_groups:                          # one more feature: the feature group is replaced
      - name: customers
        record_identifier: customer_id
        event_time: event_time
        features:
          - { name: customer_id, type: String }
          - { name: event_time, type: Fractional }
          - { name: age, type: Integral }
          - { name: lifetime_value, type: Fractional }
          - { name: segment, type: String }
  serving:
    endpoints:                               # a bigger instance: a new endpoint config, the endpoint updated
      - name: demo
        model: { image: "serving:sample", model_data_url: sample }
        instance_type: ml.m5.xlarge
"""
"""Overrides that change a bucket, a KMS key, repositories, roles, a feature group and an endpoint."""

SECRET_SIG = "4dabf18193072939515e22adb298388d"
"""Pulumi's marker key for a secret value in a checkpoint (both engines write it)."""

EMULATOR_URL = re.compile(r"http://127\.0\.0\.1:\d+")


@dataclass
class Deployment:
    """One engine's deployment of one level into its own emulator."""

    engine: str
    cli: Cli
    up: dict[str, Any]
    state: dict[str, dict[str, Any]]
    outputs: dict[str, Any]


def _cli(root: Path, engine: str) -> Cli:
    (root / "work").mkdir(parents=True)
    (root / "work" / "stacks").mkdir()
    (root / "work" / "stacks" / "local.yaml").write_text(ENV_FILE, encoding="utf-8")
    extra = isolated(root) if engine == "pulumi" else {}
    return Cli(root / "work", root / "state", extra_env=extra)


def _read_state(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """The engine's own view of the stack (``Engine.state``), resources by URN with all their details."""
    from mlplatform.app.workspace import state_engine

    with monkeypatch.context() as patch:
        for key, value in cli.extra_env.items():
            patch.setenv(key, value)
        patch.chdir(cli.cwd)
        state = state_engine(cli.state_dir, "local").state("local")
    assert state is not None
    resources = {r.urn: {"type": r.type, "id": r.id, "protect": r.protect, **r.details} for r in state.resources}
    return resources, dict(state.outputs)


@pytest.fixture
def deploy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    started: list[Cli] = []

    def run(engine: str, level: str) -> Deployment:
        cli = _cli(tmp_path / engine, engine)
        started.append(cli)
        up = cli.json("up", "--blueprint", level, "--engine", engine, "--yes")
        assert up["failed"] == 0, up["diagnostics"]
        resources, outputs = _read_state(cli, monkeypatch)
        return Deployment(engine, cli, up, resources, outputs)

    try:
        yield run
    finally:
        for cli in started:
            cli.stop_emulator()


# ---- normalisation --------------------------------------------------------------------------------------------


def _learned(one: dict[str, dict[str, Any]], other: dict[str, dict[str, Any]]) -> dict[str, str]:
    """What each emulator assigned differently, ``value -> placeholder`` for ``one``'s side.

    Resource ids and string outputs (key ids, VPC/subnet/security-group ids, prefix-list ids, auto-names with
    Pulumi's random suffix, ARNs holding those) come from the emulator, not from the program: two fresh
    emulators give different ones. Only values that differ between the two deployments of the same URN are
    replaced, and everywhere by the same placeholder naming the URN and the output, so a reference to
    resource X in an input still has to point at X in both engines.
    """
    learned: dict[str, str] = {}
    for urn, record in one.items():
        twin = other.get(urn)
        if twin is None:
            continue
        pairs = [("id", record.get("id"), twin.get("id"))]
        outputs, twin_outputs = record.get("outputs") or {}, twin.get("outputs") or {}
        pairs += [(key, value, twin_outputs.get(key)) for key, value in outputs.items()]
        for key, value, other_value in pairs:
            if isinstance(value, str) and isinstance(other_value, str) and len(value) >= 6 and value != other_value:
                learned.setdefault(value, f"<{urn.rsplit('::', 1)[-1]}.{key}>")
    return learned


def _value(value: Any, learned: dict[str, str], order: list[str]) -> Any:
    """Inputs and outputs with what differs by design replaced (see :func:`normalised`)."""
    if isinstance(value, dict):
        if SECRET_SIG in value:
            # A secret: the embedded engine keeps {sig, value}, Pulumi's export {sig, plaintext: <json>}.
            inner = json.loads(value["plaintext"]) if "plaintext" in value else value.get("value")
            return {"<secret>": _value(inner, learned, order)}
        # A null nested property: Pulumi's checkpoint keeps it, the embedded engine's state leaves it out.
        return {key: _value(item, learned, order) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_value(item, learned, order) for item in value]
    if isinstance(value, str):
        value = EMULATOR_URL.sub("<emulator>", value)
        for found in order:
            if found in value:
                value = value.replace(found, learned[found])
        return value
    return value


def normalised(state: dict[str, dict[str, Any]], other: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """One engine's state in a form both engines must agree on, resource by resource.

    The rules, each a difference by design:

    1. Field names: the embedded engine writes snake_case (``property_dependencies``), Pulumi's checkpoint
       camelCase (``propertyDependencies``); an empty or false field is omitted by Pulumi.
    2. The provider reference is ``<provider URN>::<provider id>``; the id is a random UUID each engine gives
       the provider, so only the URN is compared.
    3. A component's id is ``""`` in the embedded engine's state and absent in Pulumi's: neither has one.
    4. Values the emulators assigned (see :func:`_learned`) become placeholders naming the URN and output.
    5. The emulator's URL (its port) in the provider's ``endpoints`` becomes ``<emulator>``.
    6. Secrets: both keep the value, in different envelopes (see :func:`_value`).
    7. A property set to ``None`` inside an object or list element (``environmentVariables`` of a CodeBuild
       project's ``environment``): Pulumi records ``null``, the embedded engine leaves the key out; both mean
       "not set" to every handler and diff (docs/pulumi-engine.md).
    8. The provider's ``version`` and ``__internal`` inputs are the Pulumi engine's own bookkeeping (the
       plugin version it loaded); the embedded engine has no plugins (docs/pulumi-engine.md).
    """
    learned = _learned(state, other)
    order = sorted(learned, key=len, reverse=True)

    def field_(record: dict[str, Any], snake: str, camel: str) -> Any:
        return record.get(snake) or record.get(camel) or None

    result: dict[str, dict[str, Any]] = {}
    for urn, record in state.items():
        inputs = dict(record.get("inputs") or {})
        if record["type"].startswith("pulumi:providers:"):
            inputs.pop("version", None)
            inputs.pop("__internal", None)
        provider = record.get("provider")
        result[urn] = {
            "type": record["type"],
            "custom": bool(record.get("custom")),
            "has_id": bool(record.get("id")),
            "parent": record.get("parent") or None,
            "provider": provider.rsplit("::", 1)[0] if provider else None,
            "dependencies": sorted(record.get("dependencies") or []),
            "property_dependencies": {
                key: sorted(value)
                for key, value in (field_(record, "property_dependencies", "propertyDependencies") or {}).items()
            },
            "protect": bool(record.get("protect")),
            "retain_on_delete": bool(field_(record, "retain_on_delete", "retainOnDelete")),
            "delete_before_replace": bool(field_(record, "delete_before_replace", "deleteBeforeReplace")),
            "deleted_with": field_(record, "deleted_with", "deletedWith"),
            "inputs": _value(inputs, learned, order),
        }
        if not record.get("custom"):
            # What a component registers (register_outputs) is the program's; a custom resource's outputs are
            # the provider's answer, compared through the inventory instead.
            result[urn]["outputs"] = _value(record.get("outputs") or {}, learned, order)
    return result


def _outputs(deployment: Deployment, other: Deployment) -> Any:
    learned = _learned(deployment.state, other.state)
    return _value(_plain(deployment.outputs), learned, sorted(learned, key=len, reverse=True))


def _plain(outputs: dict[str, Any]) -> dict[str, Any]:
    """Stack outputs with the engines' secret wrapper taken off (both wrap with mlplatform's ``secret``)."""
    from mlplatform.engine.values import reveal

    return {key: reveal(value) for key, value in outputs.items()}


def _differences(embedded: dict[str, Any], pulumi: dict[str, Any]) -> list[str]:
    """Readable differences, field by field (an assertion message that says what to fix)."""
    found: list[str] = []
    for urn in sorted(set(embedded) | set(pulumi)):
        if urn not in pulumi:
            found.append(f"only embedded: {urn}")
        elif urn not in embedded:
            found.append(f"only pulumi: {urn}")
        else:
            for key in sorted(set(embedded[urn]) | set(pulumi[urn])):
                a, b = embedded[urn].get(key), pulumi[urn].get(key)
                if a != b:
                    found.append(f"{urn} {key}:\n  embedded: {a!r}\n  pulumi:   {b!r}")
    return found


def _actions(document: dict[str, Any], key: str) -> dict[str, str]:
    return {item["urn"]: item["action"] for item in document[key]}


def _reasons(document: dict[str, Any]) -> dict[str, tuple[list[str], list[str]]]:
    """Per changed URN: the changed keys and the keys that force its replacement."""
    return {
        item["urn"]: (sorted(item["diff"]), sorted(item["replace_reasons"]))
        for item in document["changes"]
        if item["action"] in ("update", "replace")
    }


# ---- live inventory ---------------------------------------------------------------------------------------------

AUTO_NAME = re.compile(r"-[0-9a-f]{7}$")
"""Pulumi's auto-name suffix (7 random hex digits) on physical names the program leaves to the engine."""


def inventory(cli: Cli) -> dict[str, list[str]]:
    """What exists in one emulator, by kind and name (auto-name suffixes removed, ids left out)."""
    import boto3

    endpoint = cli.endpoint()

    def client(service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="check",
            aws_secret_access_key="check",
        )

    s3, kms, iam, ecr = client("s3"), client("kms"), client("iam"), client("ecr")
    sm, logs, sns, cw = client("sagemaker"), client("logs"), client("sns"), client("cloudwatch")
    ec2, events, glue = client("ec2"), client("events"), client("glue")
    codebuild, codepipeline = client("codebuild"), client("codepipeline")
    scaling = client("application-autoscaling")

    def tag_name(tags: list[dict[str, str]] | None) -> str:
        return next((t["Value"] for t in tags or [] if t["Key"] == "Name"), "<unnamed>")

    found: dict[str, list[str]] = {
        "s3 buckets": [b["Name"] for b in s3.list_buckets()["Buckets"]],
        "s3 objects": [
            f"{b['Name']}/{o['Key']}"
            for b in s3.list_buckets()["Buckets"]
            if "access-logs" not in b["Name"]  # the emulator's own access-log records, named by time
            for o in s3.list_objects_v2(Bucket=b["Name"]).get("Contents", [])
        ],
        "kms aliases": [
            a["AliasName"] for a in kms.list_aliases()["Aliases"] if not a["AliasName"].startswith("alias/aws/")
        ],
        "kms keys enabled": [
            str(kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"]["KeyState"]) for k in kms.list_keys()["Keys"]
        ],
        "iam roles": [r["RoleName"] for r in iam.list_roles()["Roles"]],
        "iam role policies": [
            f"{r['RoleName']}/{p}"
            for r in iam.list_roles()["Roles"]
            for p in iam.list_role_policies(RoleName=r["RoleName"])["PolicyNames"]
        ],
        "iam policies": [p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]],
        "ecr repositories": [r["repositoryName"] for r in ecr.describe_repositories()["repositories"]],
        "sagemaker domains": [d["DomainName"] for d in sm.list_domains()["Domains"]],
        "sagemaker notebooks": [n["NotebookInstanceName"] for n in sm.list_notebook_instances()["NotebookInstances"]],
        "sagemaker model package groups": [
            g["ModelPackageGroupName"] for g in sm.list_model_package_groups()["ModelPackageGroupSummaryList"]
        ],
        "sagemaker models": [m["ModelName"] for m in sm.list_models()["Models"]],
        "sagemaker endpoint configs": [c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]],
        "sagemaker endpoints": [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]],
        "sagemaker feature groups": [  # moto has no ListFeatureGroups; Search finds them
            r["FeatureGroup"]["FeatureGroupName"] for r in sm.search(Resource="FeatureGroup")["Results"]
        ],
        "sagemaker pipelines": [p["PipelineName"] for p in sm.list_pipelines()["PipelineSummaries"]],
        "sagemaker monitoring schedules": [
            s["MonitoringScheduleName"] for s in sm.list_monitoring_schedules()["MonitoringScheduleSummaries"]
        ],
        "log groups": [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]],
        "sns topics": [t["TopicArn"].rsplit(":", 1)[-1] for t in sns.list_topics()["Topics"]],
        "cloudwatch alarms": [a["AlarmName"] for a in cw.describe_alarms()["MetricAlarms"]],
        "cloudwatch dashboards": [d["DashboardName"] for d in cw.list_dashboards()["DashboardEntries"]],
        "eventbridge rules": [r["Name"] for r in events.list_rules()["Rules"]],
        "glue databases": [d["Name"] for d in glue.get_databases()["DatabaseList"]],
        "vpcs": [tag_name(v.get("Tags")) for v in ec2.describe_vpcs()["Vpcs"] if not v.get("IsDefault")],
        "subnets": [tag_name(s.get("Tags")) for s in ec2.describe_subnets()["Subnets"] if not s.get("DefaultForAz")],
        "security groups": [g["GroupName"] for g in ec2.describe_security_groups()["SecurityGroups"]],
        "vpc endpoints": [e["ServiceName"] for e in ec2.describe_vpc_endpoints()["VpcEndpoints"]],
        "flow logs": [f["LogDestinationType"] for f in ec2.describe_flow_logs()["FlowLogs"]],
        "codebuild projects": list(codebuild.list_projects()["projects"]),
        "codepipelines": [p["name"] for p in codepipeline.list_pipelines()["pipelines"]],
        "scalable targets": [
            t["ResourceId"] for t in scaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
        ],
    }
    return {kind: sorted(AUTO_NAME.sub("-<auto>", name) for name in names) for kind, names in found.items()}


# ---- the tests --------------------------------------------------------------------------------------------------


def _compare(embedded: Deployment, pulumi: Deployment) -> None:
    assert CLI is not None
    assert embedded.up["summary"] == pulumi.up["summary"], (embedded.up["summary"], pulumi.up["summary"])
    assert _actions(embedded.up, "steps") == _actions(pulumi.up, "steps")

    state_differences = _differences(normalised(embedded.state, pulumi.state), normalised(pulumi.state, embedded.state))
    assert not state_differences, "\n".join(state_differences[:40])
    assert _outputs(embedded, pulumi) == _outputs(pulumi, embedded)

    live_embedded, live_pulumi = inventory(embedded.cli), inventory(pulumi.cli)
    assert live_embedded["s3 buckets"], live_embedded  # the comparison below is not of two empty emulators
    assert live_embedded == live_pulumi


@pytest.mark.parametrize("level", ["level0", "level1"])
def test_both_engines_deploy_the_same_platform(deploy: Any, level: str) -> None:
    _compare(deploy("embedded", level), deploy("pulumi", level))


def test_level2_and_its_edits_plan_and_apply_the_same_actions(deploy: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    embedded, pulumi = deploy("embedded", "level2"), deploy("pulumi", "level2")
    _compare(embedded, pulumi)

    plans = {}
    for deployment in (embedded, pulumi):
        (deployment.cli.cwd / "stacks" / "local.yaml").write_text(ENV_FILE + EDITS, encoding="utf-8")
        plans[deployment.engine] = deployment.cli.json("preview")
    wanted = {"update", "replace", "delete"}
    embedded_actions = _actions(plans["embedded"], "changes")
    assert wanted <= set(embedded_actions.values()), plans["embedded"]["summary"]  # the edits do what they say
    pulumi_actions = _actions(plans["pulumi"], "changes")
    mismatched = {
        urn: (embedded_actions.get(urn), pulumi_actions.get(urn))
        for urn in set(embedded_actions) | set(pulumi_actions)
        if embedded_actions.get(urn) != pulumi_actions.get(urn)
    }
    assert not mismatched, json.dumps(mismatched, indent=1)
    assert plans["embedded"]["summary"] == plans["pulumi"]["summary"]
    assert _reasons(plans["embedded"]) == _reasons(plans["pulumi"])

    # Applied: the same steps, and again the same state, outputs and live inventory.
    applied = {}
    for deployment in (embedded, pulumi):
        up = deployment.cli.json("up", "--yes")
        assert up["failed"] == 0, up["diagnostics"]
        done = {urn: action for urn, action in _actions(up, "steps").items() if action != "same"}
        assert done == {urn: action for urn, action in embedded_actions.items() if action != "same"}
        resources, outputs = _read_state(deployment.cli, monkeypatch)
        applied[deployment.engine] = Deployment(deployment.engine, deployment.cli, up, resources, outputs)
    _compare(applied["embedded"], applied["pulumi"])
