"""A catalog of misuses and the error each must raise, shared by the tests and `print_messages.py`.

Every entry triggers one mistake a user can make and states the exception type and a regex that
the message must match: the op's name, the shapes or dtypes involved, and what was expected.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import tinygrad_np as tg
from tinygrad_np.errors import GraphError, InplaceModificationError, ShapeError


@dataclass(frozen=True)
class Misuse:
    """One mistake: `trigger(tmp_dir)` must raise `error` with a message matching `match`."""

    name: str
    trigger: Callable[[Path], Any]
    error: type[BaseException]
    match: str

    @property
    def pattern(self) -> str:
        """The regex for `pytest.raises(match=...)`; `.` also matches newlines (multi-line messages)."""
        return f"(?s){self.match}"

    def matches(self, exc: BaseException) -> bool:
        return re.search(self.pattern, str(exc)) is not None


def _leaf(*shape: int) -> tg.Tensor:
    return tg.Tensor(np.arange(1.0, 1.0 + np.prod(shape, dtype=int)).reshape(shape), requires_grad=True)


def _const(*shape: int) -> tg.Tensor:
    return tg.Tensor(np.ones(shape))


# -- the engine: shapes ----------------------------------------------------------------------------
def _matmul_inner(_: Path) -> Any:
    return _leaf(2, 3) @ _const(4, 2)


def _matmul_batch(_: Path) -> Any:
    return _leaf(2, 2, 3) @ _const(3, 3, 4)


def _reshape_count(_: Path) -> Any:
    return _leaf(2, 3).reshape(4, 2)


def _reshape_infer(_: Path) -> Any:
    return _leaf(2, 3).reshape(4, -1)


# -- the engine: backward --------------------------------------------------------------------------
def _backward_non_scalar(_: Path) -> None:
    (_leaf(2, 3) * 2.0).backward()


def _backward_wrong_grad(_: Path) -> None:
    (_leaf(2, 3) * 2.0).backward(np.ones((3, 2)))


def _backward_twice(_: Path) -> None:
    x = _leaf(3)
    loss = (x * x).sum()
    loss.backward()
    loss.backward()


def _backward_no_grad_tensor(_: Path) -> None:
    (_const(2, 2) * 3.0).sum().backward()


def _backward_under_no_grad(_: Path) -> None:
    x = _leaf(2, 2)
    with tg.no_grad():
        loss = (x * 3.0).sum()
    loss.backward()


def _int_requires_grad(_: Path) -> Any:
    return tg.Tensor(np.array([1, 2, 3]), requires_grad=True)


def _int_requires_grad_method(_: Path) -> Any:
    return tg.Tensor(np.zeros((2, 2), dtype=np.int32)).requires_grad_()


def _inplace_saved_input(_: Path) -> None:
    x = _leaf(3)
    w = tg.Tensor(np.array([1.0, 2.0, 3.0]))
    loss = (x * w).sum()  # Mul saves w for x's gradient
    w += 1.0
    loss.backward()


def _inplace_saved_output(_: Path) -> None:
    x = _leaf(2, 2)
    y = x.tanh()  # Tanh saves its output
    loss = y.sum()
    with tg.no_grad():
        y.mul_(2.0)
    loss.backward()


def _inplace_leaf_in_grad_mode(_: Path) -> None:
    w = _leaf(3)
    w -= 0.1


def _inplace_wrong_shape(_: Path) -> None:
    w = _leaf(3)
    with tg.no_grad():
        w.add_(np.ones((2, 3)))


def _inplace_wrong_dtype(_: Path) -> None:
    counts = tg.Tensor(np.arange(3))
    counts += 0.5


def _grad_unused_input(_: Path) -> Any:
    x, y = _leaf(2), _leaf(3)
    return tg.grad((x * 2.0).sum(), [x, y])


ENGINE: list[Misuse] = [
    Misuse("add: shapes (2,3) + (4,) do not broadcast", lambda _: _leaf(2, 3) + _const(4), ShapeError,
           r"Add: input shapes \(2, 3\), \(4,\) cannot be broadcast together: .*equal lengths or "
           r"length 1, but axis -1 has lengths 3 vs 4"),
    Misuse("mul: shapes (5,1,3) * (2,4,3) clash on a leading axis", lambda _: _leaf(5, 1, 3) * _const(2, 4, 3),
           ShapeError, r"Mul: input shapes \(5, 1, 3\), \(2, 4, 3\) cannot be broadcast .*axis -3 has "
           r"lengths 2 vs 5"),
    Misuse("where: branches (3,) and (2,) do not broadcast",
           lambda _: tg.where(np.array([True, False, True]), _leaf(3), _const(2)), ShapeError,
           r"Where: input shapes \(3,\), \(3,\), \(2,\) cannot be broadcast .*axis -1 has lengths 2 vs 3"),
    Misuse("matmul: inner lengths differ (2,3) @ (4,2)", _matmul_inner, ShapeError,
           r"matmul: shapes \(2, 3\) and \(4, 2\) do not fit: the last axis of a \(3\) must equal the "
           r"second-to-last axis of b \(4\)"),
    Misuse("matmul: batch axes clash (2,2,3) @ (3,3,4)", _matmul_batch, ShapeError,
           r"matmul: the batch axes .* of shapes \(2, 2, 3\) and \(3, 3, 4\) cannot be broadcast together: "
           r"\(2,\) vs \(3,\); .*equal lengths or length 1"),
    Misuse("matmul: a 0-d operand", lambda _: _leaf(3) @ tg.Tensor(np.array(2.0)), ShapeError,
           r"matmul: both operands need at least 1 dimension; got shapes \(3,\) and \(\)"),
    Misuse("reshape: 6 elements into (4, 2)", _reshape_count, ShapeError,
           r"reshape: cannot reshape a tensor of shape \(2, 3\) \(6 elements\) into shape \(4, 2\) "
           r"\(8 elements\): the number of elements must stay the same"),
    Misuse("reshape: -1 cannot be inferred (2,3) -> (4,-1)", _reshape_infer, ShapeError,
           r"reshape: cannot reshape a tensor of shape \(2, 3\) .* into shape \(4, -1\): the other lengths "
           r"multiply to 4, which does not divide 6"),
    Misuse("reshape: a negative length other than -1", lambda _: _leaf(2, 3).reshape(2, -3), ShapeError,
           r"reshape: cannot reshape a tensor of shape \(2, 3\) .* into shape \(2, -3\): lengths must be >= 0"),
    Misuse("Tensor of strings", lambda _: tg.Tensor(["a", "b"]), TypeError,
           r"Tensor: data must be numbers or booleans, got dtype <U1 \(shape \(2,\)\)"),
    Misuse("clip with lo > hi", lambda _: _leaf(3).clip(2.0, 1.0), ValueError,
           r"clip: lo \(2.0\) must be <= hi \(1.0\) \(input shape \(3,\)\)"),
    Misuse("var with ddof >= the element count", lambda _: _leaf(3).var(ddof=3), ShapeError,
           r"var: ddof=3 leaves no degrees of freedom for 3 element\(s\) .*expected ddof < 3"),
    Misuse("sum: axis 2 of a (2,3) tensor", lambda _: _leaf(2, 3).sum(axis=2), ShapeError,
           r"sum: axis 2 is out of range for a tensor of shape \(2, 3\) .*expected an axis in \[-2, 1\]"),
    Misuse("mean: axis -3 of a (2,3) tensor", lambda _: _leaf(2, 3).mean(axis=-3), ShapeError,
           r"mean: axis -3 is out of range for a tensor of shape \(2, 3\) .*expected an axis in \[-2, 1\]"),
    Misuse("max: axis 4 of a (2,3,4) tensor", lambda _: _leaf(2, 3, 4).max(axis=(0, 4)), ShapeError,
           r"max: axis 4 is out of range for a tensor of shape \(2, 3, 4\) .*expected an axis in \[-3, 2\]"),
    Misuse("sum: repeated axis", lambda _: _leaf(2, 3).sum(axis=(1, -1)), ShapeError,
           r"sum: repeated axis in \(1, -1\) for a tensor of shape \(2, 3\); each axis may appear once"),
    Misuse("transpose: axis 2 of a (2,3) tensor", lambda _: _leaf(2, 3).transpose(0, 2), ShapeError,
           r"transpose: axis 2 is out of range for a tensor of shape \(2, 3\) .*expected an axis in \[-2, 1\]"),
    Misuse("transpose: axes that are not a permutation", lambda _: _leaf(2, 3).transpose(1, 1), ShapeError,
           r"transpose: axes \(1, 1\) are not a permutation of the 2 axes of shape \(2, 3\)"),
    Misuse("concatenate: axis 2 of (2,3) tensors", lambda _: tg.concatenate([_leaf(2, 3), _leaf(2, 3)], axis=2),
           ShapeError, r"concatenate: axis 2 is out of range for a tensor of shape \(2, 3\) .*expected an axis "
           r"in \[-2, 1\]"),
    Misuse("concatenate: shapes differ off the axis",
           lambda _: tg.concatenate([_leaf(2, 3), _leaf(3, 2)], axis=0), ShapeError,
           r"concatenate: all shapes must match except on axis 0; got \(2, 3\), \(3, 2\)"),
    Misuse("stack: axis 3 for (2,3) tensors", lambda _: tg.stack([_leaf(2, 3), _leaf(2, 3)], axis=3), ShapeError,
           r"stack: axis 3 is out of range for inputs of shape \(2, 3\) \(the result has 3 dimension\(s\)\); "
           r"expected an axis in \[-3, 2\]"),
    Misuse("stack: shapes differ", lambda _: tg.stack([_leaf(2, 3), _leaf(3, 2)]), ShapeError,
           r"stack: all tensors must have the same shape; got \(2, 3\), \(3, 2\)"),
    Misuse("backward() on a non-scalar without grad", _backward_non_scalar, GraphError,
           r"backward: the output has shape \(2, 3\), so a gradient must be passed: .*single-element .*"
           r"grad of shape \(2, 3\)"),
    Misuse("backward(grad) with a grad of the wrong shape", _backward_wrong_grad, GraphError,
           r"backward: the gradient has shape \(3, 2\) but the output has shape \(2, 3\); they must match"),
    Misuse("a second backward through a freed graph", _backward_twice, GraphError,
           r"Sum: trying to backward through the graph a second time; its saved values were freed .*"
           r"retain_graph=True"),
    Misuse("backward on a tensor that does not require grad", _backward_no_grad_tensor, GraphError,
           r"backward: the tensor \(shape \(\)\) does not require grad and has no grad_fn: no input .*"
           r"requires_grad=True"),
    Misuse("backward on a result computed under no_grad", _backward_under_no_grad, GraphError,
           r"backward: the tensor \(shape \(\)\) does not require grad .*computed under no_grad"),
    Misuse("requires_grad=True on an int64 tensor", _int_requires_grad, TypeError,
           r"Tensor: only floating-point tensors can require gradients, but this one has dtype int64 "
           r"\(shape \(3,\)\)"),
    Misuse("requires_grad_() on an int32 tensor", _int_requires_grad_method, TypeError,
           r"only floating-point tensors can require gradients, but this one has dtype int32 \(shape \(2, 2\)\)"),
    Misuse("in-place change of an input saved by Mul", _inplace_saved_input, InplaceModificationError,
           r"Mul: one of the tensors needed for its gradient \(an input, shape \(3,\), dtype float64\) was "
           r"modified by an in-place operation: it was saved at version 0 and is now at version 1"),
    Misuse("in-place change of the output saved by Tanh", _inplace_saved_output, InplaceModificationError,
           r"Tanh: one of the tensors needed for its gradient \(its output, shape \(2, 2\), dtype float64\) "
           r"was modified by an in-place operation"),
    Misuse("in-place update of a leaf that requires grad, outside no_grad", _inplace_leaf_in_grad_mode,
           GraphError, r"sub_: in-place operation on a leaf that requires grad \(shape \(3,\)\) while grad "
           r"mode is on\. Wrap it in `with tg\.no_grad\(\):`"),
    Misuse("in-place add_ of a (2,3) value into a (3,) tensor", _inplace_wrong_shape, ShapeError,
           r"add_: cannot update a tensor of shape \(3,\) in place with a value of shape \(2, 3\): the value "
           r"must broadcast to \(3,\)"),
    Misuse("in-place += 0.5 on an int64 tensor", _inplace_wrong_dtype, TypeError,
           r"add_: cannot update a tensor of dtype int64 \(shape \(3,\)\) in place with a value of dtype "
           r"float64: the result cannot be stored as int64"),
    Misuse("if tensor: on a (2,3) tensor", lambda _: bool(_leaf(2, 3)), ValueError,
           r"bool: the truth value of a tensor with 6 elements \(shape \(2, 3\)\) is ambiguous; use a "
           r"one-element tensor, or reduce first"),
    Misuse("pad: a width triple for a 2-D tensor", lambda _: _leaf(2, 3).pad(((0, 1, 2),)), ShapeError,
           r"pad: pad_width \[\[0, 1, 2\]\] does not fit a tensor of shape \(2, 3\): expected one \(before, "
           r"after\) pair per axis \(2 pairs\)"),
    Misuse("concatenate: an empty list", lambda _: tg.concatenate([]), ShapeError,
           r"concatenate: got an empty sequence; expected at least one tensor"),
    Misuse("max: of a tensor with no elements", lambda _: tg.Tensor(np.ones((0, 3))).max(), ShapeError,
           r"max: cannot reduce over axis 0 of length 0 \(shape \(0, 3\), axis=None\)"),
    Misuse("tg.grad w.r.t. an ndarray", lambda _: tg.grad((_leaf(3) * 2.0).sum(), [np.ones(3)]), TypeError,
           r"grad: input 0 must be a Tensor, got ndarray"),
    Misuse("tg.grad w.r.t. an input that was not used", _grad_unused_input, GraphError,
           r"grad: input 1 \(shape \(3,\)\) was not used to compute the outputs; pass allow_unused=True"),
]


# -- layers: convolution, pooling, softmax, cross-entropy --------------------------------------------
def _images(*shape: int) -> tg.Tensor:
    return tg.Tensor(np.ones(shape, dtype=np.float32), requires_grad=True)


def _conv(x_shape: tuple[int, ...], w_shape: tuple[int, ...], **kwargs: Any) -> Callable[[Path], Any]:
    def trigger(_: Path) -> Any:
        import tinygrad_np.functional as F

        return F.conv2d(_images(*x_shape), _images(*w_shape), **kwargs)

    return trigger


def _softmax(axis: int) -> Callable[[Path], Any]:
    def trigger(_: Path) -> Any:
        import tinygrad_np.functional as F

        return F.softmax(_leaf(2, 3), axis=axis)

    return trigger


def _pool(x_shape: tuple[int, ...], kernel: int) -> Callable[[Path], Any]:
    def trigger(_: Path) -> Any:
        import tinygrad_np.functional as F

        return F.max_pool2d(_images(*x_shape), kernel)

    return trigger


def _cross_entropy(labels: np.ndarray) -> Callable[[Path], Any]:
    def trigger(_: Path) -> Any:
        import tinygrad_np.functional as F

        return F.cross_entropy(_images(4, 10), labels)

    return trigger


LAYERS: list[Misuse] = [
    Misuse("conv2d: input channels (3) differ from the weight's (2)", _conv((2, 3, 5, 5), (4, 2, 3, 3)), ShapeError,
           r"conv2d: input has 3 channels but weight expects 2 \(weight shape \(4, 2, 3, 3\), groups=1\)"),
    Misuse("conv2d: a 7x7 kernel on a 5x5 input without padding", _conv((2, 3, 5, 5), (4, 3, 7, 7)), ShapeError,
           r"conv2d: kernel \(7, 7\), larger than the padded input \(5, 5\) \(input shape \(2, 3, 5, 5\), "
           r"padding \(0, 0\)\); expected a padded input at least as large as the kernel"),
    Misuse("conv2d: an 8x8 kernel on a 5x5 input padded by 1", _conv((2, 3, 5, 5), (4, 3, 8, 8), padding=1),
           ShapeError, r"conv2d: kernel \(8, 8\), larger than the padded input \(7, 7\) \(input shape "
           r"\(2, 3, 5, 5\), padding \(1, 1\)\)"),
    Misuse("conv2d: stride 0", _conv((2, 3, 5, 5), (4, 3, 3, 3), stride=0), ShapeError,
           r"conv2d: stride must be >= 1, got \(0, 0\)"),
    Misuse("conv2d: a 3-D weight", _conv((2, 3, 5, 5), (4, 3, 3)), ShapeError,
           r"conv2d: expected a 4-D weight \(C_out, C_in/groups, KH, KW\), got shape \(4, 3, 3\)"),
    Misuse("conv2d: a 3-D input", _conv((3, 5, 5), (4, 3, 3, 3)), ShapeError,
           r"conv2d: expected a 4-D input \(N, C, H, W\), got shape \(3, 5, 5\)"),
    Misuse("softmax: axis 2 of a (2,3) tensor", _softmax(2), ShapeError,
           r"softmax: axis 2 is out of range for a tensor of shape \(2, 3\) .*expected an axis in \[-2, 1\]"),
    Misuse("max_pool2d: a 5x5 window on a 3x3 image", _pool((1, 1, 3, 3), 5), ShapeError,
           r"max_pool2d: kernel \(5, 5\), larger than the padded input \(3, 3\) \(input shape \(1, 1, 3, 3\)"),
    Misuse("cross_entropy: float labels", _cross_entropy(np.array([1.0, 2.0, 3.0, 4.0])), TypeError,
           r"cross_entropy: target must hold integer class indices, got float64 \(convert labels with "
           r"\.astype\(np\.int64\)\)"),
    Misuse("cross_entropy: label 10 with 10 classes", _cross_entropy(np.array([1, 2, 10, 4])), ValueError,
           r"cross_entropy: target 10 at position 2 is out of range for 10 classes \(labels must be in 0\.\.9\)"),
    Misuse("cross_entropy: label -1", _cross_entropy(np.array([1, -1, 3, 4])), ValueError,
           r"cross_entropy: target -1 at position 1 is out of range for 10 classes"),
    Misuse("cross_entropy: 3 labels for a batch of 4", _cross_entropy(np.array([1, 2, 3])), ShapeError,
           r"cross_entropy: logits have batch size 4 but target has 3 \(logits shape \(4, 10\), target shape "
           r"\(3,\)\)"),
]


# -- checkpoints -----------------------------------------------------------------------------------
def _small_model() -> Any:
    from tinygrad_np import nn

    return nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))


def _saved(tmp: Path) -> Path:
    from tinygrad_np.serialization import save

    path = tmp / "model.npz"
    save(_small_model().state_dict(), path)
    return path


def _load_truncated(tmp: Path) -> Any:
    from tinygrad_np.serialization import load

    path = _saved(tmp)
    data = path.read_bytes()
    (tmp / "truncated.npz").write_bytes(data[: len(data) * 2 // 3])
    return load(tmp / "truncated.npz")


def _load_tampered(tmp: Path) -> Any:
    """Change one stored weight and re-zip, so the archive itself is valid: only the checksum knows."""
    import zipfile

    from tinygrad_np.serialization import load

    path = _saved(tmp)
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp / "tampered.npz", "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "a1.npy":
                data = data[:-4] + bytes(4)
            dst.writestr(item, data)
    return load(tmp / "tampered.npz")


def _load_flipped_byte(tmp: Path) -> Any:
    """Flip one byte of an array inside the archive: the zip's own CRC catches it."""
    import zipfile

    from tinygrad_np.serialization import load

    path = _saved(tmp)
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("a0.npy")
    data = bytearray(path.read_bytes())
    data[info.header_offset + 30 + len(info.filename) + len(info.extra) + info.file_size - 1] ^= 0xFF
    (tmp / "flipped.npz").write_bytes(bytes(data))
    return load(tmp / "flipped.npz")


def _load_foreign(tmp: Path) -> Any:
    from tinygrad_np.serialization import load

    np.savez(tmp / "foreign.npz", weights=np.ones(3))
    return load(tmp / "foreign.npz")


def _load_wrong_shapes(tmp: Path) -> Any:
    from tinygrad_np import nn
    from tinygrad_np.serialization import load

    wider = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 2))
    return wider.load_state_dict(load(_saved(tmp)))


def _load_missing_keys(tmp: Path) -> Any:
    from tinygrad_np import nn
    from tinygrad_np.serialization import load

    deeper = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2), nn.Linear(2, 2))
    return deeper.load_state_dict(load(_saved(tmp)))


def _load_unexpected_keys(tmp: Path) -> Any:
    from tinygrad_np import nn
    from tinygrad_np.serialization import load

    return nn.Sequential(nn.Linear(4, 3)).load_state_dict(load(_saved(tmp)))


def _checkpoint_error() -> type[BaseException]:
    from tinygrad_np.serialization import CheckpointError

    return CheckpointError


def _state_dict_error() -> type[BaseException]:
    from tinygrad_np.nn import StateDictError

    return StateDictError


CHECKPOINTS: list[Misuse] = [
    Misuse("load: a truncated checkpoint", _load_truncated, _checkpoint_error(),
           r"load: .*truncated\.npz is not a tinygrad_np checkpoint: it is not a zip/npz archive \(the file may "
           r"be truncated"),
    Misuse("load: a weight changed after saving (valid zip)", _load_tampered, _checkpoint_error(),
           r"load: .*tampered\.npz: array a1 \(obj\['0\.bias'\]\) failed its SHA-256 checksum: the data was "
           r"changed or corrupted after saving"),
    Misuse("load: one byte flipped inside the archive", _load_flipped_byte, _checkpoint_error(),
           r"load: .*flipped\.npz: array a0 \(obj\['0\.weight'\]\) cannot be read: Bad CRC-32"),
    Misuse("load: an .npz that is not a checkpoint", _load_foreign, _checkpoint_error(),
           r"load: .*foreign\.npz is a zip/npz archive but not a tinygrad_np checkpoint"),
    Misuse("load_state_dict: shapes that do not match the model", _load_wrong_shapes, _state_dict_error(),
           r"Sequential\.load_state_dict: the state dict does not fit the model \(nothing was loaded\).*"
           r"0\.weight: expected shape \(5, 4\) dtype float32, found shape \(3, 4\) dtype float32"),
    Misuse("load_state_dict (strict): keys the checkpoint lacks", _load_missing_keys, _state_dict_error(),
           r"Sequential\.load_state_dict: the state dict does not fit the model .*missing keys: 3\.weight, "
           r"3\.bias"),
    Misuse("load_state_dict (strict): keys the model lacks", _load_unexpected_keys, _state_dict_error(),
           r"Sequential\.load_state_dict: the state dict does not fit the model .*unexpected keys: "
           r"2\.weight, 2\.bias"),
]

MISUSES: list[Misuse] = ENGINE + LAYERS + CHECKPOINTS


def one_line(exc: BaseException) -> str:
    """The message on one line (for the table)."""
    return re.sub(r"\s*\n\s*", " / ", str(exc)).strip()
