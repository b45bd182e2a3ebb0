"""Mutation tests of the guard lines (run on demand by tests/mutate.py, never in CI)."""
