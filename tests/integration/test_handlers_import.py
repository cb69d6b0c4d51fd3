"""Import finds what a program deployed: for every handler in these programs, ``find`` and ``read`` adopt
the live resource (never "not found"), with no mutating call, and the ``up`` that follows changes nothing.

The programs are the handler tests' own; import runs on empty state, as after the state was lost.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mlplatform.engine.embedded.deployment import PROVIDER_PREFIX, Deployment
from mlplatform.engine.embedded.handlers import registry
from mlplatform.engine.embedded.monitor import EngineMonitor
from mlplatform.engine.embedded.runner import run_program
from mlplatform.engine.model import Action
from tests.integration import test_handlers_iam_ecr_cw_sns as iam_ecr_cw_sns
from tests.integration import test_handlers_network_glue_budgets_scaling as network_glue
from tests.integration import test_handlers_s3_kms as s3_kms
from tests.integration import test_handlers_sagemaker as sagemaker
from tests.integration.harness import CONVENTIONS, deploy, destroy

pytestmark = pytest.mark.integration

PROGRAMS: dict[str, Callable[[str], None]] = {
    "s3 bucket configuration, kms": s3_kms._program,
    "iam role, role policy, oidc": iam_ecr_cw_sns._iam_program,
    "ecr repository, lifecycle policy": iam_ecr_cw_sns._ecr_program,
    "logs, alarms, dashboard, events, sns": iam_ecr_cw_sns._cw_program,
    "glue database, catalog encryption": network_glue._glue,
    "sagemaker": sagemaker._ml_program,
}


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_import_adopts_everything_a_program_deployed(endpoint: str, name: str) -> None:
    def program() -> None:
        PROGRAMS[name](endpoint)

    first = deploy(program)
    assert not first.broken, [s.error for s in first.steps if s.error]
    try:
        imported = Deployment(previous={}, handlers=registry(), preview=True, importing=True, conventions=CONVENTIONS)
        run_program(program, EngineMonitor(imported, "mlplatform", "test"), preview=True, parallel=10)

        actions = {c.name: c.action for c in imported.plan() if c.custom and not c.type.startswith(PROVIDER_PREFIX)}
        assert actions and {n: a for n, a in actions.items() if a is not Action.IMPORT} == {}, imported.diagnostics
        assert imported.counter.mutating == 0
        cloud = {urn: r.id for urn, r in first.records.items() if r.custom and not r.type.startswith(PROVIDER_PREFIX)}
        assert {urn: imported.records[urn].id for urn in cloud} == cloud

        after = deploy(program, imported.records)  # the up after the import
        changed = {c.name: c.action for c in after.plan() if c.custom and c.action is not Action.SAME}
        assert changed == {} and after.counter.mutating == 0
    finally:
        assert not destroy(first.records).broken
