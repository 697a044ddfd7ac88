"""MNIST end to end on the real data: a short run learns, and the command writes, resumes and evaluates.

The data comes from `load_mnist` (its verified cache, else the sources it knows); if it cannot be
had, these tests fail with the loader's error.
"""
from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest

import tinygrad_np as tg
from tinygrad_np.kernels import threads as thread_pool
from tinygrad_np.data import load_mnist
from tinygrad_np.examples import mnist
from tinygrad_np.examples import mnist_models as mm
from tinygrad_np.serialization import load

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def data():
    x_train, y_train, x_test, y_test = load_mnist()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    return mnist.load_data(None, limit=2000, limit_test=1000)


def test_load_data_shapes(data):
    x_train, y_train, x_test, y_test = data
    assert x_train.shape == (2000, 1, 28, 28) and x_train.dtype == np.float32
    assert x_test.shape == (1000, 1, 28, 28) and y_test.dtype == np.int64
    assert abs(float(x_train.mean())) < 0.1 and abs(float(x_train.std()) - 1) < 0.1  # normalised
    assert set(np.unique(y_train)) == set(range(10))


def test_one_epoch_on_2000_images_learns(data):
    """One epoch of `simple` on 2,000 images takes the test loss far below chance's log(10)."""
    x_train, y_train, x_test, y_test = data
    tg.manual_seed(0)
    settings = {**mnist.DEFAULTS, "model": "simple", "epochs": 1, "batch_size": 32, "lr": 1e-3}
    run = mnist.TrainingRun(settings, x_train, y_train)
    loss0, acc0 = mnist.evaluate("simple", run.params, x_test, y_test)
    assert loss0 == pytest.approx(math.log(10), abs=0.3) and acc0 < 0.3  # an untrained model guesses
    metrics = run.train_epoch()
    loss1, acc1 = mnist.evaluate("simple", run.params, x_test, y_test)
    assert metrics["train_loss"] < loss0 and loss1 < 0.5 * loss0
    assert acc1 > 0.8, f"test accuracy after one epoch on 2,000 images: {acc1:.2%}"
    assert run.scheduler.get_last_lr()[0] == pytest.approx(0.0, abs=1e-12)  # the cosine reached its end
    every = mnist.trace_every(len(run.loader))
    assert run.epoch == 1 and len(run.trace["loss"]) == math.ceil(len(run.loader) / every)


@pytest.mark.parametrize("steps, every", [(1, 1), (16, 1), (63, 6), (200, 20), (469, 20)])
def test_a_short_epoch_still_traces_about_ten_points(steps, every):
    assert mnist.trace_every(steps) == every


def _points(ax):
    return [xy for line in ax.get_lines() for xy in line.get_xydata()]


@pytest.mark.parametrize("epochs, steps", [(1, 16), (5, 469)])
def test_curves_keep_every_point_in_frame(epochs, steps):
    """The quick look (one short epoch) and a full run: every trace and test point lies inside the axes."""
    rng = np.random.default_rng(0)
    every = mnist.trace_every(steps)
    x = [e + min(i + every, steps) / steps for e in range(epochs) for i in range(0, steps, every)]
    accuracy = np.clip(1 - 0.9 * np.exp(-3 * np.asarray(x)) + 0.01 * rng.standard_normal(len(x)), 0, 1)
    trace = {"epoch": x, "loss": list(2.3 * np.exp(-2 * np.asarray(x)) + 0.02), "accuracy": list(accuracy)}
    history = [{"epoch": e + 1, "test_loss": 0.05 + 0.5 / (e + 1), "test_accuracy": 0.956 + 0.006 * e}
               for e in range(epochs)]
    fig = mnist.history_figure(history, trace)
    for ax in fig.axes:
        (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
        assert x0 == 0 and x1 > epochs
        for px, py in _points(ax):
            assert x0 <= px < x1 and y0 < py < y1, (ax.get_title(), px, py, (y0, y1))
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert labels == ["train (running mean)", "test"]
    loss_ax, acc_ax = fig.axes
    assert len(loss_ax.get_lines()[0].get_xydata()) == len(x) >= 10 * epochs  # a curve, not a dot
    assert acc_ax.get_ylim()[0] < 100 * accuracy.min()  # the early, low training accuracy is in frame


def test_evaluate_matches_a_plain_count(data):
    _, _, x_test, y_test = data
    params = mm.init_params("tiny", seed=3)
    x, y = x_test[:250], y_test[:250]
    loss, acc = mnist.evaluate("tiny", params, x, y, batch_size=100)  # uneven last batch
    logits = mm.forward("tiny", params, tg.Tensor(x)).data.astype(np.float64)
    log_probs = logits - logits.max(1, keepdims=True)
    log_probs -= np.log(np.exp(log_probs).sum(1, keepdims=True))
    assert loss == pytest.approx(-log_probs[np.arange(250), y].mean(), rel=1e-5)
    assert acc == np.mean(logits.argmax(1) == y)


def shift_reference(images, max_shift, dy, dx, fill):
    """Each image moved by (max_shift - dy, max_shift - dx) pixels, one image and one pixel at a time."""
    out = np.full_like(images, fill)
    n, c, h, w = images.shape
    for k in range(n):
        for i in range(h):
            for j in range(w):
                si, sj = i + dy[k] - max_shift, j + dx[k] - max_shift
                if 0 <= si < h and 0 <= sj < w:
                    out[k, :, i, j] = images[k, :, si, sj]
    return out


@pytest.mark.parametrize("max_shift", [1, 2, 3])
def test_random_shift_matches_a_pixel_loop(max_shift):
    images = np.random.default_rng(0).standard_normal((6, 2, 9, 7)).astype(np.float32)
    got = mnist.random_shift(images, max_shift, np.random.default_rng(5), fill=-0.5)
    dy, dx = np.random.default_rng(5).integers(0, 2 * max_shift + 1, size=(2, 6))  # the same draws
    assert len(set(zip(dy, dx))) > 1  # the images really get different offsets
    np.testing.assert_array_equal(got, shift_reference(images, max_shift, dy, dx, -0.5))
    assert got.dtype == np.float32 and got.shape == images.shape
    assert mnist.random_shift(images, 0, np.random.default_rng(5), fill=-0.5) is images


def test_background_value_is_a_normalised_blank_pixel(data):
    x_train = data[0]
    assert mnist.background_value() == pytest.approx(float(x_train.min()))
    assert float(x_train[0, 0, 0, 0]) == mnist.background_value()  # MNIST corners are blank


# -- the command ---------------------------------------------------------------------------------
# --shift 2 draws from the library generator every step, so resuming must restore it too
QUICK = ["--model", "tiny", "--limit", "512", "--limit-test", "300", "--batch-size", "64", "--shift", "2"]


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    """One run of the default model on 512 images; its output directory and what it printed."""
    import contextlib
    import io

    out = tmp_path_factory.mktemp("mnist-cli")
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        status = mnist.main(["--limit", "512", "--epochs", "1", "--limit-test", "500", "--out", str(out)])
    assert status == 0
    return out, buffer.getvalue()


def test_cli_writes_checkpoint_metrics_and_png(cli_run):
    out, printed = cli_run
    ckpt = load(out / "checkpoint.npz")
    assert ckpt["epoch"] == 1 and ckpt["settings"]["model"] == "cnn"
    assert ckpt["settings"]["epochs"] == 1 and ckpt["settings"]["limit"] == 512
    assert {k: v.shape for k, v in ckpt["params"].items()} == mm.param_shapes("cnn")
    assert all(v.dtype == np.float32 for v in ckpt["params"].values())
    assert ckpt["optimizer"]["state"] and ckpt["scheduler"]["last_epoch"] == 4  # 512 / 128 steps
    assert set(ckpt["rng"]) >= {"bit_generator", "state"} and ckpt["loader"]["epoch"] == 1

    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["settings"]["model"] == "cnn" and metrics["parameters"] == mm.num_params(mm.init_params("cnn", 0))
    (epoch,) = metrics["epochs"]
    assert epoch["epoch"] == 1 and 0 <= epoch["test_accuracy"] <= 1 and 0 <= epoch["train_accuracy"] <= 1
    assert math.isfinite(epoch["train_loss"]) and math.isfinite(epoch["test_loss"])
    assert epoch["train_seconds"] > 0 and epoch["images_per_second"] > 0
    assert metrics["trace"]["epoch"][-1] == 1.0

    png = (out / "curves.png").read_bytes()
    assert png.startswith(PNG_SIGNATURE)
    import matplotlib.image

    image = matplotlib.image.imread(out / "curves.png")
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100

    assert "batch 128, 1 epoch;" in printed  # one epoch, not "1 epochs"
    assert len(metrics["trace"]["epoch"]) == 4  # 512 / 128 steps: a point per step
    line = f"epoch 1/1: train loss {epoch['train_loss']:.4f}"
    assert line in printed and f"test acc {epoch['test_accuracy']:.2%}" in printed
    for name in ("checkpoint.npz", "metrics.json", "curves.png"):
        assert str(out / name) in printed


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_resume_matches_an_uninterrupted_run_bit_for_bit(optimizer, tmp_path, capsys):
    straight, split = tmp_path / "straight", tmp_path / "split"
    argv = QUICK + ["--optimizer", optimizer, "--epochs", "2"]
    assert mnist.main(argv + ["--out", str(straight)]) == 0
    assert mnist.main(argv + ["--stop-after", "1", "--out", str(split)]) == 0
    halfway = load(split / "checkpoint.npz")
    assert halfway["epoch"] == 1
    tg.manual_seed(12345)  # as in a fresh process: only the checkpoint can bring the generator back
    assert mnist.main(["--resume", str(split / "checkpoint.npz")]) == 0
    a, b = load(straight / "checkpoint.npz"), load(split / "checkpoint.npz")
    assert a["epoch"] == b["epoch"] == 2
    for name in a["params"]:
        np.testing.assert_array_equal(a["params"][name], b["params"][name], err_msg=name)
        assert not np.array_equal(halfway["params"][name], b["params"][name])  # epoch 2 did train
    for index, state in a["optimizer"]["state"].items():
        for key, value in state.items():
            np.testing.assert_array_equal(value, b["optimizer"]["state"][index][key], err_msg=f"{index}.{key}")
    assert a["scheduler"] == b["scheduler"] and a["rng"] == b["rng"]
    strip = [{k: v for k, v in h.items() if "seconds" not in k and "per_second" not in k} for h in a["history"]]
    assert strip == [{k: v for k, v in h.items() if "seconds" not in k and "per_second" not in k}
                     for h in b["history"]]
    assert a["trace"] == b["trace"]
    assert "resuming after epoch 1" in capsys.readouterr().out


def test_threads_train_the_same_model_and_are_given_back(tmp_path, monkeypatch):
    monkeypatch.setattr(thread_pool, "MIN_PARALLEL_BYTES", 0)  # the tiny model's arrays split too
    argv = QUICK + ["--epochs", "1"]
    runs = {}
    previous = tg.get_num_threads()
    for threads in ("1", "2"):
        assert mnist.main(argv + ["--threads", threads, "--out", str(tmp_path / threads)]) == 0
        assert tg.get_num_threads() == previous  # the command restores the caller's setting
        runs[threads] = load(tmp_path / threads / "checkpoint.npz")["params"]
    for name, value in runs["1"].items():  # split sums may differ in their last bits, no more
        np.testing.assert_allclose(runs["2"][name], value, rtol=1e-4, atol=1e-6, err_msg=name)


def test_resume_refuses_different_settings(tmp_path, capsys):
    assert mnist.main(QUICK + ["--epochs", "1", "--limit", "64", "--limit-test", "50", "--out", str(tmp_path)]) == 0
    with pytest.raises(SystemExit) as exc:
        mnist.main(["--resume", str(tmp_path / "checkpoint.npz"), "--model", "cnn", "--lr", "0.01"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--model cnn (the checkpoint has tiny)" in err and "--lr 0.01 (the checkpoint has 0.001)" in err
    # a finished run has nothing left to do, and says so
    assert mnist.main(["--resume", str(tmp_path / "checkpoint.npz")]) == 0
    assert "nothing to do" in capsys.readouterr().out


def test_eval_only_prints_the_checkpoints_accuracy(cli_run, capsys):
    out, _ = cli_run
    metrics = json.loads((out / "metrics.json").read_text())
    assert mnist.main(["--eval-only", str(out / "checkpoint.npz"), "--limit-test", "500"]) == 0
    printed = capsys.readouterr().out
    want = metrics["epochs"][0]["test_accuracy"]
    match = re.search(r"test accuracy (\d+\.\d+)% \((\d+)/500\)", printed)
    assert match, printed
    assert match.group(1) == f"{100 * want:.2f}" and int(match.group(2)) == round(want * 500)


@pytest.mark.parametrize("argv, message", [
    (["--epochs", "0"], "must be a positive integer"),
    (["--threads", "0"], "must be a positive integer"),
    (["--model", "resnet"], "invalid choice"),
    (["--eval-only", "no/such/checkpoint.npz"], "no checkpoint at"),
    (["--resume", "a.npz", "--eval-only", "b.npz"], "not allowed with"),
])
def test_cli_rejects_bad_arguments(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        mnist.main(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err
