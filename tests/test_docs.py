"""The documentation site builds with ``mkdocs build --strict``: a broken link or anchor,
a page left out of the navigation, or an API page naming something that no longer
exists fails here (and in CI) rather than on the published site."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_site_builds_strict_without_warnings(tmp_path):
    env = dict(os.environ)
    # Document this tree's packages, whatever copy is installed.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["NO_MKDOCS_2_WARNING"] = "1"  # Material's banner about MkDocs 2.0, not our pages
    run = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet",
         "--config-file", str(ROOT / "mkdocs.yml"), "--site-dir", str(tmp_path / "site")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    log = run.stdout + run.stderr
    assert run.returncode == 0, log
    assert "WARNING" not in log, log
    site = tmp_path / "site"
    assert (site / "index.html").is_file()
    assert "pip install . && toymodels phase-diagram" in _text(site / "index.html")  # README
    # The command reference is generated from the parsers.
    assert "--density-range LO HI" in _text(site / "reference" / "commands" / "index.html")


def _text(page: Path) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", page.read_text(encoding="utf-8")))
