"""The deployment files, checked offline: the Dockerfile by hadolint, the Compose file against the
Compose spec, the Kubernetes manifests against Kubernetes 1.32's schemas (KEDA's kinds against
KEDA's own CRDs, vendored in tests/deploy/schemas/keda), and what ties them to the stack: one
worker per queue, drain timeouts inside the grace periods, pools inside the budget."""

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from check_jsonschema.builtin_schemas import get_builtin_schema
from jsonschema import Draft7Validator
from jsonschema.validators import validator_for

from core.db.pool_budget import Deployment, WorkerGroup, plan_deployment
from core.settings import Settings
from tests.support.processes import ROOT, procfile_commands

BIN = Path(sys.executable).parent
K8S = ROOT / "deploy" / "k8s"
COMPOSE = ROOT / "deploy" / "compose.yaml"
KUBERNETES_VERSION = "1.32.0"
KEDA_CRDS = Path(__file__).parent / "schemas" / "keda"
# Kinds kubernetes-validate has no schema for, and what checks them instead.
CRD_KINDS = {"ScaledObject", "TriggerAuthentication"}
# The trigger metadata KEDA v2.20's redis-streams scaler reads (its Go struct tags).
REDIS_STREAMS_METADATA = {
    "stream",
    "consumerGroup",
    "pendingEntriesCount",
    "streamLength",
    "lagCount",
    "activationLagCount",
    "databaseIndex",
    "enableTLS",
    "address",
    "addressFromEnv",
    "host",
    "port",
    "username",
    "password",
    "passwordFromEnv",
    "unsafeSsl",
}
DEFAULTS = Settings(_env_file=None)
# Seconds between the kubelet's (or Docker's) SIGTERM and its SIGKILL beyond drain + shutdown.
MARGIN = 5


def shutdown_timeout() -> int:
    """taskiq's --shutdown-timeout in the Procfile's worker line."""
    match = re.search(r"--shutdown-timeout (\d+)", procfile_commands()["worker"])
    assert match, "the Procfile's worker has no --shutdown-timeout"
    return int(match[1])


def manifests() -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in sorted(K8S.glob("*.yaml")):
        if path.name != "kustomization.yaml":
            for doc in yaml.safe_load_all(path.read_text()):
                yield path, doc


def of_kind(kind: str) -> list[dict[str, Any]]:
    return [doc for _, doc in manifests() if doc["kind"] == kind]


def container_env(pod_spec: dict[str, Any]) -> dict[str, str]:
    """What a pod's container sees: the ConfigMap, then its own env (which wins)."""
    (container,) = pod_spec["containers"]
    (config,) = of_kind("ConfigMap")
    env = dict(config["data"])
    env |= {item["name"]: item["value"] for item in container.get("env", [])}
    return env


def strict(schema: Any) -> Any:
    """A CRD's schema as the API server's field validation reads it: an object with declared
    properties takes no others, so a misspelt field fails here instead of being pruned."""
    if isinstance(schema, dict):
        schema = {key: strict(value) for key, value in schema.items()}
        if (
            "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    return schema


def crd_validator(kind: str) -> Draft7Validator:
    for path in KEDA_CRDS.glob("*.yaml"):
        crd = yaml.safe_load(path.read_text())
        if crd["spec"]["names"]["kind"] == kind:
            (version,) = crd["spec"]["versions"]
            return Draft7Validator(strict(version["schema"]["openAPIV3Schema"]))
    raise AssertionError(f"no vendored CRD for {kind}")


# --- the image -----------------------------------------------------------------------------


def hadolint(dockerfile: Path) -> list[dict[str, Any]]:
    result = subprocess.run(
        [BIN / "hadolint", "--format", "json", "--failure-threshold", "style", str(dockerfile)],
        capture_output=True,
        text=True,
        check=False,
    )
    findings: list[dict[str, Any]] = json.loads(result.stdout or "[]")
    return findings


def test_the_dockerfile_passes_hadolint() -> None:
    assert hadolint(ROOT / "Dockerfile") == []


def test_hadolint_finds_what_the_dockerfile_avoids(tmp_path: Path) -> None:
    # The check bites: root user, unpinned pip install, latest tag.
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install uv\nCMD uvicorn app.main:app\n")
    codes = {finding["code"] for finding in hadolint(bad)}
    assert {"DL3007", "DL3013", "DL3025"} <= codes


def test_the_image_runs_as_a_user_with_a_healthcheck_and_no_build_tools() -> None:
    text = (ROOT / "Dockerfile").read_text()
    final = text[text.rindex("\nFROM ") :]
    assert re.search(r"^USER 10001", final, re.M)
    assert "HEALTHCHECK" in final
    assert "uv" not in re.findall(r"^RUN .*", final, re.M)[0]
    # The final stage copies the build stage's venv, never uv, pip installs or compilers.
    assert not re.search(r"pip install|apt-get|gcc|build-essential|/uv\b", final)
    assert "--no-default-groups" in text  # no dev, bench or local dependencies


# --- Compose -------------------------------------------------------------------------------


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def compose_errors(document: dict[str, Any]) -> list[tuple[str, ...]]:
    schema = get_builtin_schema("vendor.compose-spec")
    validator = validator_for(schema)(schema)
    return [tuple(map(str, e.absolute_path)) for e in validator.iter_errors(document)]


def test_the_compose_file_matches_the_compose_spec() -> None:
    assert compose_errors(compose()) == []


def test_the_compose_spec_check_bites() -> None:
    broken = compose()
    broken["services"]["web"]["depends_on"] = {"release": {"condition": "service_finished"}}
    broken["services"]["redis"]["restart_policy"] = "always"
    errors = compose_errors(broken)
    assert {path[:2] for path in errors} == {("services", "redis"), ("services", "web")}
    assert ("services", "web", "depends_on") in errors


def test_compose_runs_one_worker_per_queue_after_the_release_step() -> None:
    services = compose()["services"]
    stack = {name: s for name, s in services.items() if s.get("image") == services["web"]["image"]}
    assert services["release"]["command"] == ["release"]
    for name, service in stack.items():
        if name != "release":
            waits = service["depends_on"]["release"]["condition"]
            assert waits == "service_completed_successfully", name
    workers = {
        s["environment"]["WORKER_QUEUE"]: s for s in stack.values() if s["command"] == ["worker"]
    }
    assert tuple(workers) == DEFAULTS.queues
    for queue, worker in workers.items():
        drain = int(worker["environment"]["WORKER_DRAIN_SECONDS"])
        grace = int(worker["stop_grace_period"].removesuffix("s"))
        assert grace >= drain + shutdown_timeout() + MARGIN, queue
    assert services["scheduler"]["deploy"]["replicas"] == 2
    assert (
        "yes"
        in services["redis"]["command"][services["redis"]["command"].index("--appendonly") + 1]
    )
    assert services["prometheus"]["profiles"] == ["monitoring"]


# --- Kubernetes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "doc"),
    [
        pytest.param(p, d, id=f"{p.name}:{d['kind']}/{d['metadata']['name']}")
        for p, d in manifests()
    ],
)
def test_each_manifest_is_valid(path: Path, doc: dict[str, Any]) -> None:
    if doc["kind"] in CRD_KINDS:
        errors = [
            f"{list(e.absolute_path)}: {e.message}"
            for e in crd_validator(doc["kind"]).iter_errors(doc)
        ]
        assert errors == []
    else:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_the_kubernetes_checks_bite() -> None:
    (web,) = [d for d in of_kind("Deployment") if d["metadata"]["name"] == "stack-web"]
    web["spec"]["template"]["spec"]["terminationGracePeriod"] = 30
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(web, KUBERNETES_VERSION, strict=True)
    scaled = of_kind("ScaledObject")[0]
    scaled["spec"]["minReplicas"] = 1
    assert list(crd_validator("ScaledObject").iter_errors(scaled))


def test_only_keda_kinds_skip_kubernetes_validate() -> None:
    # The allow-list is exact: every other kind is one kubernetes-validate knows.
    kinds = {doc["kind"] for _, doc in manifests()}
    assert kinds >= CRD_KINDS
    for _, doc in manifests():
        if doc["kind"] in CRD_KINDS:
            with pytest.raises(kubernetes_validate.SchemaNotFoundError):
                kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_kustomization_applies_every_manifest_with_one_image() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    # The Secret is created by hand: its example must never be applied over the real one.
    assert listed == on_disk - {"secret.example.yaml"}
    (image,) = kustomization["images"]
    pods = [d["spec"]["template"]["spec"] for d in of_kind("Deployment") + of_kind("Job")]
    assert {c["image"] for pod in pods for c in pod["containers"]} == {image["name"]}
    assert {d["metadata"]["namespace"] for _, d in manifests() if d["kind"] != "Namespace"} == {
        kustomization["namespace"]
    }


def workers() -> dict[str, dict[str, Any]]:
    return {
        container_env(d["spec"]["template"]["spec"])["WORKER_QUEUE"]: d
        for d in of_kind("Deployment")
        if d["metadata"]["labels"]["app.kubernetes.io/component"] == "worker"
    }


def test_one_worker_deployment_per_queue_with_its_drain_in_the_grace_period() -> None:
    (config,) = of_kind("ConfigMap")
    assert tuple(workers()) == tuple(config["data"]["QUEUES"].split(",")) == DEFAULTS.queues
    for queue, deployment in workers().items():
        pod = deployment["spec"]["template"]["spec"]
        drain = int(container_env(pod)["WORKER_DRAIN_SECONDS"])
        grace = pod["terminationGracePeriodSeconds"]
        assert grace >= drain + shutdown_timeout() + MARGIN, queue


def test_keda_scales_each_worker_on_its_stream_backlog() -> None:
    (config,) = of_kind("ConfigMap")
    prefix = config["data"]["REDIS_PREFIX"]
    scaled = {s["spec"]["scaleTargetRef"]["name"]: s for s in of_kind("ScaledObject")}
    (auth,) = of_kind("TriggerAuthentication")
    (secret,) = yaml.safe_load_all((K8S / "secret.example.yaml").read_text())
    for queue, deployment in workers().items():
        so = scaled[deployment["metadata"]["name"]]
        (trigger,) = so["spec"]["triggers"]
        assert trigger["type"] == "redis-streams"
        assert set(trigger["metadata"]) <= REDIS_STREAMS_METADATA
        assert trigger["metadata"]["stream"] == f"{prefix}:queue:{queue}"
        assert trigger["metadata"]["consumerGroup"] == f"{prefix}:workers"
        assert int(trigger["metadata"]["lagCount"]) >= 1
        assert trigger["authenticationRef"]["name"] == auth["metadata"]["name"]
        # Never zero: worker children also fire delayed retries and reclaim dead workers' work.
        assert so["spec"]["minReplicaCount"] >= 1
    assert {ref["parameter"] for ref in auth["spec"]["secretTargetRef"]} <= REDIS_STREAMS_METADATA
    assert {ref["key"] for ref in auth["spec"]["secretTargetRef"]} <= set(secret["stringData"])


def test_every_deployment_has_a_disruption_budget_probes_and_resources() -> None:
    budgets = {
        tuple(sorted(p["spec"]["selector"]["matchLabels"].items()))
        for p in of_kind("PodDisruptionBudget")
    }
    for deployment in of_kind("Deployment"):
        name = deployment["metadata"]["name"]
        assert tuple(sorted(deployment["spec"]["selector"]["matchLabels"].items())) in budgets, name
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert "livenessProbe" in container, name
        assert {"requests", "limits"} <= set(container["resources"]), name
    (web,) = [d for d in of_kind("Deployment") if d["metadata"]["name"] == "stack-web"]
    (container,) = web["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    (job,) = of_kind("Job")
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["release"]


def test_the_configmap_pools_fit_the_budget_at_full_scale() -> None:
    # The numbers config.yaml's comment gives: web 2 + 1 surge, workers at maxReplicaCount,
    # 2 schedulers + 1 surge, against max_connections=200.
    (config,) = of_kind("ConfigMap")
    scaled = {s["spec"]["scaleTargetRef"]["name"]: s for s in of_kind("ScaledObject")}
    groups = tuple(
        WorkerGroup(
            queue,
            scaled[d["metadata"]["name"]]["spec"]["maxReplicaCount"],
            int(container_env(d["spec"]["template"]["spec"])["WORKER_PROCESSES"]),
        )
        for queue, d in workers().items()
    )
    by_name = {d["metadata"]["name"]: d["spec"] for d in of_kind("Deployment")}
    web, scheduler = by_name["stack-web"], by_name["stack-scheduler"]
    deployment = Deployment(
        web_replicas=web["replicas"] + web["strategy"]["rollingUpdate"]["maxSurge"],
        web_processes=int(config["data"]["WEB_PROCESSES"]),
        workers=groups,
        scheduler_replicas=scheduler["replicas"]
        + scheduler["strategy"]["rollingUpdate"]["maxSurge"],
    )
    plan = plan_deployment(200, deployment, reserve=float(config["data"]["DB_CONNECTION_RESERVE"]))
    pool, overflow = int(config["data"]["DB_POOL_SIZE"]), int(config["data"]["DB_MAX_OVERFLOW"])
    assert pool + overflow <= plan.pool_size + plan.max_overflow
    assert (plan.pool_size, plan.max_overflow) == (pool, overflow)  # and no smaller than needed
    for group in groups:  # no surge for workers: the budget holds during a rollout too
        strategy = by_name[f"stack-worker-{group.queue}"]["strategy"]["rollingUpdate"]
        assert strategy["maxSurge"] == 0
