"""Worked examples built on tinygrad_np: `mnist_models` (three CNNs as plain functions), `mnist`
(the training command, `python -m tinygrad_np.examples.mnist`) and `tiny_transformer` (a one-block
transformer as plain functions, `python -m tinygrad_np.examples.tiny_transformer`)."""
