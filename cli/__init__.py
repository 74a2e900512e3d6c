"""The ``toymodels`` command line: the top floor, above the libraries it drives.

One module per subcommand (``<name>_command.py``, each exposing ``register``) and
:mod:`cli.main`, the console script.  Commands parse, run and print; what they compute
comes from ``sweeps``, ``summaries`` and ``figures``, and nothing below imports this
package.
"""
