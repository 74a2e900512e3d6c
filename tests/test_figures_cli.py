"""``toymodels figures``: smoke tests with tiny sweeps (``--set``) in a temporary folder."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import matplotlib

matplotlib.use("Agg")

from cli.main import main  # noqa: E402

TINY = ["--quiet", "--jobs", "1", "--set", "train.steps=3", "--set", "seeds=2"]


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.links += [v for k, v in attrs.items() if k in ("href", "src")]


def _links(path) -> set[str]:
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return set(parser.links)


def test_list_names_every_figure(capsys):
    assert main(["figures", "--list"]) == 0
    out = capsys.readouterr().out
    names = [line.split()[0] for line in out.splitlines()]
    assert names == [
        "phase-2to1",
        "phase-3to2",
        "candidate-losses",
        "anatomy-2to1",
        "wtw-sparsity",
        "intro-2d",
        "dimensionality",
        "thomson",
        "multitask-loss",
        "multitask-modes",
        "multitask-census",
        "multitask-mds",
        "multitask-pathways",
        "conflict-linear-width",
        "conflict-relu-width",
        "conflict-linear-strength",
        "conflict-relu-strength",
        "competition-clusters",
        "competition-annealing",
        "competition-features",
        "competition-compare-clusters",
        "competition-compare-features",
        "competition-hyperplanes",
        "gallery",
    ]


def test_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "figs"
    assert main(["figures", "phase-2to", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and 'unknown figure "phase-2to"' in err[0] and "phase-2to1" in err[0]
    assert main(["figures", "intro-2d", "--out", str(out), "--set", "train.stepz=3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "train.stepz" in err[0]
    assert main(["figures", "intro-2d", "--out", str(out), "--scale", "huge"]) == 2
    assert not out.exists()


def test_figures_train_missing_sweeps_write_png_pdf_and_gallery(tmp_path):
    out = tmp_path / "figs"
    tiny = [*TINY, "--set", "axes.density.num=2"]
    assert main(["figures", "intro-2d", "dimensionality", "--out", str(out), *tiny]) == 0
    for name in ("intro-2d", "dimensionality"):
        assert (out / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
        assert (out / f"{name}.pdf").read_bytes()[:4] == b"%PDF"
    manifest = json.loads((out / "figures.json").read_text())
    assert set(manifest) == {"intro-2d", "dimensionality"}
    assert manifest["intro-2d"]["command"].startswith("toymodels figures intro-2d --out ")
    links = _links(out / "index.html")
    assert {f for rec in manifest.values() for f in rec["files"]} <= links
    assert {"intro-2d.png", "intro-2d.pdf", "dimensionality.png", "dimensionality.pdf"} <= links
    runs = sorted(p.name.split("+")[0] for p in (out / "runs" / "default").iterdir())
    assert runs == ["dimensionality", "intro-2d"]

    # Regenerating reuses the stored sweeps: no chunk is rewritten.
    chunks = sorted((out / "runs").rglob("chunk-*.npz"))
    stamps = [p.stat().st_mtime_ns for p in chunks]
    assert main(["figures", "intro-2d", "--out", str(out), *tiny]) == 0
    assert [p.stat().st_mtime_ns for p in chunks] == stamps
    # The gallery keeps every figure made in the folder.
    assert {"intro-2d.png", "dimensionality.png"} <= _links(out / "index.html")


def test_phase_figure_from_a_tiny_sweep(tmp_path):
    out = tmp_path / "figs"
    grid = ["--set", "axes.density.num=3", "--set", "axes.importance.num=3"]
    assert main(["figures", "phase-2to1", "--out", str(out), *TINY, *grid]) == 0
    assert (out / "phase-2to1.png").is_file() and (out / "phase-2to1.pdf").is_file()
    assert "phase-2to1.png" in _links(out / "index.html")


def test_multitask_figures_from_tiny_runs(tmp_path):
    out = tmp_path / "figs"
    tiny = ["--quiet", "--jobs", "1", "--set", "train.steps=20", "--set", "seeds=2"]
    tiny += ["--set", "train.record_every=10"]
    names = ["multitask-loss", "multitask-census", "multitask-mds", "multitask-pathways"]
    assert main(["figures", *names, "--out", str(out), *tiny]) == 0
    for name in names:
        assert (out / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
    runs = sorted(p.name.split("+")[0] for p in (out / "runs" / "default").iterdir())
    assert runs == [
        "multitask-gdln",
        "multitask-gdln-single",
        "multitask-linear",
        "multitask-relu",
    ]
