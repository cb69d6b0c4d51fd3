"""Engines execute the Pulumi program: ``embedded`` (in-process, this project's) and ``pulumi`` (Automation API).

Both return the plain data in :mod:`mlplatform.engine.model`, so the CLI and the renderers never know
which engine ran.
"""
