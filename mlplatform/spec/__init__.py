"""The declarative model: spec models, YAML loading, merging and located validation errors."""
