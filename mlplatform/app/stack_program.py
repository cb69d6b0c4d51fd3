"""The program entry of a project's ``Pulumi.yaml``: a plain ``pulumi up -s <env>`` builds what mlplatform would.

Pulumi's Python runtime runs the project's ``__main__.py`` (written by ``mlplatform init``; the repository has
one too), which calls :func:`run`. It builds the same platform ``mlplatform preview/up --env <env>`` builds:

* the environment is the stack's name (``pulumi.get_stack()``), resolved as every command resolves one
  (:func:`mlplatform.environments.resolve`; the project folder found from the working directory, which the
  runtime sets to the project's);
* the blueprint is the stack config ``mlplatform:blueprint`` when set (as ``--blueprint`` would be), else the
  env file's ``blueprint:``, else for the built-in ``local`` environment the default one. mlplatform's third
  source, the blueprint an environment was last deployed with, lives in mlplatform's state, which a program
  run by Pulumi does not read: an env file that pins no blueprint therefore needs the config (one clear error
  says so) instead of silently falling back to level0 and planning to delete half the platform. The Pulumi
  engine writes that config key after each ``up`` (:data:`mlplatform.app.conventions.BLUEPRINT_CONFIG`);
* target ``local`` makes sure the emulator runs (as :func:`mlplatform.app.workspace.open_workspace` does)
  and points the program's provider at it; target ``aws`` points it at real AWS, where pulumi-aws itself
  refuses any account but the env file's ``account_id`` (``allowedAccountIds``);
* the program is :func:`mlplatform.app.workspace.platform_program`, the very one every engine runs.

An :class:`~mlplatform.errors.MlplatformError` becomes one error diagnostic (headline, message, hint) and the
exit code with which Pulumi's exec shim (``pulumi-language-python-exec``) says "the error is already reported":
the engine then stops without a Python traceback and without a second "exited with code" message. (A
``pulumi.RunError`` would be logged the same way, but the shim then exits 1, which the language host reports
as a second error.)
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from mlplatform import blueprints, environments, paths
from mlplatform.app.conventions import BLUEPRINT_CONFIG
from mlplatform.environments import ResolvedEnvironment
from mlplatform.errors import ConfigError, MlplatformError

REPORTED_EXIT_CODE = 32
"""The exec shim's ``PYTHON_PROCESS_EXITED_AFTER_SHOWING_USER_ACTIONABLE_MESSAGE_CODE``: the program's error
is on the engine's diagnostics already; the language host stops the run without adding a message."""

CONFIG_ORIGIN = f"stack config {BLUEPRINT_CONFIG}"
"""How messages name the config key as the source of a blueprint (where the CLI says ``--blueprint``)."""


def run() -> None:
    """Build the platform of the stack's environment; what the project's ``__main__.py`` calls.

    Exits with :data:`REPORTED_EXIT_CODE` after logging an :class:`~mlplatform.errors.MlplatformError` as one
    error diagnostic.
    """
    import pulumi

    namespace, key = BLUEPRINT_CONFIG.split(":", 1)
    try:
        resolved = resolve_stack(pulumi.get_stack(), pulumi.Config(namespace).get(key))
        for warning in resolved.warnings:
            pulumi.log.warn(warning)
        for note in resolved.notes:
            pulumi.log.info(note)
        program = _program(resolved)
        program()
    except MlplatformError as exc:
        pulumi.log.error(error_text(exc))
        sys.exit(REPORTED_EXIT_CODE)


def resolve_stack(env: str, config_blueprint: str | None, project_dir: Path | None = None) -> ResolvedEnvironment:
    """Resolve the environment named like the stack, with the blueprint rule of a plain Pulumi run.

    Args:
        env: the stack's name.
        config_blueprint: the stack config ``mlplatform:blueprint``, or ``None`` when not set.
        project_dir: the project folder (default: found from the working directory, as every command does).

    Raises:
        ConfigError: the env file names no blueprint and the stack config neither (or any problem resolving).
        EnvNotFoundError: no ``stacks/<env>.yaml`` and ``env`` is not ``local``.
    """
    root = project_dir or paths.project_dir()
    path = environments.env_file_path(env, root)  # checks the name before any file is read
    if not config_blueprint and path.is_file():
        _, settings = environments.load_env_file(path)
        if settings.blueprint is None:
            # mlplatform would use the blueprint the environment was last deployed with; a Pulumi run cannot
            # know it, and level0 in its place would plan to delete what a bigger blueprint deployed.
            names = ", ".join(blueprints.discover(root))
            raise ConfigError(
                f"environment {env!r}: {path.relative_to(root)} pins no `blueprint:` and the stack has no "
                f"{BLUEPRINT_CONFIG} config; mlplatform would use the blueprint the environment was last deployed "
                "with, which a plain Pulumi run cannot know.",
                hint=f"Name it for this stack: `pulumi config set {BLUEPRINT_CONFIG} <name> -s {env}` (one of "
                f"{names}), or pin `blueprint: <name>` in {path.relative_to(root)}.",
            )
    return environments.resolve(env, config_blueprint or None, root, blueprint_origin=CONFIG_ORIGIN)


def _program(resolved: ResolvedEnvironment) -> Callable[[], object]:
    """The environment's program, with the emulator running for target ``local`` (started if it is not)."""
    from mlplatform.app.workspace import platform_program

    endpoint = None
    if resolved.spec.target == "local":
        import pulumi

        from mlplatform import emulator

        info = emulator.ensure_running(paths.state_dir(None))
        endpoint = info.endpoint
        if info.started:
            pulumi.log.info(
                f"started the local AWS emulator at {endpoint}; it keeps running (`mlplatform emulator stop` stops it)"
            )
    return platform_program(resolved.spec, endpoint)


def error_text(exc: MlplatformError) -> str:
    """``exc`` as the CLI prints it, for a Pulumi error diagnostic (which Pulumi prefixes with ``error:``)."""
    return f"{exc.headline}: {exc.message}" + (f"\nhint: {exc.hint}" if exc.hint else "")
