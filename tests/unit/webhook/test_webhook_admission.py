from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from carbon_kube.domain.annotations import (
    ALLOWED_ZONES,
    DEADLINE,
    DECIDED_AT,
    LATEST_START,
    MAX_DELAY,
    PLAN_ZONE,
    REASON,
    RELEASE_AT,
    RELEASED_AT,
    SCHEDULING_GATE,
    parse_rfc3339,
)
from carbon_kube.domain.clock import FixedClock
from carbon_kube.domain.zones import REGION_LABEL, Zone
from carbon_kube.planning import NO_SIGNAL, PlanningService, PlanningSettings
from carbon_kube.providers.embedded import EmbeddedProvider
from carbon_kube.providers.regions import load_region_zone_map
from carbon_kube.webhook.admission import serve_mutate, serve_validate
from carbon_kube.webhook.reviews import AdmissionReviewRequest, AdmissionReviewResponse
from tests.admission_builders import an_object, recorded_annotations
from tests.builders import make_series

NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
REGIONS = load_region_zone_map()


@pytest.fixture(scope="module")
def planner() -> PlanningService:
    """The embedded 2020 data replayed at NOW, as in the lab."""
    clock = FixedClock(NOW)
    settings = PlanningSettings(home_zone="DE", policy="temporal", forecast="oracle")
    return PlanningService(EmbeddedProvider(clock), clock, settings)


def mutate(body: dict[str, Any], planner: PlanningService, **kw: bool) -> AdmissionReviewResponse:
    return serve_mutate(AdmissionReviewRequest.model_validate(body), planner, regions=REGIONS, **kw)


def patched_paths(answer: AdmissionReviewResponse) -> dict[str, Any]:
    return {op["path"]: op.get("value") for op in answer.response.patch_operations}


def test_opted_in_pod_is_gated_with_its_plan_recorded(planner: PlanningService) -> None:
    body = an_object("Pod").flexible().annotated(MAX_DELAY, "6h").review()

    answer = mutate(body, planner)

    assert answer.response.allowed
    assert answer.response.uid == body["request"]["uid"]
    paths = patched_paths(answer)
    assert paths["/spec/schedulingGates"] == [{"name": SCHEDULING_GATE}]
    recorded = recorded_annotations(answer)
    assert recorded[PLAN_ZONE] == "DE"
    assert recorded[DECIDED_AT] == "2026-03-10T09:30:00Z"
    assert recorded[LATEST_START] == "2026-03-10T15:30:00Z"  # 6h max-delay, 1h default run
    release_at = parse_rfc3339(recorded[RELEASE_AT], RELEASE_AT)
    assert release_at + timedelta(hours=1) >= NOW
    assert release_at <= NOW + timedelta(hours=6)
    assert recorded[REASON] != NO_SIGNAL


@pytest.mark.parametrize("kind", ["Pod", "Job"])
def test_a_workload_past_its_deadline_is_admitted_unheld_with_a_warning(
    planner: PlanningService, kind: str
) -> None:
    body = an_object(kind).flexible().annotated(DEADLINE, "2026-03-10T09:00:00Z").review()
    answer = mutate(body, planner)
    assert answer.response.allowed
    paths = patched_paths(answer)
    assert "/spec/schedulingGates" not in paths
    assert "/spec/suspend" not in paths
    assert recorded_annotations(answer)[PLAN_ZONE] == "DE"  # the plan is still recorded
    (warning,) = answer.response.warnings or []
    assert "admitted without holding at 2026-03-10T09:30:00Z" in warning
    assert "deadline has passed" in warning


def test_a_pod_that_already_has_gates_gets_ours_appended(planner: PlanningService) -> None:
    body = (
        an_object("Pod")
        .flexible()
        .annotated(MAX_DELAY, "2h")
        .with_spec(schedulingGates=[{"name": "example.com/other"}])
        .review()
    )
    paths = patched_paths(mutate(body, planner))
    assert paths["/spec/schedulingGates/-"] == {"name": SCHEDULING_GATE}


def test_opted_in_job_and_spark_application_are_created_suspended(
    planner: PlanningService,
) -> None:
    for kind in ("Job", "SparkApplication"):
        body = an_object(kind).flexible().annotated(MAX_DELAY, "3h").review()
        answer = mutate(body, planner)
        assert patched_paths(answer)["/spec/suspend"] is True, kind
        assert PLAN_ZONE in recorded_annotations(answer), kind


def test_opted_in_flink_deployment_is_created_with_its_job_suspended(
    planner: PlanningService,
) -> None:
    body = an_object("FlinkDeployment").flexible().annotated(MAX_DELAY, "3h").review()
    assert patched_paths(mutate(body, planner))["/spec/job/state"] == "suspended"


def test_a_flink_session_cluster_has_no_job_to_suspend_and_is_left_alone(
    planner: PlanningService,
) -> None:
    body = an_object("FlinkDeployment").flexible().annotated(MAX_DELAY, "3h").review()
    del body["request"]["object"]["spec"]["job"]
    answer = mutate(body, planner)
    assert answer.response.allowed
    assert answer.response.patch is None
    assert answer.response.warnings
    assert "session cluster" in answer.response.warnings[0]


def test_objects_that_do_not_opt_in_are_untouched(planner: PlanningService) -> None:
    for body in (
        an_object("Pod").annotated(MAX_DELAY, "6h").review(),
        an_object("Job").flexible("false").annotated(MAX_DELAY, "6h").review(),
        an_object("Deployment").flexible().annotated(MAX_DELAY, "6h").review(),
    ):
        answer = mutate(body, planner)
        assert answer.response.allowed
        assert answer.response.patch is None


def test_namespace_opt_in_gates_an_unlabelled_pod_but_respects_an_explicit_false(
    planner: PlanningService,
) -> None:
    unlabelled = an_object("Pod").annotated(MAX_DELAY, "6h").review()
    assert mutate(unlabelled, planner, namespace_opted_in=True).response.patch is not None

    opted_out = an_object("Pod").flexible("false").annotated(MAX_DELAY, "6h").review()
    assert mutate(opted_out, planner, namespace_opted_in=True).response.patch is None


def test_pods_of_a_job_are_never_gated_because_the_job_is_held_instead(
    planner: PlanningService,
) -> None:
    body = an_object("Pod").flexible().annotated(MAX_DELAY, "6h").owned_by_job().review()
    answer = mutate(body, planner, namespace_opted_in=True)
    assert answer.response.allowed
    assert answer.response.patch is None


def test_invalid_annotations_are_rejected_naming_the_annotation_and_format(
    planner: PlanningService,
) -> None:
    body = an_object("Job").flexible().annotated(DEADLINE, "tomorrow 6am").review()

    answer = mutate(body, planner)

    assert not answer.response.allowed
    assert answer.response.status is not None
    assert answer.response.status.code == 422
    message = answer.response.status.message
    assert DEADLINE in message
    assert "RFC 3339" in message
    assert "tomorrow 6am" in message


def test_an_opted_in_workload_without_deadline_or_max_delay_is_rejected(
    planner: PlanningService,
) -> None:
    answer = mutate(an_object("Pod").flexible().review(), planner)
    assert not answer.response.allowed
    assert answer.response.status is not None
    assert MAX_DELAY in answer.response.status.message


def test_an_already_gated_pod_is_not_gated_twice(planner: PlanningService) -> None:
    body = (
        an_object("Pod")
        .flexible()
        .annotated(MAX_DELAY, "6h")
        .with_spec(schedulingGates=[{"name": SCHEDULING_GATE}])
        .review()
    )
    assert mutate(body, planner).response.patch is None


def test_a_job_suspended_by_its_creator_is_left_alone_with_a_warning(
    planner: PlanningService,
) -> None:
    body = an_object("Job").flexible().annotated(MAX_DELAY, "6h").with_spec(suspend=True).review()
    answer = mutate(body, planner)
    assert answer.response.patch is None
    assert answer.response.warnings
    assert "Kueue" in answer.response.warnings[0]


def test_a_copied_manifest_that_looks_released_is_held_again(planner: PlanningService) -> None:
    body = (
        an_object("Job")
        .flexible()
        .annotated(MAX_DELAY, "6h")
        .annotated(RELEASE_AT, "2020-01-01T00:00:00Z")
        .annotated(RELEASED_AT, "2020-01-01T00:00:00Z")
        .review()
    )
    operations = mutate(body, planner).response.patch_operations
    assert {"op": "remove", "path": "/metadata/annotations/carbon-kube.io~1released-at"} in (
        operations
    )
    assert {"op": "add", "path": "/spec/suspend", "value": True} in operations


def test_updates_are_never_mutated(planner: PlanningService) -> None:
    body = an_object("Pod").flexible().annotated(MAX_DELAY, "6h").review(operation="UPDATE")
    assert mutate(body, planner).response.patch is None


def test_without_a_signal_the_plan_releases_at_the_latest_safe_start() -> None:
    clock = FixedClock(NOW)
    empty = EmbeddedProvider(clock, series={Zone("FR"): make_series([1.0] * 24, zone="FR")})
    planner = PlanningService(empty, clock, PlanningSettings(home_zone="DE"))
    body = an_object("Job").flexible().annotated(MAX_DELAY, "4h").review()

    annotations = recorded_annotations(mutate(body, planner))

    assert annotations[REASON] == NO_SIGNAL
    assert annotations[RELEASE_AT] == "2026-03-10T13:30:00Z"


def test_validation_rejects_a_changed_invalid_annotation_on_update_only() -> None:
    old = an_object("Job").flexible().annotated(MAX_DELAY, "6h").build()
    changed = (
        an_object("Job").flexible().annotated(MAX_DELAY, "6h").annotated(ALLOWED_ZONES, "eu-west")
    )
    answer = serve_validate(
        AdmissionReviewRequest.model_validate(changed.review("UPDATE", old=old)), now=NOW
    )
    assert not answer.response.allowed
    assert answer.response.status is not None
    assert ALLOWED_ZONES in answer.response.status.message

    # The same invalid value, unchanged by this update (say, the controller releasing it).
    unchanged_body = changed.review("UPDATE", old=changed.build())
    answer = serve_validate(AdmissionReviewRequest.model_validate(unchanged_body), now=NOW)
    assert answer.response.allowed


# -- allowed-zones as node affinity -------------------------------------------------------------


def required_terms(affinity: dict[str, Any]) -> list[dict[str, Any]]:
    terms: list[dict[str, Any]] = affinity["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]["nodeSelectorTerms"]
    return terms


def test_a_pod_with_allowed_zones_gets_a_required_affinity_keeping_it_there(
    planner: PlanningService,
) -> None:
    body = (
        an_object("Pod").flexible().annotated(MAX_DELAY, "6h").annotated(ALLOWED_ZONES, "FR")
    ).review()
    # Home DE plus FR allowed: every known region of another grid zone is forbidden.
    want_forbidden = sorted(
        m.region for m in REGIONS.mappings() if m.zone not in (Zone("DE"), Zone("FR"))
    )

    answer = mutate(body, planner)

    paths = patched_paths(answer)
    assert paths["/spec/schedulingGates"] == [{"name": SCHEDULING_GATE}]
    assert required_terms(paths["/spec/affinity"]) == [
        {"matchExpressions": [{"key": REGION_LABEL, "operator": "NotIn", "values": want_forbidden}]}
    ]
    assert "eu-central-1" not in want_forbidden
    assert "eu-west-3" not in want_forbidden
    assert "eu-west-1" in want_forbidden


def test_the_zone_requirement_is_anded_into_each_of_the_users_terms(
    planner: PlanningService,
) -> None:
    arm = {"key": "kubernetes.io/arch", "operator": "In", "values": ["arm64"]}
    gpu = {"key": "gpu", "operator": "Exists"}
    user_affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [arm]}, {"matchExpressions": [gpu]}]
            }
        }
    }
    body = (
        an_object("Pod")
        .flexible()
        .annotated(MAX_DELAY, "6h")
        .annotated(ALLOWED_ZONES, "IE")
        .with_spec(affinity=user_affinity)
    ).review()

    terms = required_terms(patched_paths(mutate(body, planner))["/spec/affinity"])

    assert [term["matchExpressions"][0] for term in terms] == [arm, gpu]
    zone_expressions = [term["matchExpressions"][1] for term in terms]
    assert all(e["key"] == REGION_LABEL and e["operator"] == "NotIn" for e in zone_expressions)
    assert zone_expressions[0] == zone_expressions[1]


def test_a_pod_without_allowed_zones_gets_no_affinity(planner: PlanningService) -> None:
    body = an_object("Pod").flexible().annotated(MAX_DELAY, "6h").review()

    assert "/spec/affinity" not in patched_paths(mutate(body, planner))


def test_a_jobs_pod_with_allowed_zones_gets_the_affinity_but_no_gate(
    planner: PlanningService,
) -> None:
    body = (
        an_object("Pod")
        .flexible()
        .annotated(MAX_DELAY, "6h")
        .annotated(ALLOWED_ZONES, "IE")
        .owned_by_job()
    ).review()

    paths = patched_paths(mutate(body, planner))

    assert set(paths) == {"/spec/affinity"}
    (term,) = required_terms(paths["/spec/affinity"])
    assert "eu-west-1" not in term["matchExpressions"][0]["values"]


def test_a_jobs_pod_with_unparsable_allowed_zones_is_admitted_unchanged(
    planner: PlanningService,
) -> None:
    body = an_object("Pod").flexible().annotated(ALLOWED_ZONES, "eu west").owned_by_job().review()

    answer = mutate(body, planner)

    assert answer.response.allowed
    assert answer.response.patch is None


def test_a_job_with_allowed_zones_is_suspended_without_touching_its_template(
    planner: PlanningService,
) -> None:
    body = (
        an_object("Job").flexible().annotated(MAX_DELAY, "6h").annotated(ALLOWED_ZONES, "IE")
    ).review()

    paths = patched_paths(mutate(body, planner))

    assert paths["/spec/suspend"] is True
    assert not any(path.startswith("/spec/template") for path in paths)
