"""Diff and apply: what the embedded engine does with each registration.

:class:`Deployment` (:mod:`.diff`) turns each registration into a change and, during ``up``, applies it
through :class:`~.apply.Applier` (:mod:`.apply`: steps, orphans and deletes along the graph);
:mod:`.ignore_changes` parses Pulumi's property paths for ``ignore_changes``. The names below are the
package's interface.
"""

from mlplatform.engine.embedded.deployment.apply import (
    PROVIDER_PREFIX,
    Applier,
    Journal,
    MissingHandlerError,
    ProtectedResourceError,
    Record,
    dependents_of,
)
from mlplatform.engine.embedded.deployment.diff import Deployment, compare, diff_keys
from mlplatform.engine.embedded.monitor import dependencies_of

__all__ = [
    "PROVIDER_PREFIX",
    "Applier",
    "Deployment",
    "Journal",
    "MissingHandlerError",
    "ProtectedResourceError",
    "Record",
    "compare",
    "dependencies_of",
    "dependents_of",
    "diff_keys",
]
