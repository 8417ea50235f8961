"""Local files written safely: the only place that knows how a file appears whole.

A bottom-layer package beside ``domain`` and ``observability``: every layer that writes a file
(the simulator's outputs, the CLI's results, dashboards, the lab's state, intensity CSVs) calls
it, so it may import nothing from carbon_kube but the standard library.
"""

from carbon_kube.storage.atomic import (
    write_atomically,
    write_bytes_atomically,
    write_files_atomically,
    write_text_atomically,
)

__all__ = [
    "write_atomically",
    "write_bytes_atomically",
    "write_files_atomically",
    "write_text_atomically",
]
