"""The `checkpoint` state file (which prefix is the latest) and TF2 object graphs (node id -> object path)."""
from __future__ import annotations

from collections import deque

from ..errors import FormatError
from ..proto import checkpoint_pb2
from ..sources import Source
from .savedmodel import parse_text, read_bounded


def read_checkpoint_state(source: Source, path: str) -> checkpoint_pb2.CheckpointState:
    """The `checkpoint` text file written by tf.train.Saver / CheckpointManager."""
    data, shown = read_bounded(source, path)
    msg = parse_text(checkpoint_pb2.CheckpointState, data, shown, "checkpoint state file")
    if not msg.model_checkpoint_path:
        raise FormatError("checkpoint state file names no checkpoint", shown)
    return msg


MAX_PATH_CHARS = 1024  # longer object paths are shortened to their last part: chains stay linear in cost


def object_paths(graph, wanted=None) -> dict[int, str]:
    """Node id -> dotted path from the root (breadth-first, first path wins); slot variables as
    `<variable path>'s <slot> slot`. `wanted`: only these node ids get a path string (all others are
    only linked to their parent, so a long chain costs time and memory proportional to its length)."""
    nodes = graph.nodes
    if not nodes:
        return {}
    parent: dict[int, tuple[int, str]] = {0: (-1, "")}
    queue = deque([0])
    while queue:
        nid = queue.popleft()
        for ch in nodes[nid].children:
            if 0 <= ch.node_id < len(nodes) and ch.node_id not in parent:
                parent[ch.node_id] = (nid, ch.local_name)
                queue.append(ch.node_id)
    wanted = set(parent) if wanted is None else set(wanted)
    paths = {nid: _path(parent, nid) for nid in wanted if nid in parent}
    for node in nodes:
        for slot in node.slot_variables:
            sid, oid = slot.slot_variable_node_id, slot.original_variable_node_id
            if sid in wanted and sid not in paths and oid in parent:
                paths[sid] = _clip(f"{paths.get(oid) or _path(parent, oid)}'s {slot.slot_name} slot")
    return paths


def _path(parent: dict[int, tuple[int, str]], nid: int) -> str:
    if nid == 0:
        return "(root)"
    parts: list[str] = []
    size = 0
    while nid > 0 and size <= MAX_PATH_CHARS:
        nid, name = parent[nid]
        parts.append(name)
        size += len(name) + 1
    if nid > 0:
        parts.append("…")
    return _clip(".".join(reversed(parts)))


def _clip(path: str) -> str:
    return path if len(path) <= MAX_PATH_CHARS else "…" + path[-MAX_PATH_CHARS:]
