"""`python -m tinygrad_np.examples.mnist_graph --mnist`: the MNIST loss graph, written as DOT, SVG or PNG."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tinygrad_np.examples.mnist_graph import main
from tests.viz.dot_parse import parse

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="the Graphviz `dot` binary is not installed")
ROOT = Path(__file__).resolve().parents[2]


def test_requires_a_source(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--model", "tiny"])
    assert info.value.code == 2 and "pass --mnist" in capsys.readouterr().err


@pytest.mark.parametrize("model, convs, params", [("tiny", 1, 4), ("simple", 1, 6), ("cnn", 2, 8)])
def test_mnist_dot_has_the_model_ops_and_parameter_names(tmp_path, model, convs, params, capsys):
    out = tmp_path / "graph.dot"
    assert main(["--mnist", "--model", model, "--out", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    dot = parse(out.read_text())
    titles = [label.split("\n")[0] for label in dot.labels.values()]
    assert sum(t == "Conv2d" for t in titles) == convs
    assert sum(t.endswith(".weight") or t.endswith(".bias") for t in titles) == params
    assert titles.count("images") == 1 and dot.labels[dot.titled("images")].endswith("(2, 1, 28, 28) float32")
    assert dot.titled("CrossEntropy")
    assert any("loss" in label for label in dot.labels.values())


def test_show_grad_and_summary(tmp_path, capsys):
    out = tmp_path / "g.dot"
    assert main(["--mnist", "--model", "tiny", "--out", str(out), "--show-grad", "--summary"]) == 0
    printed = capsys.readouterr().out
    assert "Total parameters:" in printed and "Total FLOPs" in printed
    text = out.read_text()
    assert text.count("grad norm") >= 4  # every parameter shows its gradient norm


def test_missing_binary_exit_status(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", "")
    assert main(["--mnist", "--model", "tiny", "--out", str(tmp_path / "g.svg")]) == 1
    err = capsys.readouterr().err
    assert "apt-get install graphviz" in err and "--format dot" in err


@needs_dot
def test_module_command_renders_svg_and_png(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for name in ("graph.svg", "graph.png"):
        out = tmp_path / name
        done = subprocess.run([sys.executable, "-m", "tinygrad_np.examples.mnist_graph", "--mnist", "--model", "tiny",
                               "--out", str(out)], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr
        data = out.read_bytes()
        assert data.startswith(b"\x89PNG") if name.endswith(".png") else b"<svg" in data
    out = tmp_path / "forced"
    done = subprocess.run([sys.executable, "-m", "tinygrad_np.examples.mnist_graph", "--mnist", "--model", "tiny",
                           "--out", str(out), "--format", "svg"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert b"<svg" in out.read_bytes()


def test_the_viz_module_points_to_the_command():
    done = subprocess.run([sys.executable, "-m", "tinygrad_np.viz", "--mnist"], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert done.returncode == 2 and "python -m tinygrad_np.examples.mnist_graph --mnist" in done.stderr
