"""``python -m cli``: the ``toymodels`` command."""

import sys

from .program import run

sys.exit(run())
