"""Writes docs/api/<ClassName>.md, one page per public class, from its docstring.

The HTML repr's "?" link of each class points at its page (skkeras_prep/_html_repr.py), and
scikit-learn's per-parameter links find the parameter's "name : type" line there, so the page
holds the docstring as it is. Run after changing a public docstring:

    python docs/api/regenerate.py

tests/test_html_repr.py fails while a page differs from what this script writes.
"""

import importlib
import inspect
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from skkeras_prep._html_repr import DOCUMENTED  # noqa: E402


def page(name):
    cls = getattr(importlib.import_module(DOCUMENTED[name]), name)
    public = "skkeras_prep.models" if DOCUMENTED[name] == "skkeras_prep.models" else "skkeras_prep"
    return (
        f"# {name}\n\n"
        f"`from {public} import {name}`\n\n"
        "(Written by `docs/api/regenerate.py` from the docstring; edit the docstring, not this "
        "page.)\n\n"
        f"```text\n{inspect.cleandoc(cls.__doc__)}\n```\n"
    )


def main():
    for name in DOCUMENTED:
        (HERE / f"{name}.md").write_text(page(name))


if __name__ == "__main__":
    main()
