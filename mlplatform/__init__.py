"""mlplatform: infrastructure as code for ML platforms, from MLOps maturity blueprints, on Pulumi."""

__version__ = "0.1.0"
