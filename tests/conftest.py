"""Suite-wide setup: derived closed forms are cached in a private folder per test session,
so the suite neither reads nor writes the user's cache; fixtures several files share."""

import pytest


@pytest.fixture(autouse=True, scope="session")
def _private_analytics_cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("TOYMODELS_CACHE_DIR", str(tmp_path_factory.mktemp("toymodels-cache")))
    yield
    mp.undo()


@pytest.fixture
def sweep_cli(monkeypatch):
    """``cli.main.main`` with only the ``sweep`` command registered (a faster parser)."""
    from cli import main as cli

    monkeypatch.setattr(cli, "COMMANDS", ("cli.sweep_command",))
    return cli.main


@pytest.fixture
def private_analytics_cache(tmp_path, monkeypatch):
    """An empty analytics cache on disk and in memory, for one test."""
    from analytics import loss_derivation

    monkeypatch.setenv("TOYMODELS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(loss_derivation, "_MEMORY", {})


@pytest.fixture
def folders(tmp_path, monkeypatch):
    """(the working directory, the analytics cache), both fresh; cwd is the first."""
    work, cache = tmp_path / "work", tmp_path / "cache"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("TOYMODELS_CACHE_DIR", str(cache))
    return work, cache
