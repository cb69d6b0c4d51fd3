"""Scaffold new environments: ``stacks/<env>.yaml`` and, when missing, ``Pulumi.yaml`` and ``__main__.py``.

Files are written atomically (temporary file + ``os.replace``) and never overwritten unless asked, so
an interrupted or refused ``init`` leaves the project as it was.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from mlplatform import blueprints, paths
from mlplatform.environments import (
    DEFAULT_BLUEPRINT,
    LOCAL_ENV,
    EnvironmentFile,
    ResolvedEnvironment,
    env_file_path,
    resolve_loaded,
)
from mlplatform.errors import SpecValidationError, UsageError
from mlplatform.fileio import atomic_write
from mlplatform.spec.problems import Layer, problems_from_validation
from mlplatform.spec.yamlfile import parse_yaml_text

PULUMI_YAML = """\
# The Pulumi project of this mlplatform project: one stack per environment in stacks/ (written by
# `mlplatform init`). `mlplatform up --env <env>` deploys one: target `local` on mlplatform's embedded engine by
# default, in-process, into the local emulator; target `aws` (and local with `--engine pulumi`) through the
# Pulumi engine, which drives the Pulumi CLI with the Automation API (docs/pulumi-engine.md).
#
# The plain Pulumi CLI runs the same program (__main__.py) for a stack named like an environment, e.g.
# `pulumi preview -s dev` builds what `mlplatform preview --env dev` plans, from stacks/dev.yaml:
# - blueprint: the stack config `mlplatform:blueprint` if set (`pulumi config set mlplatform:blueprint level2`;
#   required when the env file pins no `blueprint:`), else the env file's, else level0 for the built-in local;
# - the stack mlplatform deploys: backend `file://<state dir>/pulumi-state` unless the env file names one
#   (`export PULUMI_BACKEND_URL=file://$PWD/.mlplatform/pulumi-state`), its config file
#   `--config-file .mlplatform/pulumi/<env>/Pulumi.<env>.yaml`, and for target local the passphrase file
#   `export PULUMI_CONFIG_PASSPHRASE_FILE=$PWD/.mlplatform/pulumi/passphrase`;
# - target local needs mlplatform's emulator provider as `pulumi-resource-aws` first on PATH (written by
#   `mlplatform.app.emulator_provider.write_plugin`): it stands in for pulumi-aws against the emulator. Target
#   aws uses the real pulumi-aws plugin.
# Step by step: docs/pulumi-engine.md, "Running the stack with the plain Pulumi CLI".
name: mlplatform
description: ML platform from mlplatform blueprints (one stack per environment in stacks/)
runtime:
  name: python
  options:
    toolchain: pip
"""

MAIN_PY = '''\
"""The program `pulumi up -s <env>` runs on Pulumi.yaml: the platform `mlplatform up --env <env>` deploys."""

from mlplatform.app.stack_program import run

run()
'''
"""The project's Pulumi program (``Pulumi.yaml``'s default ``main``): what a plain ``pulumi up -s <env>`` runs
(:mod:`mlplatform.app.stack_program`). The repository's ``__main__.py`` is the same file."""

GITIGNORE_LINE = ".mlplatform/"
"""mlplatform's local files: state, journals, locks and ``secrets.key`` — never to be committed."""


@dataclass(frozen=True)
class InitResult:
    """What ``init`` wrote."""

    env_file: Path
    pulumi_yaml: Path | None
    resolved: ResolvedEnvironment
    gitignore: Path | None = None
    main_py: Path | None = None


def _scalar(value: str) -> str:
    """``value`` as a YAML scalar that reads back as exactly this string (quoted when needed)."""
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10_000)
    return text.removesuffix("\n...\n").strip()


def render_env_file(
    env: str,
    *,
    blueprint: str | None,
    target: str,
    region: str,
    account_id: str | None = None,
    owner: str | None = None,
) -> str:
    """The text of a new environment file, commented so it doubles as documentation.

    Flag values are written as YAML scalars (quoted where needed), so no flag can add keys to the file.
    ``blueprint`` ``None`` leaves the blueprint unpinned (chosen with ``--blueprint`` and remembered).
    """
    shown = blueprint or DEFAULT_BLUEPRINT
    lines = [
        f"# Environment {env!r}: one deployable instance of a blueprint (one Pulumi stack).",
        "# Check it with `mlplatform validate --env " + env + "`; see the settings a blueprint yields with",
        f"# `mlplatform blueprints show {shown} --resolved`.",
        f"blueprint: {_scalar(blueprint)}"
        if blueprint
        else f"# blueprint: {shown}   # not pinned: `up --blueprint B` chooses one and the environment remembers it",
        f"target: {_scalar(target)}            # local (embedded AWS emulator) or aws",
        f"region: {_scalar(region)}",
    ]
    lines.append(
        f"account_id: {_scalar(str(account_id))}   # deploys refuse any other account"
        if account_id
        else '# account_id: "123456789012"   # refuse to deploy to any other account'
    )
    lines.append(f"owner: {_scalar(owner)}" if owner else "# owner: team-ml@example.com")
    if env == LOCAL_ENV and target == "local":  # the same as the built-in local environment it replaces
        lines += [
            "# A sample endpoint and feature group wherever the blueprint and overrides declare none (local only).",
            "samples: true",
        ]
    lines += [
        "# ttl: 7d                       # reap the environment after this long (m, h, d, w)",
        "# backend: s3://my-state-bucket/mlplatform   # Pulumi state backend (default: file:// under .mlplatform/)",
        "",
        "# Settings on top of the blueprint, in the blueprint's shape. Mappings merge, lists replace,",
        "# and null removes a setting (its default applies again).",
        "overrides:",
        "  tags:",
        f"    environment: {_scalar(env)}",
        "  # serving:",
        "  #   endpoints:",
        "  #     - name: churn",
        "  #       model:",
        "  #         image: serving:1.0.0   # <repository>:<tag> in the platform's registry, or a full URI",
        "  #         model_data_url: s3://my-bucket/models/churn/model.tar.gz",
        "  #       instance_type: ml.m5.large",
        "",
    ]
    return "\n".join(lines)


def init_environment(
    env: str,
    *,
    blueprint: str | None = None,
    target: str | None = None,
    region: str | None = None,
    account_id: str | None = None,
    owner: str | None = None,
    force: bool = False,
    project_dir: Path | None = None,
) -> InitResult:
    """Write ``stacks/<env>.yaml`` (and ``Pulumi.yaml`` and ``__main__.py`` when missing) into ``project_dir``.

    ``__main__.py`` is the program a plain ``pulumi up`` on ``Pulumi.yaml`` runs; an existing one is the
    project's own and is left alone, like an existing ``Pulumi.yaml``.

    Raises:
        InvalidEnvNameError: ``env`` is not a valid environment name (nothing is written).
        BlueprintNotFoundError: ``blueprint`` does not exist (nothing is written).
        UsageError: the file exists and ``force`` is false, or target aws without a region or an account id.
    """
    root = project_dir or paths.project_dir()
    path = env_file_path(env, root)  # checks the name before anything touches the disk
    target = target or ("local" if env == LOCAL_ENV else "aws")
    if blueprint is None and target == "aws":
        blueprint = DEFAULT_BLUEPRINT  # a real environment is reviewed in pull requests: its blueprint is pinned
    if blueprint is not None:
        blueprints.find(blueprint, root, wanted_by="--blueprint")
    if region is None:
        region = (
            "us-east-1" if target == "local" else os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        )
    if region is None:
        raise UsageError(
            f"target aws needs a region for environment {env!r}.",
            hint=f"Pass one: `mlplatform init --env {env} --target aws --region eu-west-1`.",
        )
    if target == "aws" and account_id is None:
        # Refused rather than asked: init runs in scripts too, and the account is not something to guess.
        raise UsageError(
            f"target aws needs an account id for environment {env!r}: every policy's account guard (trust "
            "policies' aws:SourceAccount, the key policy, resource ARNs) is built from it.",
            hint=f"Pass it: `mlplatform init --env {env} --target aws --region {region} --account-id 123456789012`.",
        )
    if path.exists() and not force:
        raise UsageError(
            f"{path.relative_to(root)} already exists; not overwriting it.",
            hint="Pass --force to replace it (the old file is kept as <env>.yaml.bak).",
        )
    text = render_env_file(env, blueprint=blueprint, target=target, region=region, account_id=account_id, owner=owner)
    shown = str(path.relative_to(root))
    doc = parse_yaml_text(text, shown)
    # Validate the whole environment (file, blueprint, merged spec) before anything touches the disk, so a
    # refused init leaves the project exactly as it was.
    try:
        settings = EnvironmentFile.model_validate(doc.data)
    except ValidationError as exc:
        problems = problems_from_validation(exc, [Layer(doc)], EnvironmentFile)
        raise SpecValidationError(
            "the flags given to init do not make a valid environment:\n" + "\n".join(p.render() for p in problems),
            problems,
        ) from None
    resolved = resolve_loaded(env, doc, settings, project_dir=root, path=path)
    if path.exists():
        shutil.copy2(path, path.with_name(path.name + ".bak"))  # byte for byte: line endings, encoding, mode
    atomic_write(path, text)
    wrote_pulumi = _write_if_missing(root / "Pulumi.yaml", PULUMI_YAML)
    wrote_main = _write_if_missing(root / "__main__.py", MAIN_PY)
    return InitResult(
        env_file=path,
        pulumi_yaml=wrote_pulumi,
        resolved=resolved,
        gitignore=_ignore_state(root / ".gitignore"),
        main_py=wrote_main,
    )


def _write_if_missing(path: Path, text: str) -> Path | None:
    """Write ``text`` to ``path`` unless something is there (a file, or a dangling link); the path if written."""
    if path.exists() or path.is_symlink():
        return None
    atomic_write(path, text)
    return path


def _ignore_state(gitignore: Path) -> Path | None:
    """Make sure ``.gitignore`` ignores ``.mlplatform/`` (it holds ``secrets.key``); the file if it changed."""
    existing = gitignore.read_text(encoding="utf-8") if gitignore.is_file() else ""
    if any(
        line.strip() in (".mlplatform", ".mlplatform/", "/.mlplatform", "/.mlplatform/")
        for line in existing.splitlines()
    ):
        return None
    separator = "" if not existing or existing.endswith("\n") else "\n"
    header = "# mlplatform's local state, locks and secrets key\n"
    atomic_write(gitignore, f"{existing}{separator}{header}{GITIGNORE_LINE}\n")
    return gitignore
