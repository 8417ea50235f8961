"""The vocabulary every layer shares: zones, intensity series, workloads, plans, errors, clocks.

Nothing here does I/O or reads the wall clock; the only clock that does is ``SystemClock``, which
adapters construct at the edge and pass in.
"""
