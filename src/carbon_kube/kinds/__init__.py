"""Workload kinds: how each Kubernetes kind Carbon-Kube holds is held, released and sized.

One module per kind (``pod``, ``job``, ``spark``, ``flink``) implements
:class:`~carbon_kube.kinds.protocol.KindAdapter`; ``registry`` is the one table the webhook,
the controller, planning and the API client ask. Modelled on Kueue's ``jobframework`` (one
interface, one folder per integration). Pure: plain-JSON objects in, JSON patches out; no API
calls and no import of ``carbon_kube.kube`` (which sits above and builds its REST paths from the
coordinates here). See docs/kinds.md, "Adding a workload kind".
"""
