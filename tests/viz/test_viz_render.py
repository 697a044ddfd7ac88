"""Rendering with the Graphviz binary (SVG, PNG, Jupyter) and the error when it is missing."""
from __future__ import annotations

import shutil

import graphviz
import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np.viz import GraphvizNotFoundError, draw_graph, render_graph, to_dot

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="the Graphviz `dot` binary is not installed")


def _loss():
    w = tg.Tensor(np.random.default_rng(0).standard_normal((3, 2)), requires_grad=True, name="w<{|}>&")
    x = tg.Tensor(np.ones((4, 3)))
    return ((x @ w).relu() ** 2).mean(axis=0).sum(), w


@needs_dot
def test_render_svg_and_png(tmp_path):
    loss, w = _loss()
    loss.backward(retain_graph=True)
    g = draw_graph(loss, params={"w": w}, show_grad=True, show_values=True)
    svg = render_graph(g, tmp_path / "graph.svg")
    text = svg.read_text()
    assert "<svg" in text and "MatMul" in text and "grad norm" in text
    png = render_graph(g, tmp_path / "graph.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the format argument wins over the suffix; roots can be passed directly
    out = render_graph(loss, tmp_path / "other.img", format="svg")
    assert "<svg" in out.read_text()
    # the Digraph's own render works too
    path = g.render(outfile=tmp_path / "own.svg", format="svg", cleanup=True)
    assert "<svg" in (tmp_path / "own.svg").read_text() and str(path).endswith("own.svg")


@needs_dot
def test_labels_with_special_characters_render(tmp_path):
    loss, w = _loss()  # w's name holds < > { } | &
    out = render_graph(draw_graph(loss), tmp_path / "special.svg")
    assert "w&lt;{|}&gt;&amp;" in out.read_text()


@needs_dot
def test_jupyter_display():
    loss, _ = _loss()
    bundle = draw_graph(loss)._repr_mimebundle_()
    assert "<svg" in bundle["image/svg+xml"]


def test_dot_format_needs_no_binary(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "")
    loss, _ = _loss()
    out = render_graph(loss, tmp_path / "g.dot")
    assert out.read_text() == to_dot(loss)


def test_missing_binary_gives_install_instructions(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "")
    loss, _ = _loss()
    g = draw_graph(loss)
    assert "MatMul" in g.source  # building the source needs no binary
    for call in (lambda: render_graph(g, tmp_path / "g.svg"),
                 lambda: render_graph(loss, tmp_path / "g.png"),
                 lambda: g.render(outfile=tmp_path / "h.svg", format="svg"),
                 lambda: g.pipe(format="svg"),
                 lambda: g.view(filename=tmp_path / "v.gv")):
        with pytest.raises(RuntimeError) as info:
            call()
        message = str(info.value)
        assert "apt-get install graphviz" in message and "brew install graphviz" in message
        assert "conda install" in message
        assert isinstance(info.value, GraphvizNotFoundError)
        assert isinstance(info.value, graphviz.ExecutableNotFound)
    assert not (tmp_path / "g.svg").exists()


def test_jupyter_shows_the_dot_source_and_a_note_without_the_binary(monkeypatch):
    monkeypatch.setenv("PATH", "")
    loss, _ = _loss()
    g = draw_graph(loss)
    bundle = g._repr_mimebundle_()
    assert list(bundle) == ["text/plain"]
    assert "apt-get install graphviz" in bundle["text/plain"]
    assert bundle["text/plain"].endswith(g.source)


@needs_dot
def test_jupyter_shows_an_svg_with_the_binary():
    loss, _ = _loss()
    bundle = draw_graph(loss)._repr_mimebundle_()
    assert list(bundle) == ["image/svg+xml"] and "<svg" in bundle["image/svg+xml"]


def test_render_graph_rejects_options_with_a_drawing(tmp_path):
    loss, _ = _loss()
    with pytest.raises(TypeError, match="drawing options"):
        render_graph(draw_graph(loss), tmp_path / "g.dot", show_grad=True)
