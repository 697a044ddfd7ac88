"""The documentation builds strictly, covers the API, its code examples run, and the notebooks are committed clean.

- The Sphinx build runs with ``-W --keep-going``: any warning (a broken cross-reference, a docstring
  autodoc cannot parse, a missing figure) fails it, and the whole output is shown. Every public name
  of the documented modules (and every public method of their classes) must appear in docs/api/.
- Every ```` ```python ```` block of a page runs, top to bottom in one namespace per page, in a
  temporary directory. Fragments that are not meant to run on their own are written as
  ```` ```{code-block} python ```` instead, which renders the same and is not executed here.
- Notebooks are committed without outputs and match their sources in ``notebooks/_source/`` (they are
  executed by nbmake, see the pytest configuration).
- The figures in docs/figures/ are exactly those docs/_scripts/make_figures.py makes, and the script
  still runs against the current library.
"""
from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
import io
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
NOTEBOOKS = ROOT / "notebooks"
PAGES = sorted(p for p in DOCS.rglob("*.md") if "_build" not in p.parts)
PYTHON_BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


API_MODULES = ["tinygrad_np", "tinygrad_np.functional", "tinygrad_np.nn", "tinygrad_np.nn.init", "tinygrad_np.optim",
               "tinygrad_np.optim.lr_scheduler", "tinygrad_np.data", "tinygrad_np.viz", "tinygrad_np.gradcheck",
               "tinygrad_np.serialization"]


@pytest.fixture(scope="module")
def sphinx_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Build the HTML docs once for this module: the finished process and the output folder."""
    out = tmp_path_factory.mktemp("docs") / "html"
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", str(DOCS), str(out)]
    env = dict(os.environ, MPLBACKEND="Agg")
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env), out


def test_sphinx_build_has_no_warnings(sphinx_build: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    proc, out = sphinx_build
    if proc.returncode != 0:
        print(proc.stdout[-3000:])
        print(proc.stderr)
    assert proc.returncode == 0, f"sphinx-build failed (rc={proc.returncode}); its warnings:\n{proc.stderr[-5000:]}"
    assert (out / "index.html").exists() and (out / "api" / "index.html").exists()


def test_pages_load_no_script_from_the_network(sphinx_build: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    """The math typesets offline: every script (MathJax included) is served from the built site."""
    _, out = sphinx_build
    remote, mathjax = [], []
    for page in out.rglob("*.html"):
        for src in re.findall(r'<script[^>]*\bsrc="([^"]+)"', page.read_text(encoding="utf-8")):
            if re.match(r"(?i)(https?:)?//", src):
                remote.append(f"{page.relative_to(out)}: {src}")
            elif "mathjax" in src:
                mathjax.append((page, src))
    assert not remote, "pages load scripts from the network:\n" + "\n".join(remote)
    assert any(p.name == "new-op.html" for p, _ in mathjax), "the math pages do not load MathJax"
    for page, src in mathjax:
        assert (page.parent / src).resolve().is_file(), f"{page.relative_to(out)} loads {src}, which is missing"


def test_notebooks_page_links_every_notebook(sphinx_build: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    _, out = sphinx_build
    page = (out / "notebooks.html").read_text(encoding="utf-8")
    for notebook in sorted(NOTEBOOKS.glob("*.ipynb")):
        links = re.findall(rf'href="(_downloads/[^"]*/{re.escape(notebook.name)})"', page)
        assert links, f"docs/notebooks.md does not link {notebook.name}"
        assert (out / links[0]).read_bytes() == notebook.read_bytes()


def _public_names(module: object) -> list[str]:
    """A module's public API: its __all__, or else its public attributes that come from tinygrad_np."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in dir(module) if not n.startswith("_")
                 and getattr(getattr(module, n), "__module__", "tinygrad_np").startswith("tinygrad_np")]
    return [n for n in names if not inspect.ismodule(getattr(module, n))]


def _public_members(cls: type) -> list[str]:
    """The public methods and properties a class defines itself (inherited ones are documented on the base)."""
    return [n for n, v in vars(cls).items() if not n.startswith("_")
            and (callable(v) or isinstance(v, (property, staticmethod, classmethod)))]


def test_every_public_name_is_documented(sphinx_build: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    _, out = sphinx_build
    pages = "".join(p.read_text(encoding="utf-8") for p in (out / "api").glob("*.html"))
    documented = set(re.findall(r'id="(tinygrad_np[\w.]*)"', pages))
    missing = []
    for name in API_MODULES:
        module = importlib.import_module(name)
        for attr in _public_names(module):
            obj = getattr(module, attr)
            found = {f"{name}.{attr}", f"{getattr(obj, '__module__', None)}.{attr}"} & documented
            if not found:
                missing.append(f"{name}.{attr}")
            elif inspect.isclass(obj):
                prefix = found.pop()
                missing += [f"{prefix}.{m}" for m in _public_members(obj) if f"{prefix}.{m}" not in documented]
    assert not missing, f"public names missing from the API reference (docs/api/): {', '.join(missing)}"


def test_indented_docstring_examples_become_literal_blocks() -> None:
    literal_blocks = _load_script("conf")._literal_blocks
    doc = ["Summary.", "", "    x = f(1,", "          2)", "", "    y = x", "", "After."]
    assert literal_blocks(doc) == ["Summary.", "", "::", "", "    x = f(1,", "          2)", "", "    y = x", "",
                                   "After."]
    already = ["Example::", "", "    a = 1", "", "        b = 2", "", "Done."]
    assert literal_blocks(already) == already
    structured = [":param x: the input", "", "    more about x", "- item", "", "  - nested item", ">>> 1 + 1", "2"]
    assert literal_blocks(structured) == structured


def _page_id(page: Path) -> str:
    return page.relative_to(DOCS).as_posix()


def test_pages_were_found() -> None:
    assert len(PAGES) >= 10, f"expected the documentation pages under {DOCS}, found {len(PAGES)}"


@pytest.mark.parametrize("page", [p for p in PAGES if PYTHON_BLOCK.search(p.read_text(encoding="utf-8"))],
                         ids=_page_id)
def test_page_examples_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run a page's ```python blocks in order, as a reader would paste them."""
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__docs__"}
    text = page.read_text(encoding="utf-8")
    for i, match in enumerate(PYTHON_BLOCK.finditer(text)):
        source = match.group(1)
        line = text[: match.start()].count("\n") + 2
        code = compile("\n" * (line - 1) + source, str(page), "exec")
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                exec(code, namespace)  # noqa: S102 - the documentation's own examples
            except Exception as exc:
                raise AssertionError(f"{_page_id(page)}: code block {i + 1} (line {line}) raised "
                                     f"{type(exc).__name__}: {exc}") from exc


def _load_script(relative: str) -> ModuleType:
    """Import a Python file of docs/ by its path (e.g. "_scripts/make_figures") without touching sys.path."""
    spec = importlib.util.spec_from_file_location("docs_" + relative.replace("/", "_"), DOCS / f"{relative}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def test_notebooks_exist() -> None:
    names = [p.name for p in _notebooks()]
    assert names == ["01_autograd_basics.ipynb", "02_mnist_cnn.ipynb", "03_custom_op_gradcheck.ipynb",
                     "04_visualize_graphs.ipynb", "05_experiments.ipynb"], names


@pytest.mark.parametrize("notebook", _notebooks(), ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs(notebook: Path) -> None:
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"{notebook.name}: cell {i} has committed outputs; strip them"
            assert cell["execution_count"] is None, f"{notebook.name}: cell {i} has an execution count"


@pytest.mark.parametrize("notebook", _notebooks(), ids=lambda p: p.name)
def test_notebook_matches_its_source(notebook: Path) -> None:
    build_notebooks = _load_script("_scripts/build_notebooks")
    source = NOTEBOOKS / "_source" / (notebook.stem + ".py")
    assert source.exists(), f"{notebook.name} has no source {source.relative_to(ROOT)}"
    expected = build_notebooks.render(source)
    assert notebook.read_text(encoding="utf-8") == expected, (
        f"{notebook.name} differs from {source.relative_to(ROOT)}: edit the source and run "
        f"`python docs/_scripts/build_notebooks.py`")


def test_figures_are_generated_by_the_script_and_all_used() -> None:
    figures = _load_script("_scripts/make_figures").FIGURES
    referenced = set(re.findall(r"/figures/([\w.-]+)", "".join(p.read_text(encoding="utf-8") for p in PAGES)))
    committed = {p.name for p in (DOCS / "figures").iterdir()}
    assert referenced == set(figures) == committed, (referenced, set(figures), committed)


def test_figure_script_runs_against_the_current_library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Regenerate every figure into a temporary folder (DOT text for graphviz figures if `dot` is missing)."""
    module = _load_script("_scripts/make_figures")
    if shutil.which("dot") is None:
        monkeypatch.setattr(module, "write_dot", lambda graph, path: path.write_text(graph.source))
    for name, make in module.FIGURES.items():
        make(tmp_path / name)
        text = (tmp_path / name).read_text(encoding="utf-8")
        assert text.strip(), name
        if text.lstrip().startswith("<"):
            ET.fromstring(text.encode("utf-8"))  # well-formed SVG
