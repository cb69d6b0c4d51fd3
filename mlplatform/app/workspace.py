"""Open an environment for engine commands: resolve its spec, pick its engine, build its program.

The one road from "``--env dev --blueprint level2``" to an engine and a :class:`Stack` (docs/architecture.md),
shared by ``preview``, ``up``, ``destroy``, ``refresh`` and ``import``:

* the blueprint follows one rule (:func:`mlplatform.environments.choose_blueprint`): ``--blueprint``, else
  the env file's ``blueprint:``, else the one the environment was last deployed with, else level0 — so
  ``up --blueprint level2`` then ``up`` never silently falls back and plans to delete half the platform;
* target ``local`` makes sure the emulator runs and points the program's provider at it, and runs on the
  embedded engine unless ``--engine pulumi`` (or its last deploy) says otherwise;
* target ``aws`` always runs on the Pulumi engine, after the AWS preflight (:mod:`mlplatform.app.pulumi`).

The program and its target settings come from one place (:func:`platform_program`), which the project's
``__main__.py`` uses too when the plain Pulumi CLI runs a stack (:mod:`mlplatform.app.stack_program`).

The commands that only read or repair state (``outputs``, ``state``, ``unlock``) get an engine without an
emulator or a program (:func:`state_engine`). Either way the engine is given mlplatform's conventions
(:data:`mlplatform.app.conventions.CONVENTIONS`) and the CLI sees it only as the
:class:`~mlplatform.engine.model.Engine` protocol.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlplatform import environments, paths
from mlplatform.app.conventions import CONVENTIONS
from mlplatform.engine.embedded import state
from mlplatform.engine.model import Engine, Events, Stack, no_events
from mlplatform.environments import ResolvedEnvironment
from mlplatform.errors import MlplatformError
from mlplatform.spec.models import PlatformSpec
from mlplatform.spec.names import check_env_name
from mlplatform.spec.rules import EMULATOR_ACCOUNT_ID

if TYPE_CHECKING:
    from mlplatform.program import TargetSettings

SESSION_FILE = "emulator-session"


@dataclass
class Workspace:
    """An environment ready for an engine command.

    Attributes:
        project: the project folder (where ``stacks/`` and ``blueprints/`` are looked up).
        state_dir: where the environment's state and the emulator's records live.
        emulator_started: this command started the local emulator (it was not running).
        emulator_restarted: the emulator is not the process the environment was last deployed into (it
            keeps nothing across restarts), so every resource must be checked.
    """

    resolved: ResolvedEnvironment
    engine: Engine
    stack: Stack
    endpoint: str | None
    project: Path
    state_dir: Path
    emulator_restarted: bool = False
    emulator_started: bool = False

    @property
    def previous_blueprint(self) -> str | None:
        return self.engine.remembered_blueprint(self.resolved.env)

    def remember_emulator_session(self) -> None:
        """Note which emulator process the environment was deployed into (see :func:`open_workspace`)."""
        if self.endpoint is None:
            return
        from mlplatform import emulator

        status = emulator.status(self.state_dir)
        path = self.state_dir / "stacks" / self.resolved.env / SESSION_FILE
        if status.running and path.parent.is_dir():
            path.write_text(_session_id(status.pid, status.started_at), encoding="utf-8")


def _session_id(pid: int | None, started_at: str | None) -> str:
    return f"{pid}:{started_at}"


def state_engine(state_dir: Path, env: str | None = None) -> Engine:
    """The engine that reads and repairs ``env``'s state in ``state_dir`` (no emulator, no program): the Pulumi
    engine for an environment it deployed or one with target aws, else the embedded engine."""
    if env is not None and deploys_with_pulumi(env, state_dir):
        from mlplatform.app import pulumi as pulumi_wiring
        from mlplatform.engine.pulumi.engine import PulumiEngine, PulumiSettings

        # The stack's settings (backend, region, account) do not depend on the blueprint: resolving without the
        # remembered one keeps this from asking the stack which blueprint it has.
        settings = pulumi_wiring.settings_for(environments.resolve(env, None), state_dir)
        assert isinstance(settings, PulumiSettings)
        return PulumiEngine(settings, conventions=CONVENTIONS)
    from mlplatform.engine.embedded.engine import EmbeddedEngine

    return EmbeddedEngine(state_dir, conventions=CONVENTIONS)


def deploys_with_pulumi(env: str, state_dir: Path) -> bool:
    """Whether ``env``'s state lives in a Pulumi stack (deployed with ``--engine pulumi``, or target aws)."""
    from mlplatform.app import pulumi as pulumi_wiring

    if pulumi_wiring.remembered_engine(env, state_dir) == "pulumi":
        return True
    if pulumi_wiring.remembered_engine(env, state_dir) == "embedded" or not environments.env_file_path(env).is_file():
        return False
    return environments.resolve(env, None).spec.target == "aws"


def remembered_blueprint(env: str, state_dir: Path) -> str | None:
    """The blueprint ``env`` was last deployed with, when it has state (no emulator, no program)."""
    check_env_name(env)
    from mlplatform.app import pulumi as pulumi_wiring

    if pulumi_wiring.remembered_engine(env, state_dir) == "pulumi":
        # Deployed from here with the Pulumi engine: its stack tag says. An environment never deployed from
        # here is not looked up in its backend: `validate` and `export` work offline, without credentials.
        try:
            return state_engine(state_dir, env).remembered_blueprint(env)
        except MlplatformError:
            return None
    return state.remembered_blueprint(state_dir, env)


def resolve(
    env: str, blueprint: str | None, state_dir: Path, *, allow_unprotected_prod: bool = False
) -> ResolvedEnvironment:
    """Resolve ``env`` the way every command does: ``--blueprint``, the env file, then its last deploy."""
    return environments.resolve(
        env,
        blueprint,
        remembered_blueprint=remembered_blueprint(env, state_dir),
        allow_unprotected_prod=allow_unprotected_prod,
    )


def open_workspace(
    env: str,
    blueprint: str | None,
    state_dir: Path,
    *,
    parallel: int = 10,
    events: Events | None = None,
    start_emulator: bool = True,
    allow_unprotected_prod: bool = False,
    engine: str | None = None,
) -> Workspace:
    """Resolve ``env`` and prepare its engine and program.

    Args:
        env: the environment name.
        blueprint: ``--blueprint``; ``None`` uses the env file's, or for an env without a file the one it was
            last deployed with.
        state_dir: where state and the emulator's records live.
        parallel: how many resources the engine applies at once.
        events: progress callback.
        start_emulator: start the emulator if it is not running (target local).
        allow_unprotected_prod: ``--allow-unprotected-prod`` (see :func:`mlplatform.environments.resolve`).
        engine: ``--engine`` (``embedded`` or ``pulumi``); ``None``: the one the environment was deployed with,
            else the target's (``local``: embedded, ``aws``: always Pulumi).

    Raises:
        ConfigError, EnvNotFoundError: from resolving the environment, or an engine the target cannot use.
        AwsPreflightError: target aws without valid credentials for the environment's account (exit 3).
        EmulatorError: the emulator cannot be started or reached.
    """
    resolved = resolve(check_env_name(env), blueprint, state_dir, allow_unprotected_prod=allow_unprotected_prod)
    spec = resolved.spec
    from mlplatform.app import pulumi as pulumi_wiring

    chosen = pulumi_wiring.choose_engine(resolved, engine, state_dir)
    if spec.target == "aws":
        return _aws_workspace(resolved, state_dir, parallel=parallel, events=events)
    from mlplatform import emulator

    endpoint: str | None
    started = False
    if start_emulator:
        info = emulator.ensure_running(state_dir)
        endpoint, started = info.endpoint, info.started
        session = _session_id(info.pid, info.started_at)
    else:
        status = emulator.status(state_dir)
        endpoint = status.endpoint if status.running else None
        session = _session_id(status.pid, status.started_at)
        if endpoint is None:
            emulator.check_reachable("http://127.0.0.1:4566")  # raises with "how to start it"
    # The engine (and through it the Pulumi SDK) is imported when an environment is opened, not by
    # `validate` and `export`, which only resolve one.
    if chosen == "pulumi":
        runner = _pulumi_engine(resolved, state_dir, parallel=parallel, events=events, emulator=endpoint)
    else:
        from mlplatform.engine.embedded.engine import EmbeddedEngine

        runner = EmbeddedEngine(
            state_dir, conventions=CONVENTIONS, parallel=parallel, events=events or no_events, endpoint=endpoint
        )
    recorded = state_dir / "stacks" / env / SESSION_FILE
    restarted = recorded.is_file() and recorded.read_text(encoding="utf-8").strip() != session

    stack = Stack(env=env, blueprint=spec.blueprint, target=spec.target, program=platform_program(spec, endpoint))
    return Workspace(
        resolved,
        runner,
        stack,
        endpoint,
        paths.project_dir(),
        state_dir,
        emulator_restarted=restarted,
        emulator_started=started,
    )


def target_settings(spec: PlatformSpec, endpoint: str | None) -> TargetSettings:
    """Where ``spec``'s program deploys: target ``local`` into the emulator at ``endpoint`` (its fixed account),
    target ``aws`` into real AWS, guarded by the env file's account (``endpoint`` is ignored)."""
    from mlplatform.program import TargetSettings

    if spec.target == "aws":
        return TargetSettings(region=spec.region, endpoint=None, account_id=spec.account_id)
    return TargetSettings(region=spec.region, endpoint=endpoint, account_id=EMULATOR_ACCOUNT_ID)


def platform_program(spec: PlatformSpec, endpoint: str | None) -> Callable[[], object]:
    """The Pulumi program of ``spec``: what every engine runs, and what the project's ``__main__.py`` runs for
    a plain ``pulumi up`` (:mod:`mlplatform.app.stack_program`), so the two cannot drift apart."""
    from mlplatform.program import build_platform

    settings = target_settings(spec, endpoint)
    return lambda: build_platform(spec, settings)


def _pulumi_engine(
    resolved: ResolvedEnvironment,
    state_dir: Path,
    *,
    parallel: int,
    events: Events | None,
    emulator: str | None = None,
) -> Engine:
    """The Pulumi engine for ``resolved``; ``emulator``: the local emulator's endpoint (target local), where the
    engine can look for what a killed run created (``EmulatorLookup``). On AWS it cannot: see that class."""
    from mlplatform.app import pulumi as pulumi_wiring
    from mlplatform.engine.pulumi.engine import PulumiEngine, PulumiSettings

    pulumi_wiring.require_cli()
    settings = pulumi_wiring.settings_for(resolved, state_dir)
    assert isinstance(settings, PulumiSettings)
    pulumi_wiring.remember_engine(resolved.env, state_dir, "pulumi")
    lookup = None
    if emulator is not None:
        from mlplatform.engine.pulumi.lookup import EmulatorLookup

        lookup = EmulatorLookup(CONVENTIONS, emulator)
    return PulumiEngine(
        settings, conventions=CONVENTIONS, parallel=parallel, events=events or no_events, find_created=lookup
    )


def _aws_workspace(
    resolved: ResolvedEnvironment, state_dir: Path, *, parallel: int, events: Events | None
) -> Workspace:
    """Target aws: the Pulumi engine, after the credentials proved to be the environment's account's."""
    from mlplatform.app import pulumi as pulumi_wiring

    spec = resolved.spec
    pulumi_wiring.require_cli()
    pulumi_wiring.preflight(resolved)
    runner = _pulumi_engine(resolved, state_dir, parallel=parallel, events=events)
    stack = Stack(env=resolved.env, blueprint=spec.blueprint, target=spec.target, program=platform_program(spec, None))
    return Workspace(resolved, runner, stack, None, paths.project_dir(), state_dir)
