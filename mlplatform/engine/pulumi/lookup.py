"""Looking in the emulator for what a killed Pulumi run created: the Pulumi engine's :data:`FindCreated`.

After a kill, Pulumi's checkpoint holds the creates it began, with the inputs it sent, but not whether they
happened. The embedded engine's handlers already know how to find a resource by the physical name or the URN
tag it was created with (``Handler.find``, which the embedded engine uses after its own interrupted runs);
here they answer the same question for the Pulumi engine on the emulator, where the emulator provider made the
resources with those same handlers (so the URN tag is there to find the resources without a fixed name).

There is no such lookup for real AWS: pulumi-aws writes no URN tag, so a VPC or a KMS key an interrupted
create made cannot be told from one made by someone else, and a wrong guess either duplicates a resource or
adopts a stranger's. An ``up`` after a killed run on AWS is refused, naming each operation, until someone has
checked (the error says how).
"""

from __future__ import annotations

from typing import Any

from mlplatform.engine.conventions import Conventions
from mlplatform.engine.embedded.handlers import registry
from mlplatform.engine.embedded.handlers.base import CallCounter, Handler, StepContext
from mlplatform.engine.pulumi.emulator_provider import EmulatorAwsContext, refusal
from mlplatform.engine.pulumi.recovery import CannotTell, InterruptedCreate
from mlplatform.engine.targets import logical_name
from mlplatform.engine.values import reveal


class EmulatorLookup:
    """Finds, in the local emulator, the resource an interrupted create made (a :data:`FindCreated`).

    Args:
        conventions: the application's URN tag (what the emulator provider wrote on each resource).
        endpoint: the emulator's endpoint now; it may have moved since the checkpoint's provider was recorded.
        handlers: the handlers by type (default: all of the embedded engine's).
    """

    def __init__(self, conventions: Conventions, endpoint: str, handlers: dict[str, Handler] | None = None) -> None:
        self.conventions = conventions
        self.endpoint = endpoint
        self.handlers = handlers if handlers is not None else registry()

    def __call__(self, created: InterruptedCreate) -> tuple[str, dict[str, Any]] | None:
        """``(id, outputs)`` of what ``created`` made, ``None`` when it made nothing.

        Raises:
            CannotTell: no handler for the type, or a provider that does not point at the emulator.
        """
        handler = self.handlers.get(created.type)
        if handler is None:
            raise CannotTell(f"no lookup for the type {created.type}")
        config = reveal(created.provider_inputs)
        refused = refusal(config)
        if refused is not None:
            raise CannotTell(f"its provider does not point at the local emulator ({refused})")
        aws = EmulatorAwsContext(config, CallCounter(), endpoint_override=self.endpoint)
        ctx = StepContext(aws, created.urn, logical_name(created.urn), self.conventions.urn_tag)
        return handler.find(ctx, reveal(created.inputs))
