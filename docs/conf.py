"""Sphinx configuration for the tinygrad_np documentation (MyST Markdown, furo, autodoc).

Build strictly and offline with ``sphinx-build -W --keep-going -b html docs docs/_build/html``.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

# Import the package from this checkout, whether or not it is installed (CI runs from the repo root).
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")

import tinygrad_np  # noqa: E402

project = "tinygrad_np"
author = "the tinygrad_np developers"
copyright = "the tinygrad_np developers"
release = tinygrad_np.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    # MathJax 3 copied into _static/mathjax: the math typesets offline, with no CDN
    "sphinx-mathjax-offline",
]

source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_scripts", "Thumbs.db", ".DS_Store"]

# MyST: $inline$ and $$display$$ math, ::: fences for directives, anchors for headings.
myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3

# autodoc: every public member, documented or not, in source order; type hints in the signatures
# (most docstrings are one or two lines, so the signature is where the types are).
autodoc_default_options = {"members": True, "undoc-members": True, "member-order": "bysource"}
autodoc_typehints = "signature"
autodoc_typehints_format = "short"
autodoc_preserve_defaults = True
autoclass_content = "class"
napoleon_google_docstring = True
napoleon_numpy_docstring = False

# Everything is local: no intersphinx inventories or other build-time downloads.
nitpicky = False

html_theme = "furo"
html_title = f"tinygrad_np {release}"
html_show_sourcelink = False


# -- docstrings ----------------------------------------------------------------------------------
# The package's docstrings show code examples as indented blocks after a blank line (plain PEP 257
# style, readable in `help()`), e.g. the module docstring of tinygrad_np:
#
#     import tinygrad_np as tg
#     x = tg.Tensor([1.0, 2.0], requires_grad=True)
#
# reStructuredText would read such a block as a block quote (or, with continuation lines, as a broken
# definition list). This hook marks each of them as a literal block, so they render as code.
_STRUCTURAL = ("..", ":", "- ", "* ", "+ ", ">>>", "|")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _literal_blocks(lines: list[str]) -> list[str]:
    """Insert '::' before every indented block that follows a plain paragraph and a blank line."""
    out: list[str] = []
    in_literal_at: int | None = None  # indentation of the paragraph that opened a literal block
    for i, line in enumerate(lines):
        if in_literal_at is not None and line.strip() and _indent(line) <= in_literal_at:
            in_literal_at = None
        if (in_literal_at is None and line.strip() and i >= 2 and not lines[i - 1].strip()
                and out and not out[-1].strip()):
            prev = next((ln for ln in reversed(out) if ln.strip()), "")
            base = _indent(prev)
            if _indent(line) > base and prev.rstrip().endswith("::"):
                in_literal_at = base  # already a literal block: leave it, blank lines included
            elif _indent(line) > base and not prev.lstrip().startswith(_STRUCTURAL):
                out[-1:] = ["", " " * base + "::", ""]
                in_literal_at = base
        out.append(line)
    return out


def _module_indent(what: str, obj: object) -> int:
    """How far a module docstring's lines after the first are indented in the source.

    Sphinx dedents a docstring by the common indentation of its lines after the first, which for a
    module docstring that is a summary line plus an indented example loses the indentation: put it back.
    """
    doc = getattr(obj, "__doc__", None) if what == "module" else None
    if not isinstance(doc, str):
        return 0
    rest = [ln for ln in doc.expandtabs().splitlines()[1:] if ln.strip()]
    return min((_indent(ln) for ln in rest), default=0)


def _process_docstring(app, what, name, obj, options, lines):  # noqa: ANN001 - Sphinx's signature
    shift = _module_indent(what, obj)
    if shift:
        lines[1:] = [" " * shift + ln if ln.strip() else ln for ln in lines[1:]]
    lines[:] = _literal_blocks(lines)


def setup(app):  # noqa: ANN001
    app.connect("autodoc-process-docstring", _process_docstring, priority=600)
