"""Environments: ``stacks/<env>.yaml`` files, the built-in ``local`` environment, and resolution.

Resolution is the one road from files to a :class:`PlatformSpec` (DESIGN.md §4 step 1): check the env
name before touching any file, read the env file (or use the built-in ``local``), apply ``--blueprint``,
merge blueprint <- extends <- env overrides, validate. Every problem becomes a
:class:`~mlplatform.errors.ConfigError` naming file, line, field path, value and what is allowed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, ValidationError, field_validator

from mlplatform import blueprints
from mlplatform.errors import EnvNotFoundError, FileFormatError, Problem, SpecValidationError
from mlplatform.spec import formats, rules
from mlplatform.spec.merge import deep_merge
from mlplatform.spec.models import PlatformSpec, SettingsSpec, SpecModel
from mlplatform.spec.names import check_env_name, default_platform_name
from mlplatform.spec.problems import Layer, format_path, problems_from_validation, show_value
from mlplatform.spec.yamlfile import YamlDocument, read_yaml_file

LOCAL_ENV = "local"
DEFAULT_BLUEPRINT = "level0"
DEFAULT_LOCAL_REGION = "us-east-1"
TTL_RE = re.compile(formats.TTL)
_TTL_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}

IDENTITY_KEYS = frozenset({"name", "target", "region", "account_id"})


class EnvironmentFile(SpecModel):
    """The contents of ``stacks/<env>.yaml``."""

    blueprint: str = Field(min_length=1, description="Blueprint to build this environment from.")
    target: Literal["local", "aws"] = Field(
        description="`local` (embedded AWS emulator) or `aws` (real AWS through the Pulumi engine)."
    )
    region: Annotated[str, AfterValidator(rules.check_region)] | None = Field(
        default=None,
        description="AWS region, e.g. `eu-west-1` (one botocore knows, in any partition); required for target aws "
        "(local: us-east-1).",
    )
    account_id: str | None = Field(
        default=None,
        pattern=formats.ACCOUNT_ID,
        description="Refuse to deploy unless the credentials belong to this 12-digit AWS account (quote it).",
    )
    name: str | None = Field(default=None, description="Prefix of physical resource names; default `mlp-<env>`.")
    description: str | None = Field(default=None, description="What this environment is for.")
    owner: str | None = Field(default=None, min_length=1, description="Team or person responsible for it.")
    ttl: str | None = Field(
        default=None,
        pattern=formats.TTL,
        description="Lifetime before the environment is reaped, e.g. `8h`, `7d`, `2w`; none: lives until destroyed.",
    )
    backend: str | None = Field(
        default=None,
        pattern=formats.BACKEND,
        description="Pulumi state backend (file://, s3://, or a Pulumi Cloud URL); default under .mlplatform/.",
    )
    secrets_provider: str | None = Field(
        default=None,
        pattern=formats.SECRETS_PROVIDER,
        description="How the Pulumi engine encrypts secrets (e.g. `awskms://alias/mlplatform`).",
    )
    overrides: dict[str, Any] = Field(
        default_factory=dict, description="Settings on top of the blueprint, in the blueprint's own shape."
    )

    @field_validator("overrides", mode="before")
    @classmethod
    def _empty_overrides(cls, value: Any) -> Any:
        # `overrides:` with every child commented out is YAML null: treat it as "no overrides".
        return {} if value is None else value

    @field_validator("account_id", mode="before")
    @classmethod
    def _account_from_int(cls, value: Any) -> Any:
        # YAML reads an unquoted account id as an integer and drops leading zeros: accept exactly 12 digits.
        if isinstance(value, int) and not isinstance(value, bool) and len(str(value)) == 12:
            return str(value)
        if isinstance(value, int) and not isinstance(value, bool):
            raise ValueError(f"{value} is not 12 digits; quote the account id (YAML drops leading zeros)")
        return value

    def ttl_seconds(self) -> int | None:
        """The TTL in seconds, or ``None`` when the environment does not expire."""
        if self.ttl is None:
            return None
        match = TTL_RE.match(self.ttl)
        assert match is not None  # validated by the field pattern
        return int(match.group(1)) * _TTL_UNITS[match.group(2)]


BUILTIN_LOCAL = EnvironmentFile(
    blueprint=DEFAULT_BLUEPRINT,
    target="local",
    region=DEFAULT_LOCAL_REGION,
    description="Built-in laptop environment: the embedded AWS emulator, no account needed.",
    overrides={
        "feature_store": {
            "feature_groups": [
                {
                    "name": "customers",
                    "record_identifier": "customer_id",
                    "event_time": "event_time",
                    "features": [
                        {"name": "customer_id", "type": "String"},
                        {"name": "event_time", "type": "Fractional"},
                        {"name": "age", "type": "Integral"},
                        {"name": "lifetime_value", "type": "Fractional"},
                    ],
                }
            ]
        },
        # A sample model so that every kind of resource is created, endpoints included: an image in the
        # platform's own `serving` repository and a tiny artifact uploaded to the artifact bucket.
        "serving": {"endpoints": [{"name": "demo", "model": {"image": "serving:sample", "model_data_url": "sample"}}]},
    },
)
"""Used when there is no ``stacks/local.yaml``, so ``mlplatform up`` works in an empty directory."""


@dataclass(frozen=True)
class ResolvedEnvironment:
    """An environment with its spec.

    Attributes:
        env: the environment name.
        file: ``stacks/<env>.yaml``, or ``None`` for the built-in ``local`` environment.
        settings: the environment file's contents (owner, ttl, backend live here, not in the spec).
        blueprint: the merged blueprint the spec was built from.
        spec: the validated platform spec.
    """

    env: str
    file: Path | None
    settings: EnvironmentFile
    blueprint: blueprints.ResolvedBlueprint
    spec: PlatformSpec

    @property
    def builtin(self) -> bool:
        return self.file is None


def env_file_path(env: str, project_dir: Path | None = None) -> Path:
    """``<project>/stacks/<env>.yaml`` — only after the name has been checked."""
    return (project_dir or Path.cwd()) / "stacks" / f"{check_env_name(env)}.yaml"


def list_env_files(project_dir: Path | None = None) -> list[str]:
    """Names of the environments defined in ``stacks/`` (invalid file names are skipped)."""
    folder = (project_dir or Path.cwd()) / "stacks"
    names = []
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        try:
            names.append(check_env_name(path.stem))
        except Exception:  # noqa: BLE001 - a stray file name is not an environment
            continue
    return names


def load_env_file(path: Path) -> tuple[YamlDocument, EnvironmentFile]:
    """Read and validate one environment file (its overrides are validated later, merged).

    Raises:
        FileFormatError: unreadable, not UTF-8, malformed, empty or not a mapping.
        SpecValidationError: unknown keys, wrong types or values at the top level or in ``overrides``.
    """
    doc = read_yaml_file(path)
    if not isinstance(doc.data, dict):
        kind = "empty" if doc.data is None else f"a YAML {_yaml_kind(doc.data)}, not a mapping"
        raise FileFormatError(
            f"{doc.file}: an environment file must be a mapping with at least `blueprint:` and `target:`; "
            f"this file is {kind}.",
            hint=f"Recreate it with `mlplatform init --env {path.stem} --force`.",
        )
    try:
        settings = EnvironmentFile.model_validate(doc.data)
    except ValidationError as exc:
        raise _invalid(
            f"environment file {doc.file} is invalid",
            problems_from_validation(exc, [Layer(doc)], EnvironmentFile) + override_key_problems(doc),
        ) from None
    return doc, settings


def override_key_problems(doc: YamlDocument) -> list[Problem]:
    """Keys under ``overrides:`` that belong at the top level of the env file (or nowhere)."""
    overrides = doc.data.get("overrides") if isinstance(doc.data, dict) else None
    problems: list[Problem] = []
    if not isinstance(overrides, dict):
        return problems
    for key in overrides:
        if key in IDENTITY_KEYS or key in ("env", "blueprint", "level"):
            problems.append(
                Problem(
                    file=doc.file,
                    line=doc.line_of(("overrides", str(key))),
                    path=format_path(("overrides", str(key))),
                    value=show_value(overrides[key]),
                    problem=f"{key!r} cannot be overridden",
                    allowed=f"set `{key}:` at the top level of the file"
                    if key in IDENTITY_KEYS or key == "blueprint"
                    else "it is derived from the blueprint and the file name",
                )
            )
    return problems


def resolve(env: str = LOCAL_ENV, blueprint: str | None = None, project_dir: Path | None = None) -> ResolvedEnvironment:
    """Resolve an environment into a validated :class:`PlatformSpec`.

    Args:
        env: environment name; ``local`` exists even without a file.
        blueprint: use this blueprint instead of the one the env file names (``--blueprint``).
        project_dir: the project folder holding ``stacks/`` and ``blueprints/`` (default: working dir).

    Raises:
        InvalidEnvNameError: ``env`` is not a valid name (checked before any file is read).
        EnvNotFoundError: no ``stacks/<env>.yaml`` and ``env`` is not ``local``.
        ConfigError: any problem in the env file, the blueprints or the merged spec.
    """
    path = env_file_path(env, project_dir)
    doc: YamlDocument | None
    if path.exists() or path.is_symlink():  # a directory or a dangling link is reported, not taken as missing
        doc, settings = load_env_file(path)
    elif env == LOCAL_ENV:
        doc, settings = None, BUILTIN_LOCAL
    else:
        known = list_env_files(project_dir)
        raise EnvNotFoundError(
            f"no environment {env!r}: {path.relative_to(project_dir or Path.cwd())} does not exist"
            f" (environments here: {', '.join([LOCAL_ENV, *[k for k in known if k != LOCAL_ENV]])}).",
            hint=f"Create it with `mlplatform init --env {env}`.",
        )
    return resolve_loaded(env, doc, settings, blueprint=blueprint, project_dir=project_dir, path=path)


def resolve_loaded(
    env: str,
    doc: YamlDocument | None,
    settings: EnvironmentFile,
    *,
    blueprint: str | None = None,
    project_dir: Path | None = None,
    path: Path | None = None,
) -> ResolvedEnvironment:
    """Resolve an environment whose file is already parsed (``doc`` is ``None`` for the built-in local).

    ``init`` uses this to validate a new file completely before writing it.
    """
    if blueprint:
        wanted_by = "--blueprint"
    elif doc:
        line = doc.lines.get(("blueprint",))
        wanted_by = f"{doc.file}:{line}: blueprint" if line else f"{doc.file}: blueprint"
    else:
        wanted_by = "built-in local environment"
    resolved_blueprint = blueprints.resolve(blueprint or settings.blueprint, project_dir, wanted_by=wanted_by)

    region = settings.region or (DEFAULT_LOCAL_REGION if settings.target == "local" else None)
    misplaced = override_key_problems(doc) if doc else []
    overrides = {
        key: value
        for key, value in settings.overrides.items()
        if key in SettingsSpec.model_fields or key not in PlatformSpec.model_fields
    }
    data = deep_merge(resolved_blueprint.data, overrides)
    data.update(
        name=settings.name or default_platform_name(env),
        env=env,
        blueprint=resolved_blueprint.name,
        level=resolved_blueprint.level,
        target=settings.target,
        region=region,
        account_id=settings.account_id,
    )
    try:
        spec = PlatformSpec.model_validate(data)
        if misplaced:
            raise _invalid(f"environment {env!r} does not validate", misplaced)
    except ValidationError as exc:
        env_doc = doc or YamlDocument("<built-in local environment>", BUILTIN_LOCAL.model_dump(), {})
        layers = [
            *resolved_blueprint.layers,
            Layer(env_doc, prefix=("overrides",), keys=frozenset(settings.overrides)),
            Layer(env_doc, keys=IDENTITY_KEYS),
        ]
        problems = misplaced + problems_from_validation(exc, layers, PlatformSpec)
        for problem in problems:
            if problem.path == "region" and region is None:
                problem.problem = "target aws needs a region"
                problem.allowed = "an AWS region such as eu-west-1"
        raise _invalid(f"environment {env!r} does not validate", problems) from None
    return ResolvedEnvironment(
        env=env, file=path if doc else None, settings=settings, blueprint=resolved_blueprint, spec=spec
    )


def _invalid(headline: str, problems: list[Problem]) -> SpecValidationError:
    body = "\n".join(problem.render() for problem in problems)
    count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
    return SpecValidationError(f"{headline} ({count}):\n{body}", problems)


def _yaml_kind(value: Any) -> str:
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__
