"""Renderers: they turn results into text for people and JSON for scripts, and never decide anything."""
