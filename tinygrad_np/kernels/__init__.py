"""Kernels: where the speed lives. Each computes an op's arithmetic on NumPy arrays and knows nothing of
Tensors or autograd; ops (tinygrad_np/ops) call them by plain names (`conv2d_forward`, `im2col`,
`max_pool2d_forward`, `select`, ...). `reference` states each kernel's arithmetic in a few lines; the
fast kernels (`conv`, `winograd`, `im2col`, `pool`, `elementwise`, `matmul`) compute the same and the
tests hold them to it. `threads` and `memory` are the process-wide speed settings they share."""
