"""Read back the nodes and edges of the DOT source that tinygrad_np.viz writes (one statement a line)."""
from __future__ import annotations

import html
import re
from dataclasses import dataclass

_NODE = re.compile(r"^\t(\w+) \[(.*)\]$")
_EDGE = re.compile(r"^\t(\w+) -> (\w+)(?: \[.*\])?$")
_LABEL = re.compile(r"label=<(.*)>(?: |$)")
_KEYWORDS = {"graph", "node", "edge"}


@dataclass
class Dot:
    nodes: dict[str, str]  # name -> the whole attribute list text
    labels: dict[str, str]  # name -> label text: tags removed, entities decoded, <br/> as newlines
    edges: list[tuple[str, str]]

    def find(self, text: str) -> list[str]:
        """Names of the nodes whose label contains `text`."""
        return [n for n, label in self.labels.items() if text in label]

    def titled(self, title: str) -> str:
        """The one node whose label's first line is `title`."""
        found = [n for n, label in self.labels.items() if label.split("\n")[0] == title]
        assert len(found) == 1, f"expected one node titled {title!r}, found {found}: {self.labels}"
        return found[0]

    def one(self, text: str) -> str:
        found = self.find(text)
        assert len(found) == 1, f"expected one node labelled with {text!r}, found {found}: {self.labels}"
        return found[0]


def parse(source: str) -> Dot:
    nodes: dict[str, str] = {}
    labels: dict[str, str] = {}
    edges: list[tuple[str, str]] = []
    for line in source.splitlines():
        m = _EDGE.match(line)
        if m:
            edges.append((m.group(1), m.group(2)))
            continue
        m = _NODE.match(line)
        if m and m.group(1) not in _KEYWORDS:
            name, attrs = m.group(1), m.group(2)
            assert name not in nodes, f"node {name} declared twice"
            nodes[name] = attrs
            lm = _LABEL.search(attrs)
            raw = lm.group(1) if lm else ""
            labels[name] = re.sub(r"<br/>", "\n", raw)
            labels[name] = html.unescape(re.sub(r"<[^>]+>", "", labels[name]))
    for a, b in edges:
        assert a in nodes and b in nodes, f"edge {a} -> {b} refers to an undeclared node"
    return Dot(nodes, labels, edges)
