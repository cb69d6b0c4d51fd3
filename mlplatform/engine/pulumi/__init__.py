"""The Pulumi engine: the Engine protocol over Pulumi's Automation API and CLI (docs/pulumi-engine.md)."""
