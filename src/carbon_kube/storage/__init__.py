"""Local files read and written safely: the only place that knows how a file appears whole.

Every layer that writes a file (the simulator's outputs, the CLI's results, dashboards, the
lab's state, intensity CSVs) or reads one a user named calls it, so it sits just above
``domain``, whose ``InputError`` it raises, and imports nothing else from carbon_kube.
"""

from carbon_kube.storage.atomic import (
    write_atomically,
    write_bytes_atomically,
    write_files_atomically,
    write_text_atomically,
)
from carbon_kube.storage.reading import check_row_widths, read_user_bytes, read_user_text

__all__ = [
    "check_row_widths",
    "read_user_bytes",
    "read_user_text",
    "write_atomically",
    "write_bytes_atomically",
    "write_files_atomically",
    "write_text_atomically",
]
