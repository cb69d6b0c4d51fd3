"""The embedded engine: evaluates the Pulumi program in-process and applies it with boto3 handlers.

runner (evaluate the program), monitor (protocol adapter), deployment (diff/apply), state (snapshot +
journal + lock) and handlers/<service>.py (CRUD per resource type), as docs/architecture.md describes.
"""
