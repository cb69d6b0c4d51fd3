"""Wiring for the Pulumi engine: an environment's backend, secrets, CLI and stack config, and the AWS preflight.

``target: aws`` always deploys through the Pulumi engine (the Automation API driving the Pulumi CLI and the
pulumi-aws plugin on the user's machine); ``--engine pulumi`` runs a local environment through it too, with
the provider pointed at the emulator. This module turns an environment file into the engine's
:class:`~mlplatform.engine.pulumi.engine.PulumiSettings`:

* the backend: the env file's ``backend:``, else ``file://`` under the state folder (one per project, like
  ``pulumi login --local`` but never the user's home);
* the secrets provider: the env file's ``secrets_provider:``, else ``passphrase``; for target ``local`` the
  passphrase is a random key kept in the state folder (mode 0600), for target ``aws`` it must come from
  ``PULUMI_CONFIG_PASSPHRASE``/``_FILE`` (a missing one is one clear error before Pulumi runs);
* the CLI: ``MLPLATFORM_PULUMI_CLI`` (the folder holding ``pulumi``), else ``pulumi`` on PATH;
* stack config ``aws:region`` and ``aws:allowedAccountIds``, and stack tags (owner, blueprint, expires-at).

Before an ``aws`` environment runs, :func:`preflight` checks the credentials with boto3 (``sts
get-caller-identity``) and refuses a run in another account than the env file's ``account_id``.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

from mlplatform.app.conventions import CONVENTIONS
from mlplatform.environments import ResolvedEnvironment
from mlplatform.errors import EXIT_AUTH, ConfigError, MlplatformError

ENGINES = ("embedded", "pulumi")
ENGINE_FILE = "engine"
"""Per environment, under ``stacks/<env>/``: which engine deployed it (``outputs``/``state`` read there)."""

CLI_ENV = "MLPLATFORM_PULUMI_CLI"


class AwsPreflightError(MlplatformError):
    """The credentials are missing, invalid, or for another account than the environment's (exit 3)."""

    headline = "AWS credentials"
    exit_code = EXIT_AUTH


def choose_engine(resolved: ResolvedEnvironment, requested: str | None, state_dir: Path) -> str:
    """``--engine``, else the engine the environment was deployed with, else the target's default.

    Raises:
        ConfigError: ``--engine embedded`` for target aws (only Pulumi deploys to AWS), or an unknown engine.
    """
    if requested is not None and requested not in ENGINES:
        raise ConfigError(f"unknown engine {requested!r}", hint=f"--engine takes {' or '.join(ENGINES)}.")
    if resolved.spec.target == "aws":
        if requested == "embedded":
            raise ConfigError(
                f"environment {resolved.env!r} has target aws, which always deploys through the Pulumi engine; "
                "the embedded engine deploys only into the local emulator.",
                hint="Leave out --engine, or pass --engine pulumi.",
            )
        return "pulumi"
    return requested or remembered_engine(resolved.env, state_dir) or "embedded"


def remembered_engine(env: str, state_dir: Path) -> str | None:
    path = state_dir / "stacks" / env / ENGINE_FILE
    if not path.is_file():
        return None
    value = path.read_text(encoding="utf-8").strip()
    return value if value in ENGINES else None


def remember_engine(env: str, state_dir: Path, engine: str) -> None:
    path = state_dir / "stacks" / env / ENGINE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(engine + "\n", encoding="utf-8")


def cli_root() -> Path | None:
    """The folder whose ``bin/pulumi`` the Automation API runs, or ``None`` for ``pulumi`` on PATH.

    Raises:
        ConfigError: ``MLPLATFORM_PULUMI_CLI`` names a folder without a ``pulumi``.
    """
    configured = os.environ.get(CLI_ENV)
    if not configured:
        return None
    folder = Path(configured).expanduser()
    if (folder / "pulumi").is_file() and folder.name == "bin":
        return folder.parent
    if (folder / "bin" / "pulumi").is_file():
        return folder
    raise ConfigError(
        f"{CLI_ENV}={configured!r} holds no Pulumi CLI (looked for {folder / 'pulumi'} and "
        f"{folder / 'bin' / 'pulumi'}).",
        hint="Point it at the folder that holds `pulumi` (scripts/pulumi-cli prints it), or unset it to use the "
        "`pulumi` on PATH.",
    )


class PulumiCliMissingError(MlplatformError):
    """No Pulumi CLI: neither ``MLPLATFORM_PULUMI_CLI`` nor a ``pulumi`` on PATH (exit 1)."""

    headline = "Pulumi CLI not found"


def require_cli() -> None:
    """One clear error when no Pulumi CLI can be found (before the Automation API's own, less clear one)."""
    if cli_root() is None and shutil.which("pulumi") is None:
        raise PulumiCliMissingError(
            "the Pulumi engine needs the Pulumi CLI, and there is no `pulumi` on PATH.",
            hint="Install it (https://www.pulumi.com/docs/iac/download-install/, or build it from its Go module "
            f"with scripts/pulumi-cli and set {CLI_ENV}), or deploy a local environment with the embedded engine "
            "(the default), which needs no CLI.",
        )


def settings_for(resolved: ResolvedEnvironment, state_dir: Path) -> object:
    """The Pulumi engine's settings for ``resolved`` (see the module docstring)."""
    from mlplatform.engine.pulumi.engine import PulumiSettings

    spec = resolved.spec
    env_file = resolved.settings
    env_vars: dict[str, str] = {}
    provider = env_file.secrets_provider or "passphrase"
    if provider == "passphrase":
        env_vars |= _passphrase(resolved, state_dir)
    config = {"aws:region": spec.region}
    if spec.account_id:
        config["aws:allowedAccountIds"] = json.dumps([spec.account_id])
    tags = {"mlplatform:env": resolved.env}
    if env_file.owner:
        tags["mlplatform:owner"] = env_file.owner
    seconds = env_file.ttl_seconds()
    if seconds is not None:
        expires = datetime.now(timezone.utc) + timedelta(seconds=seconds)
        tags["mlplatform:expires-at"] = expires.strftime("%Y-%m-%dT%H:%M:%SZ")
    backend = env_file.backend
    if backend is None:
        local = state_dir / "pulumi-state"
        local.mkdir(parents=True, exist_ok=True)  # Pulumi's file backend does not create its folder
        backend = local.resolve().as_uri()
    return PulumiSettings(
        project=CONVENTIONS.project,
        work_dir=state_dir / "pulumi" / resolved.env,
        backend_url=backend,
        secrets_provider=provider,
        cli_root=cli_root(),
        env_vars=env_vars,
        config=config,
        tags=tags,
    )


def _passphrase(resolved: ResolvedEnvironment, state_dir: Path) -> dict[str, str]:
    if os.environ.get("PULUMI_CONFIG_PASSPHRASE") is not None or os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE"):
        return {}
    if resolved.spec.target != "local":
        raise ConfigError(
            f"environment {resolved.env!r} encrypts its Pulumi secrets with a passphrase (secrets_provider: "
            "passphrase, the default), and neither PULUMI_CONFIG_PASSPHRASE nor PULUMI_CONFIG_PASSPHRASE_FILE is set.",
            hint="Set one of them (every run of this environment needs the same passphrase), or set "
            "`secrets_provider: awskms://alias/<key>` in the environment file.",
        )
    # The emulator's environments hold nothing worth a passphrase prompt: a random key kept with their state.
    key = state_dir / "pulumi" / "passphrase"
    if not key.is_file():
        key.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(32))
    return {"PULUMI_CONFIG_PASSPHRASE_FILE": str(key.resolve())}


def preflight(resolved: ResolvedEnvironment) -> str:
    """Check the AWS credentials before Pulumi runs: present, valid, and for the environment's account.

    Returns:
        the account the credentials belong to.

    Raises:
        AwsPreflightError: no credentials, rejected credentials, or another account than ``account_id`` (exit 3).
    """
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    spec = resolved.spec
    try:
        identity = boto3.session.Session(region_name=spec.region).client("sts").get_caller_identity()
    except NoCredentialsError:
        raise AwsPreflightError(
            f"environment {resolved.env!r} deploys to AWS, and no AWS credentials were found.",
            hint="Configure credentials (AWS_PROFILE, `aws sso login`, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) for "
            f"account {spec.account_id}; nothing was changed.",
        ) from None
    except (ClientError, BotoCoreError) as exc:
        raise AwsPreflightError(
            f"the AWS credentials were refused by STS ({exc}); nothing was changed.",
            hint=f"Check that they are current and belong to account {spec.account_id}.",
        ) from None
    account = str(identity.get("Account", ""))
    if spec.account_id and account != spec.account_id:
        raise AwsPreflightError(
            f"environment {resolved.env!r} belongs to account {spec.account_id}, but the credentials are for account "
            f"{account} ({identity.get('Arn', 'unknown identity')}); nothing was changed.",
            hint=f"Use credentials for account {spec.account_id} (e.g. the right AWS_PROFILE).",
        )
    return account
