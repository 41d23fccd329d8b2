"""The simulator tests use the shared `sim` fixture of tests/conftest.py."""

from tests.conftest import APPLE, data_url

__all__ = ["APPLE", "data_url"]
