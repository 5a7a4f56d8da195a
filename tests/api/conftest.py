"""The API suite runs on both stores: every test once on SQLite and once on PostgreSQL."""

import pytest

from tests.conftest import use_store


@pytest.fixture(autouse=True, params=["sqlite", "postgres"])
def store(request):
    """Set before any runtime of the test is opened (autouse fixtures come first)."""
    yield from use_store(request, request.param)
