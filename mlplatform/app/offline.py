"""An environment's offline plan: resolve its spec, build its program, evaluate it with no cloud at all.

What ``mlplatform export`` runs (:func:`plan_offline`); :func:`plan_spec` starts from a resolved spec
(tests and the property checks that vary one setting). The evaluation itself is the engine's
(:func:`mlplatform.engine.offline.evaluate_offline`): this module only supplies mlplatform's program, the
provider settings a deploy would use, and where ARNs are derived.
"""

from __future__ import annotations

from mlplatform import environments
from mlplatform.app.conventions import CONVENTIONS
from mlplatform.engine.offline import OfflinePlan, Where, evaluate_offline
from mlplatform.spec import awsmodel
from mlplatform.spec.models import PlatformSpec
from mlplatform.spec.names import check_env_name

OFFLINE_ENDPOINT = "http://127.0.0.1:4566"
"""Target local's provider is pointed here; nothing connects to it during an offline plan."""


def plan_offline(
    env: str,
    blueprint: str | None = None,
    *,
    parallel: int = 10,
    remembered_blueprint: str | None = None,
    allow_unprotected_prod: bool = False,
) -> OfflinePlan:
    """Evaluate ``env``'s program offline and return every custom resource it would create.

    Works for every target: nothing is deployed, read or locked, and no credentials are needed.

    Args:
        env: the environment name (``stacks/<env>.yaml`` or the built-in ``local``).
        blueprint: ``--blueprint``; ``None`` uses the environment's.
        parallel: how many registrations the SDK runs at once.
        remembered_blueprint: the blueprint the environment was last deployed with (the rule's third step).
        allow_unprotected_prod: ``--allow-unprotected-prod`` (see :func:`mlplatform.environments.resolve`).

    Raises:
        ConfigError, EnvNotFoundError: from resolving the environment.
        ProgramError: the program failed.
    """
    check_env_name(env)
    spec = environments.resolve(
        env, blueprint, remembered_blueprint=remembered_blueprint, allow_unprotected_prod=allow_unprotected_prod
    ).spec
    return plan_spec(spec, parallel=parallel)


def plan_spec(spec: PlatformSpec, *, parallel: int = 10) -> OfflinePlan:
    """Evaluate the program of a resolved spec offline (what :func:`plan_offline` does after resolving).

    Raises:
        ProgramError: the program failed.
    """
    from mlplatform.program import TargetSettings, build_platform, platform_of

    settings = TargetSettings(
        region=spec.region,
        endpoint=OFFLINE_ENDPOINT if spec.target == "local" else None,
        account_id=spec.account_id,
    )
    platform = platform_of(spec, settings)
    # Without an account nothing can be derived; the components refuse to build their policies anyway.
    where = None
    if platform.account_id:
        suffix = awsmodel.dns_suffix_of(platform.region) or "amazonaws.com"
        where = Where(platform.account_id, platform.region, platform.partition, platform.name, suffix)
    return evaluate_offline(
        lambda: build_platform(spec, settings),
        env=spec.env,
        blueprint=spec.blueprint,
        target=spec.target,
        region=spec.region,
        where=where,
        conventions=CONVENTIONS,
        parallel=parallel,
    )
