"""The README's promises: its example runs and learns what it says, and CI runs its test command."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_example_learns_the_linear_rule(capsys) -> None:
    code = re.search(r"```python\n(.*?)```", README, re.S).group(1)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["loss"].item() < 1e-6
    np.testing.assert_allclose(namespace["w"].numpy().ravel(), [1.0, -2.0, 0.5], atol=1e-3)
    np.testing.assert_allclose(namespace["b"].numpy(), [0.3], atol=1e-3)
    assert capsys.readouterr().out.strip(), "the example prints its result"


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    commands = re.findall(r"^(python3 -m venv .*)$", README, re.M)
    test_command = [c for c in commands if c.rstrip().endswith("pytest")]
    assert len(test_command) == 1, commands
    assert test_command[0] in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
