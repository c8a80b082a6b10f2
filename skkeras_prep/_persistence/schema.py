"""Reading the skops schema of an estimator state (``state.skops/schema.json``) as a
description only: nothing named in it is imported or built.

skops reuses the first node loaded with a given ``__id__`` for every later node with that id
(``CachedNode`` or not), so the value a node stands for may be written elsewhere in the
schema. ``values`` therefore returns every value the nodes sharing an id hold; the checks
built on it look at all of them.
"""

import json
from collections import defaultdict

from .._compat import _node_type

node_type = _node_type


class Unreadable:
    """A value the schema holds as something other than plain JSON (an object, an array)."""

    def __init__(self, node):
        name = node_type(node) if isinstance(node, dict) else None
        self.what = name or "malformed node"

    def __repr__(self):
        return f"<a {self.what}>"


def dicts(doc):
    """Every dict in a parsed JSON document (a skops schema, a Keras config), walked
    iteratively, parents first."""
    stack = [doc]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        elif isinstance(item, dict):
            yield item
            stack.extend(reversed(list(item.values())))


def _nodes(schema):
    """Every skops node (a dict with a ``__loader__``), iteratively."""
    return (item for item in dicts(schema) if "__loader__" in item)


def index(schema):
    """{__id__: [nodes with that id]} over the whole schema."""
    by_id = defaultdict(list)
    for node in _nodes(schema):
        key = node.get("__id__")
        if isinstance(key, (int, str)) and not isinstance(key, bool):
            by_id[key].append(node)
    return by_id


def _same_id(node, by_id):
    key = node.get("__id__") if isinstance(node, dict) else None
    group = by_id.get(key) if isinstance(key, (int, str)) and not isinstance(key, bool) else None
    return group or [node]


def values(node, by_id):
    """Every plain value ``node`` may load as (JSON scalars; other nodes as Unreadable)."""
    found = []
    for item in _same_id(node, by_id):
        if isinstance(item, dict) and item.get("__loader__") == "JsonNode" and isinstance(
                item.get("content"), str):
            try:
                found.append(json.loads(item["content"]))
                continue
            except (ValueError, RecursionError):
                pass
        found.append(Unreadable(item))
    return found


def sequence_values(node, by_id):
    """For a list or tuple node: the possible values of each item, or None if any node
    sharing its id is not a list or tuple node."""
    shapes = []
    for item in _same_id(node, by_id):
        if not (isinstance(item, dict) and item.get("__loader__") in ("ListNode", "TupleNode")
                and isinstance(item.get("content"), list)):
            return None
        content = item["content"]
        shapes.append([values(child, by_id) for child in content])
    return shapes


def object_state(node):
    """The attribute nodes of an ``ObjectNode`` (name -> node), or None for another layout."""
    if not isinstance(node, dict) or node.get("__loader__") != "ObjectNode":
        return None
    content = node.get("content")
    if not (isinstance(content, dict) and content.get("__loader__") == "DictNode"
            and isinstance(content.get("content"), dict)):
        return None
    return content["content"]


def typed_nodes(schema, names):
    """Every node whose type is one of ``names``, with its type name."""
    for node in _nodes(schema):
        name = node_type(node)
        if name in names:
            yield name, node
