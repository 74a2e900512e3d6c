"""The two symbols every closed form is written in.

``p`` is the feature density (probability that a feature is non-zero, ``p = 1 - S``) and
``r`` the relative importance of the extra feature (paper, "Superposition as a Phase
Change").  Both carry ``positive=True`` so that simplification may use it; ``p <= 1`` is
not an assumption sympy can hold, so code that needs it (piecewise results) restricts to
``0 < p <= 1`` itself.
"""

import sympy

p = sympy.Symbol("p", positive=True)
r = sympy.Symbol("r", positive=True)

SYMBOLS = {"p": p, "r": r}
