"""Environments: ``stacks/<env>.yaml`` files, the built-in ``local`` environment, and resolution.

Resolution is the one road from files to a :class:`PlatformSpec` (docs/architecture.md): check the env
name before touching any file, read the env file (or use the built-in ``local``), apply ``--blueprint``,
merge blueprint <- extends <- env overrides, validate. Every problem becomes a
:class:`~mlplatform.errors.ConfigError` naming file, line, field path, value and what is allowed.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, ValidationError, field_validator

from mlplatform import blueprints, paths
from mlplatform.errors import EnvNotFoundError, FileFormatError, Problem, SpecValidationError
from mlplatform.spec import aws_rules, formats
from mlplatform.spec.merge import deep_merge
from mlplatform.spec.models import PlatformSpec, SettingsSpec, SpecModel
from mlplatform.spec.names import check_env_name, default_platform_name
from mlplatform.spec.overrides import SecurityOverride, security_overrides, unprotected_production
from mlplatform.spec.problems import Layer, format_path, problems_from_validation, show_value, source_of
from mlplatform.spec.yamlfile import YamlDocument, read_yaml_file

LOCAL_ENV = "local"
DEFAULT_BLUEPRINT = "level0"
DEFAULT_LOCAL_REGION = "us-east-1"
TTL_RE = re.compile(formats.TTL)
_TTL_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}

IDENTITY_KEYS = frozenset({"name", "target", "region", "account_id"})


class EnvironmentFile(SpecModel):
    """The contents of ``stacks/<env>.yaml``."""

    blueprint: str | None = Field(
        default=None,
        min_length=1,
        description="Blueprint to build this environment from. Not set: the blueprint chosen with `--blueprint` "
        "is remembered from the last deploy (level0 at first).",
    )
    target: Literal["local", "aws"] = Field(
        description="`local` (embedded AWS emulator) or `aws` (real AWS through the Pulumi engine)."
    )
    region: Annotated[str, AfterValidator(aws_rules.check_region)] | None = Field(
        default=None,
        description="AWS region, e.g. `eu-west-1` (one botocore knows, in any partition); required for target aws "
        "(local: us-east-1).",
    )
    account_id: str | None = Field(
        default=None,
        pattern=formats.ACCOUNT_ID,
        description="Refuse to deploy unless the credentials belong to this 12-digit AWS account (quote it); "
        "required for target aws.",
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
    samples: bool = Field(
        default=False,
        description="Target local only: add a sample endpoint and feature group when the blueprint and overrides "
        "declare none, so every kind of resource is deployed into the emulator.",
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


SAMPLE_FEATURE_GROUP: dict[str, Any] = {
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
# A sample model so that every kind of resource is created, endpoints included: an image in the platform's
# own `serving` repository and a tiny artifact that the serving component uploads to the artifact bucket.
SAMPLE_ENDPOINT: dict[str, Any] = {"name": "demo", "model": {"image": "serving:sample", "model_data_url": "sample"}}

BUILTIN_LOCAL = EnvironmentFile(
    target="local",
    region=DEFAULT_LOCAL_REGION,
    description="Built-in laptop environment: the embedded AWS emulator, no account needed.",
    samples=True,
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
        blueprint_source: why this blueprint: ``--blueprint``, the env file, ``last deploy`` or ``default``.
        notes: what the user should know about how the spec was made (the samples it added).
        warnings: what may surprise the user (``--blueprint`` overriding the file's blueprint for one run, and
            one line per security override).
        security_overrides: the visible security overrides the spec makes, each located where it was set.
    """

    env: str
    file: Path | None
    settings: EnvironmentFile
    blueprint: blueprints.ResolvedBlueprint
    spec: PlatformSpec
    blueprint_source: str = "default"
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    security_overrides: tuple[SecurityOverride, ...] = ()

    @property
    def builtin(self) -> bool:
        return self.file is None


def env_file_path(env: str, project_dir: Path | None = None) -> Path:
    """``<project>/stacks/<env>.yaml`` — only after the name has been checked."""
    return (project_dir or paths.project_dir()) / "stacks" / f"{check_env_name(env)}.yaml"


def list_env_files(project_dir: Path | None = None) -> list[str]:
    """Names of the environments defined in ``stacks/`` (invalid file names are skipped)."""
    folder = (project_dir or paths.project_dir()) / "stacks"
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


def resolve(
    env: str = LOCAL_ENV,
    blueprint: str | None = None,
    project_dir: Path | None = None,
    *,
    remembered_blueprint: str | None = None,
    allow_unprotected_prod: bool = False,
    blueprint_origin: str = "--blueprint",
) -> ResolvedEnvironment:
    """Resolve an environment into a validated :class:`PlatformSpec`.

    Args:
        env: environment name; ``local`` exists even without a file.
        blueprint: use this blueprint instead of the one the env file names (``--blueprint``).
        project_dir: the project folder holding ``stacks/`` and ``blueprints/`` (default: the project found
            from the working directory, see :func:`mlplatform.paths.project_dir`).
        remembered_blueprint: the blueprint the environment was last deployed with (from its state), used
            when neither ``--blueprint`` nor the env file names one.
        allow_unprotected_prod: accept a production environment with ``protect: false`` and
            ``allow_destroy_data: true`` (``--allow-unprotected-prod``); it is still named as an override.
        blueprint_origin: what ``blueprint`` came from, for messages: ``--blueprint``, or the stack config a
            plain Pulumi run reads (:mod:`mlplatform.app.stack_program`).

    Raises:
        InvalidEnvNameError: ``env`` is not a valid name (checked before any file is read).
        EnvNotFoundError: no ``stacks/<env>.yaml`` and ``env`` is not ``local``.
        ConfigError: any problem in the env file, the blueprints or the merged spec.
    """
    root = project_dir or paths.project_dir()
    path = env_file_path(env, root)
    doc: YamlDocument | None
    if path.exists() or path.is_symlink():  # a directory or a dangling link is reported, not taken as missing
        doc, settings = load_env_file(path)
    elif env == LOCAL_ENV:
        doc, settings = None, BUILTIN_LOCAL
    else:
        known = list_env_files(root)
        raise EnvNotFoundError(
            f"no environment {env!r}: {path.relative_to(root)} does not exist"
            f" (environments here: {', '.join([LOCAL_ENV, *[k for k in known if k != LOCAL_ENV]])}; project {root}).",
            hint=f"Create it with `mlplatform init --env {env}`.",
        )
    return resolve_loaded(
        env,
        doc,
        settings,
        blueprint=blueprint,
        project_dir=root,
        path=path,
        remembered_blueprint=remembered_blueprint,
        allow_unprotected_prod=allow_unprotected_prod,
        blueprint_origin=blueprint_origin,
    )


def choose_blueprint(
    settings: EnvironmentFile,
    doc: YamlDocument | None,
    flag: str | None,
    remembered: str | None,
    *,
    flag_origin: str = "--blueprint",
) -> tuple[str, str, str]:
    """Which blueprint an environment uses, and why — the one rule every command follows.

    1. ``--blueprint`` on the command;
    2. ``blueprint:`` in ``stacks/<env>.yaml`` (the reviewed source of truth of a real environment);
    3. the blueprint the environment was last deployed with, when its file names none (the built-in
       ``local`` environment, or a file without ``blueprint:``), so ``up --blueprint level2`` followed by
       ``up`` keeps level2 instead of planning to delete half the platform;
    4. ``level0``.

    A plain Pulumi run takes the flag's place with its stack config (``flag_origin`` names it).

    Returns:
        (blueprint name, where the choice came from for messages, ``wanted_by`` for a not-found error).
    """
    if flag:
        return flag, flag_origin, flag_origin
    if settings.blueprint:
        where = doc.file if doc else "built-in local environment"
        line = doc.lines.get(("blueprint",)) if doc else None
        return settings.blueprint, where, f"{where}:{line}: blueprint" if line else f"{where}: blueprint"
    if remembered:
        return remembered, "last deploy", "the blueprint this environment was last deployed with"
    return DEFAULT_BLUEPRINT, "default", "the default blueprint"


def settings_name(doc: YamlDocument | None) -> str:
    """How messages name an environment's settings: its file, or the built-in local environment."""
    return doc.file if doc else "the built-in local environment"


def resolve_loaded(
    env: str,
    doc: YamlDocument | None,
    settings: EnvironmentFile,
    *,
    blueprint: str | None = None,
    project_dir: Path | None = None,
    path: Path | None = None,
    remembered_blueprint: str | None = None,
    allow_unprotected_prod: bool = False,
    blueprint_origin: str = "--blueprint",
) -> ResolvedEnvironment:
    """Resolve an environment whose file is already parsed (``doc`` is ``None`` for the built-in local).

    ``init`` uses this to validate a new file completely before writing it. ``allow_unprotected_prod`` and
    ``blueprint_origin``: see :func:`resolve`.
    """
    name, source, wanted_by = choose_blueprint(
        settings, doc, blueprint, remembered_blueprint, flag_origin=blueprint_origin
    )
    resolved_blueprint = blueprints.resolve(name, project_dir, wanted_by=wanted_by)
    notes: list[str] = []
    warnings: list[str] = []
    if blueprint and settings.blueprint and blueprint != settings.blueprint and blueprint_origin == "--blueprint":
        warnings.append(
            f"--blueprint {blueprint} overrides `blueprint: {settings.blueprint}` in {settings_name(doc)} for this "
            f"run only: the next command without --blueprint uses {settings.blueprint} again (and would undo this "
            f"one). Change the file to keep {blueprint}."
        )
    elif blueprint and settings.blueprint and blueprint != settings.blueprint:
        # The stack config persists: every plain Pulumi run uses it, every mlplatform command the file's.
        warnings.append(
            f"{blueprint_origin} = {blueprint} overrides `blueprint: {settings.blueprint}` in {settings_name(doc)}: "
            f"mlplatform commands without --blueprint use {settings.blueprint}, so each would undo the other's "
            f"deploy. Set the same blueprint in both."
        )

    region = settings.region or (DEFAULT_LOCAL_REGION if settings.target == "local" else None)
    misplaced = override_key_problems(doc) if doc else []
    if settings.target == "aws" and not settings.blueprint and doc is not None:
        # A real environment's blueprint is reviewed in its file (a pull request), never chosen per run or
        # remembered from whoever deployed last.
        misplaced.append(
            Problem(
                file=doc.file,
                line=doc.line_of(("target",)),
                path="blueprint",
                value=None,
                problem="target aws needs `blueprint:` in the environment file",
                allowed=f"blueprint: one of {', '.join(blueprints.discover(project_dir))}",
            )
        )
    if settings.samples and settings.target != "local" and doc is not None:
        misplaced.append(
            Problem(
                file=doc.file,
                line=doc.line_of(("samples",)),
                path="samples",
                value="true",
                problem="the sample endpoint and feature group exist only in the local emulator",
                allowed="samples: false (or no `samples:` key) for target aws",
            )
        )
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
    env_doc = doc or YamlDocument("<built-in local environment>", BUILTIN_LOCAL.model_dump(), {})
    layers = [
        *resolved_blueprint.layers,
        Layer(env_doc, prefix=("overrides",), keys=frozenset(settings.overrides)),
        Layer(env_doc, keys=IDENTITY_KEYS),
    ]
    try:
        spec = PlatformSpec.model_validate(data)
        if misplaced:
            raise _invalid(f"environment {env!r} does not validate", misplaced)
    except ValidationError as exc:
        problems = misplaced + problems_from_validation(exc, layers, PlatformSpec)
        hint = None
        for problem in problems:
            if problem.path == "region" and region is None:
                problem.problem = "target aws needs a region"
                problem.allowed = "an AWS region such as eu-west-1"
            if problem.path == "account_id" and settings.account_id is None:
                # A missing key has no line of its own: point at the target that requires it.
                problem.value = None
                problem.line = doc.line_of(("target",)) if doc else None
                hint = _account_hint(env, settings, region)
        raise _invalid(f"environment {env!r} does not validate", problems, hint=hint) from None
    located = tuple(_locate_override(override, layers) for override in security_overrides(spec))
    warnings += [override.message() for override in located]
    production = unprotected_production(env, spec)
    if production is not None and not allow_unprotected_prod:
        file, line, where = source_of(("protect",), layers)
        problem = Problem(
            file=file,
            line=line,
            path=where,
            value="false",
            problem=f"environment {env!r} is production ({production}), and protect: false with "
            "allow_destroy_data: true would let destroy delete every bucket with its data",
            allowed="protect: true (the default for target aws), or allow_destroy_data: false",
        )
        raise _invalid(
            f"environment {env!r} does not validate",
            [problem],
            hint="Protect production data, or pass --allow-unprotected-prod to validate, preview, up, destroy and "
            "export if this environment really may be destroyed with its data.",
        )
    if settings.samples and settings.target == "local":
        spec, added = _with_samples(spec, data)
        if added:
            notes.append(
                f"{settings_name(doc)} adds {' and '.join(added)} (samples: true) because blueprint "
                f"{spec.blueprint} and the overrides declare none"
            )
    return ResolvedEnvironment(
        env=env,
        file=path if doc else None,
        settings=settings,
        blueprint=resolved_blueprint,
        spec=spec,
        blueprint_source=source,
        notes=tuple(notes),
        warnings=tuple(warnings),
        security_overrides=located,
    )


def _locate_override(override: SecurityOverride, layers: list[Layer]) -> SecurityOverride:
    """``override`` with the file, line and in-file path of the layer that set it."""
    file, line, path = source_of(override.rule.path, layers)
    return dataclasses.replace(override, file=file, line=line, path=path)


def _account_hint(env: str, settings: EnvironmentFile, region: str | None) -> str:
    """How to add the account guard target aws requires: the file's key, or ``init`` writing a new file."""
    lines = [f"blueprint: {settings.blueprint or 'level1'}", "target: aws", f"region: {region or 'eu-west-1'}"]
    example = "".join(f"\n    {line}" for line in [*lines, 'account_id: "123456789012"   # your account'])
    return (
        f"Add your AWS account id, quoted, at the top level of stacks/{env}.yaml, e.g.:{example}\n"
        f"A new environment file gets it from `mlplatform init --env {env} --target aws "
        f"--region {region or 'eu-west-1'} --account-id 123456789012`."
    )


def _with_samples(spec: PlatformSpec, data: dict[str, Any]) -> tuple[PlatformSpec, list[str]]:
    """``spec`` with the sample endpoint and feature group where the blueprint and overrides declare none.

    Samples fill gaps and never replace what a blueprint or an override declares (a GPU blueprint's own
    endpoints win), and they are only added where they can work: an endpoint needs serving on and the
    platform's ``serving`` repository for its ``serving:sample`` image; a feature group needs the feature
    store on (a group in a disabled store would be listed but never deployed).
    """
    added: list[str] = []
    data = copy.deepcopy(data)
    if spec.serving.enabled and not spec.serving.endpoints and _has_repository(spec, "serving"):
        data["serving"] = {**(data.get("serving") or {}), "endpoints": [copy.deepcopy(SAMPLE_ENDPOINT)]}
        added.append(f"the sample endpoint {SAMPLE_ENDPOINT['name']!r}")
    if spec.feature_store.enabled and not spec.feature_store.feature_groups:
        data["feature_store"] = {
            **(data.get("feature_store") or {}),
            "feature_groups": [copy.deepcopy(SAMPLE_FEATURE_GROUP)],
        }
        added.append(f"the sample feature group {SAMPLE_FEATURE_GROUP['name']!r}")
    if not added:
        return spec, added
    return PlatformSpec.model_validate(data), added


def _has_repository(spec: PlatformSpec, name: str) -> bool:
    return spec.container_registry.enabled and name in spec.container_registry.repositories


def _invalid(headline: str, problems: list[Problem], *, hint: str | None = None) -> SpecValidationError:
    body = "\n".join(problem.render() for problem in problems)
    count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
    return SpecValidationError(f"{headline} ({count}):\n{body}", problems, hint=hint)


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
