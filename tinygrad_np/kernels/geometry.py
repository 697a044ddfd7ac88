"""Where the sliding windows of a 2-D convolution or pooling sit on an image: the one value every
window kernel (im2col, col2im, pooling) reads its layout from."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

__all__ = ["Geometry"]


class Geometry(NamedTuple):
    """Where the windows of a 2-D convolution or pooling sit on an image of `size` = (H, W).

    `padding` is (top, bottom, left, right); `out` = (OH, OW) is the number of window positions.
    """

    size: tuple[int, int]
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int, int, int]
    dilation: tuple[int, int]
    out: tuple[int, int]

    @property
    def padded(self) -> tuple[int, int]:
        """(H, W) of the padded image."""
        top, bottom, left, right = self.padding
        return self.size[0] + top + bottom, self.size[1] + left + right

    @property
    def has_padding(self) -> bool:
        return any(self.padding)

    def as_arguments(self) -> dict[str, Any]:
        """The window arguments as a user writes them (`kernel_size=3, padding=1`), leaving out a
        stride, padding or dilation at its default; what graph drawings show."""
        def short(p: tuple[int, ...]) -> int | tuple[int, ...]:
            return p[0] if p[0] == p[1] else p

        top, bottom, left, right = self.padding
        args: dict[str, Any] = {"kernel_size": short(self.kernel)}
        if self.stride != (1, 1):
            args["stride"] = short(self.stride)
        if any(self.padding):
            args["padding"] = short((top, left)) if (top, left) == (bottom, right) else self.padding
        if self.dilation != (1, 1):
            args["dilation"] = short(self.dilation)
        return args

    def offsets(self) -> Iterator[tuple[int, tuple[slice, slice]]]:
        """(index, (rows, cols)) for every kernel offset in row-major order: the rows and columns of
        the padded image that this offset of every window reads."""
        (kh, kw), (sh, sw), (dh, dw), (oh, ow) = self.kernel, self.stride, self.dilation, self.out
        for i in range(kh):
            rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
            for j in range(kw):
                yield i * kw + j, (rows, slice(j * dw, j * dw + sw * (ow - 1) + 1, sw))

    def tiles(self) -> bool:
        """True when the windows cover the padded image exactly once (stride == kernel, no remainder)."""
        return (self.stride == self.kernel and self.dilation == (1, 1)
                and self.out[0] * self.kernel[0] == self.padded[0]
                and self.out[1] * self.kernel[1] == self.padded[1])
