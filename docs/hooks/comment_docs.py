"""A griffe extension: ``#:`` comments above an attribute are its docstring.

The plug-in contracts document their class-level declarations (``tasks``, ``estimators``,
``params``, ...) with Sphinx's ``#:`` comments; griffe reads only string docstrings, so
without this the API pages would list the declarations with nothing said about them.
"""

from __future__ import annotations

import griffe


class CommentDocstrings(griffe.Extension):
    def on_attribute_instance(self, *, attr: griffe.Attribute, **kwargs) -> None:
        if attr.docstring is not None or attr.lineno is None:
            return
        lines = attr.parent.module.lines if attr.parent else []
        found = []
        index = attr.lineno - 2  # the line above the attribute, 0-based
        while index >= 0 and lines[index].strip().startswith("#:"):
            found.append(lines[index].strip()[2:].strip())
            index -= 1
        if found:
            attr.docstring = griffe.Docstring(
                "\n".join(reversed(found)), lineno=index + 2, parent=attr
            )
