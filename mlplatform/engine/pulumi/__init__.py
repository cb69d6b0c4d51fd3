"""The Pulumi engine: what runs a program through the Pulumi CLI instead of in-process (docs/pulumi-engine.md).

:mod:`.engine` is the :class:`~mlplatform.engine.model.Engine` protocol over Pulumi's Automation API.
:mod:`.emulator_provider` is the emulator provider, a resource provider plugin named ``aws`` that stands in for
pulumi-aws *only* against the local emulator, so the real Pulumi engine can be exercised end to end on machines
without the pulumi-aws plugin.
"""
