"""How much the long-running commands log: servers and the controller say more than tools.

A one-shot command logs warnings only (retries, fallbacks to stale data); a server also says,
at info, where it listens and one line per request, which is what an operator reads first
when the apiserver reports a webhook timeout.
"""

from __future__ import annotations

import logging


def serving_logs() -> None:
    """Log ``carbon_kube`` at info (the listening line, the access log) from here on."""
    logging.getLogger("carbon_kube").setLevel(logging.INFO)
