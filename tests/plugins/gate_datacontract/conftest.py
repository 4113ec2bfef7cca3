"""The ready example with contracts, samples and quality results (test_decisions.service), for every test
of the plugin that decides on it."""

from .test_decisions import service  # noqa: F401 - a fixture
