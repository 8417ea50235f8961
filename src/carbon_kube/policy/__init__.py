"""The pure decision core: where and when flexible work runs, for every adapter.

Policies (one module each, ``registry.POLICIES``) take a ``JobTable``, a ``Forecast`` and the
decision times and return a ``Schedule``; nothing here does I/O or reads the wall clock.
``scoring`` ranks nodes for the scheduler extender.
"""
