"""Build notebooks/*.ipynb from their plain-text sources in notebooks/_source/ (without outputs).

A source is a Python file in the "percent" format: a line ``# %%`` starts a code cell and a line
``# %% [markdown]`` starts a Markdown cell, whose lines are written as comments (``# text``). IPython
magics are commented out in the source (``# %matplotlib inline``) so that it stays valid Python. The
sources are what gets reviewed and edited; the notebooks are regenerated from them and committed with
no outputs and no execution counts (CI executes them with nbmake).

    python docs/_scripts/build_notebooks.py       # rebuild every notebook
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT / "notebooks" / "_source"
MARKER = "# %%"
MAGIC = "# %"  # a commented-out IPython magic in a code cell

METADATA = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}


def _cells(text: str) -> list[tuple[str, str]]:
    """Split a percent-format source into (cell_type, source) pairs."""
    cells: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith(MARKER):
            kind = "markdown" if line[len(MARKER):].strip() == "[markdown]" else "code"
            cells.append((kind, []))
        elif not cells:
            if line.strip():
                raise ValueError(f"text before the first '{MARKER}' line: {line!r}")
        else:
            cells[-1][1].append(line)
    result = []
    for kind, lines in cells:
        if kind == "markdown":
            bad = [ln for ln in lines if ln and not (ln == "#" or ln.startswith("# "))]
            if bad:
                raise ValueError(f"markdown cell lines must start with '# ': {bad[0]!r}")
            lines = [ln[2:] for ln in lines]
        else:
            lines = [ln[2:] if ln.startswith(MAGIC) else ln for ln in lines]
        while lines and not lines[-1].strip():
            lines.pop()
        while lines and not lines[0].strip():
            lines.pop(0)
        result.append((kind, "\n".join(lines)))
    return result


def render(source: Path) -> str:
    """The .ipynb text (nbformat 4.5, stable cell ids, no outputs) for one source file."""
    cells = []
    for i, (kind, text) in enumerate(_cells(source.read_text(encoding="utf-8"))):
        lines = text.splitlines(keepends=True)
        cell: dict[str, object] = {"cell_type": kind, "id": f"cell-{i:02d}", "metadata": {}, "source": lines}
        if kind == "code":
            cell["execution_count"] = None
            cell["outputs"] = []
        cells.append(cell)
    notebook = {"cells": cells, "metadata": METADATA, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


def main() -> None:
    sources = sorted(SOURCES.glob("*.py"))
    if not sources:
        sys.exit(f"no sources in {SOURCES}")
    for source in sources:
        target = ROOT / "notebooks" / (source.stem + ".ipynb")
        target.write_text(render(source), encoding="utf-8")
        print(f"wrote {target.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
