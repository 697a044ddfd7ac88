"""Worked examples built on tinygrad_np: `mnist_models` (three CNNs as plain functions) and
`mnist` (the training command, `python -m tinygrad_np.examples.mnist`)."""
