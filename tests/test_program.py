"""The ``toymodels`` program (``cli.program``): the console script and ``python -m cli``
run :func:`cli.main.main` with the process's collector tuned, and ``main`` called in a
process of its own (tests, scripts) leaves the collector alone."""

import subprocess
import sys

from cli.program import FULL_COLLECTION_AFTER

PROBE = (
    "import gc, sys\n"
    "from cli import main, program\n"
    "sys.argv = ['toymodels', 'families']\n"
    "code = {call}\n"
    "print(gc.get_threshold()[2], gc.get_freeze_count() > 0, code, file=sys.stderr)\n"
)


def _probe(call: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(call=call)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stderr.strip().splitlines()[-1]


def test_the_program_collects_in_full_rarely_and_leaves_nothing_to_collect_at_exit():
    assert _probe("program.run()") == f"{FULL_COLLECTION_AFTER} True 0"


def test_main_in_someone_elses_process_leaves_the_collector_alone():
    assert _probe("main.main()") == "10 False 0"


def test_python_dash_m_cli_is_the_program():
    done = subprocess.run(
        [sys.executable, "-m", "cli", "families"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and "contextual_relu" in done.stdout, done.stderr
