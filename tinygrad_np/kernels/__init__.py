"""Kernels: fast NumPy implementations of an op's arithmetic, each next to a short reference kernel
of the same signature that the tests hold it to. Ops (tinygrad_np/ops) choose a kernel; kernels
know nothing of Tensors or autograd."""
