"""``python -m cli``: the ``toymodels`` command."""

import sys

from .main import main

sys.exit(main())
