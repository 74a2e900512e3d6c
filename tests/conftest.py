"""Suite-wide setup: derived closed forms are cached in a private folder per test session,
so the suite neither reads nor writes the user's cache."""

import pytest


@pytest.fixture(autouse=True, scope="session")
def _private_analytics_cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("TOYMODELS_CACHE_DIR", str(tmp_path_factory.mktemp("toymodels-cache")))
    yield
    mp.undo()
