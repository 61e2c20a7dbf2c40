"""Stripe's request encoding: ``application/x-www-form-urlencoded`` with nested
keys (``metadata[call]=…``, ``line_items[0][price_data][currency]=usd``,
``expand[]=…``), decoded into the dicts and lists they stand for."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

_PART = re.compile(r"\[([^\[\]]*)\]")


class EncodingError(ValueError):
    pass


def _key_path(key: str) -> list[str]:
    head, _, rest = key.partition("[")
    if not head:
        raise EncodingError(f"Invalid parameter name: {key}")
    parts = [head]
    if rest:
        rest = "[" + rest
        consumed = "".join(f"[{p}]" for p in _PART.findall(rest))
        if consumed != rest:
            raise EncodingError(f"Invalid parameter name: {key}")
        parts.extend(_PART.findall(rest))
    return parts


def _listify(node: Any) -> Any:
    """Dicts whose keys are 0..n-1 (or that came from ``[]``) become lists."""
    if isinstance(node, dict):
        node = {k: _listify(v) for k, v in node.items()}
        if node and all(isinstance(k, str) and k.isdigit() for k in node):
            indexes = sorted(int(k) for k in node)
            if indexes == list(range(len(indexes))):
                return [node[str(i)] for i in indexes]
        return node
    if isinstance(node, list):
        return [_listify(v) for v in node]
    return node


def decode_form(body: str) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True, strict_parsing=False):
        path = _key_path(key)
        node: Any = root
        for i, part in enumerate(path):
            last = i == len(path) - 1
            if part == "":  # "expand[]=a&expand[]=b"
                if not isinstance(node, list):
                    raise EncodingError(f"Invalid parameter name: {key}")
                node.append(value)
                break
            if not isinstance(node, dict):
                raise EncodingError(f"Conflicting parameter: {key}")
            if last:
                node[part] = value
            else:
                nxt = path[i + 1]
                default: Any = [] if nxt == "" else {}
                node = node.setdefault(part, default)
    return _listify(root)
