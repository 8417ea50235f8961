"""Carbon-intensity sources: files, the embedded dataset, live APIs, the cache and fallback.

Every provider returns ``IntensitySeries`` in UTC and raises the ``ProviderError`` tree; none
reads the wall clock or the environment itself (both are passed in).
"""
