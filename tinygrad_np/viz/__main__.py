"""`python -m tinygrad_np.viz` draws no model of its own: the MNIST loss-graph command lives with the
examples (the library's layers never import an example), so this says where."""
from __future__ import annotations

import sys


def main() -> int:
    print("python -m tinygrad_np.viz: the MNIST loss graph is drawn by\n"
          "    python -m tinygrad_np.examples.mnist_graph --mnist --out graph.svg\n"
          "and any graph by tinygrad_np.viz.draw_graph(tensor) in Python.", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
