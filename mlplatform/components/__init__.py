"""The platform's building blocks: one Pulumi ComponentResource per capability.

Each module holds one component and its flat ``*Args``. Components never read YAML or environment
variables; :mod:`mlplatform.program` translates a :class:`~mlplatform.spec.models.PlatformSpec` into Args.
"""
