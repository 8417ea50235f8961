"""kube-scheduler extender wire types (k8s.io/kube-scheduler/extender/v1).

Those Go structs have no json tags, so the JSON keys are the Go field names: ``Pod``,
``Nodes``, ``NodeNames``, ``FailedNodes``, ``FailedAndUnresolvableNodes``, ``Error``, and
``Host``/``Score`` in a prioritize answer. With ``nodeCacheCapable: true`` the scheduler sends
``NodeNames`` only and expects ``NodeNames`` back; otherwise full ``Nodes`` (a NodeList).

The envelope is strict (unknown keys -> 400) because it is ours to define; the Pod and Node
objects inside are free-form JSON read by the few fields we need.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii  # C-accelerated JSON string escaping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

_IN = ConfigDict(extra="forbid", frozen=True, strict=True)
_OUT = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class NodeList(BaseModel):
    """A v1.NodeList; only ``items`` is read (apiVersion/kind/metadata are accepted)."""

    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)

    items: list[dict[str, Any]] = Field(default_factory=list)


class ExtenderArgs(BaseModel):
    """What the scheduler POSTs to ``filter`` and ``prioritize``."""

    model_config = _IN

    pod: dict[str, Any] = Field(alias="Pod")
    nodes: NodeList | None = Field(default=None, alias="Nodes")
    node_names: list[str] | None = Field(default=None, alias="NodeNames")

    def candidate_names(self) -> list[str]:
        """Node names in the order given, from ``NodeNames`` or from ``Nodes``."""
        if self.node_names is not None:
            return list(self.node_names)
        if self.nodes is None:
            return []
        names = []
        for node in self.nodes.items:
            metadata = node.get("metadata")
            name = metadata.get("name") if isinstance(metadata, dict) else None
            if isinstance(name, str):
                names.append(name)
        return names


class ExtenderFilterResult(BaseModel):
    """The filter answer: the nodes that pass, and why the others failed."""

    model_config = _OUT

    nodes: NodeList | None = Field(default=None, alias="Nodes")
    node_names: list[str] | None = Field(default=None, alias="NodeNames")
    failed_nodes: dict[str, str] = Field(default_factory=dict, alias="FailedNodes")
    failed_and_unresolvable_nodes: dict[str, str] = Field(
        default_factory=dict, alias="FailedAndUnresolvableNodes"
    )
    error: str = Field(default="", alias="Error")

    def to_json(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode()


@dataclass(frozen=True, slots=True)
class HostPriority:
    """One node's score, 0..10 (the scheduler multiplies by the extender's weight)."""

    host: str
    score: int


HostEntry = tuple[int, str]
"""One candidate node as prioritize sees it: (group id, its ``host_fragment``)."""


@dataclass(frozen=True, slots=True)
class Priorities:
    """A prioritize answer: ``hosts[i]`` scores ``score_of_group[entries[i][0]]``.

    Not a list of models, nor even a list of scores: an answer for 5,000 nodes is built and
    encoded on every scheduling cycle, and one object (or one Python-level step) per node
    dominated its latency. Nodes with the same grid zone and instance type share a group and
    a score; each entry carries the node's pre-encoded ``host_fragment`` (cached with the node,
    see ``NodeCache``), so encoding is one string concatenation per node.
    """

    hosts: list[str]
    entries: list[HostEntry]
    score_of_group: list[int]

    @property
    def scores(self) -> list[int]:
        score_of_group = self.score_of_group
        return [score_of_group[group] for group, _ in self.entries]

    def __iter__(self) -> Iterator[HostPriority]:
        return (HostPriority(h, s) for h, s in zip(self.hosts, self.scores, strict=True))

    def __len__(self) -> int:
        return len(self.hosts)


_FRAGMENT_HEAD = '{"Host":'
_FRAGMENT_TAIL = ',"Score":'


def host_fragment(host: str) -> str:
    """``{"Host":"<host>","Score":`` : the start of a node's HostPriority, its score to follow."""
    return _FRAGMENT_HEAD + encode_basestring_ascii(host) + _FRAGMENT_TAIL


def encode_priorities(priorities: Priorities) -> bytes:
    """``[{"Host": ..., "Score": ...}, ...]`` (HostPriorityList), built as one string."""
    tail_of_group = [f"{score}}}" for score in priorities.score_of_group]
    parts = [fragment + tail_of_group[group] for group, fragment in priorities.entries]
    return ("[" + ",".join(parts) + "]").encode()
