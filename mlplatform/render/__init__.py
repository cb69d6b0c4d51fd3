"""Renderers: turn plain data (specs, blueprint lists and diffs, later plans) into text for people or JSON."""
