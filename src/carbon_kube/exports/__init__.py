"""Metrics exports: Carbon-Kube's series pulled from Prometheus into files a notebook reads.

``queries`` says which series are exported, ``prometheus`` fetches them over the HTTP API,
``files`` writes and reads the export folder (format documented in docs/observability.md).
"""
