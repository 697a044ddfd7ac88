"""Trigger every misuse in the catalog and print `case | exception | message`, one line each.

Run from the repository root: `python tests/reliability/print_messages.py` (not collected by pytest).
A case that raises nothing, the wrong type, or a message that does not match the catalog's
expectation is printed as such and makes the exit status 1.
"""
from __future__ import annotations

import sys
import tempfile
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.reliability.misuse import MISUSES, one_line  # noqa: E402


def main() -> int:
    """Print the table; return 1 if any case did not raise the documented error."""
    failures = 0
    warnings.simplefilter("ignore")
    print("case | exception | message")
    print("--- | --- | ---")
    for misuse in MISUSES:
        with tempfile.TemporaryDirectory() as tmp:
            try:
                misuse.trigger(Path(tmp))
            except misuse.error as exc:
                message = one_line(exc).replace(tmp, "<tmp>")
                flag = "" if misuse.matches(exc) else "MESSAGE DOES NOT MATCH: "
                failures += bool(flag)
                print(f"{misuse.name} | {type(exc).__name__} | {flag}{message}")
                continue
            except Exception as exc:  # the wrong kind of error: show it, and fail
                failures += 1
                print(f"{misuse.name} | UNEXPECTED {type(exc).__name__} | {one_line(exc)}")
                continue
        failures += 1
        print(f"{misuse.name} | NO ERROR | expected {misuse.error.__name__}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
