"""Planning: the one service the webhook, the controller and the extender ask for decisions.

``PlanningService`` joins an intensity source (a provider or fallback chain), a clock and typed
``PlanningSettings`` to the pure policies (``policy.registry.plan_workload``). It never blocks a
workload: without a carbon signal it plans a release at the latest safe start with reason
``no-signal``. ``workloads`` turns Kubernetes objects (plain JSON) into domain ``Workload``s.
It must not talk to the Kubernetes API (that is ``carbon_kube.kube``) nor serve HTTP.
"""

from carbon_kube.planning.service import NO_SIGNAL, PlanningService
from carbon_kube.planning.settings import PlanningSettings, SourceKind, SourceSettings
from carbon_kube.planning.sources import build_intensity_source

__all__ = [
    "NO_SIGNAL",
    "PlanningService",
    "PlanningSettings",
    "SourceKind",
    "SourceSettings",
    "build_intensity_source",
]
