"""Application wiring: an environment's spec, its program, the local emulator and an engine, put together.

``engine/`` knows how to run *a* program; this package knows *which* program (mlplatform's, from an
environment's spec), where it runs (the emulator for target ``local``) and mlplatform's conventions
(tags, component types) that the engine is given rather than hard-coding.
"""
