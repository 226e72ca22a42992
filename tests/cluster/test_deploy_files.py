"""The deployment files parse and hang together: Dockerfile, docker-compose.yml, deploy/kuberay/*.yaml.

No registry, no Docker: YAML is parsed with PyYAML and its structure checked (``docker compose config``
runs too when a docker CLI exists)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
KUBERAY = ROOT / "deploy" / "kuberay"


def _dockerfile() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_the_image_is_slim_pinned_and_not_root():
    steps = _dockerfile()
    froms = [rest for word, rest in steps if word == "FROM"]
    assert froms and re.match(r"python:3\.1[1-3]-slim", froms[0]), froms
    users = [rest for word, rest in steps if word == "USER"]
    assert users and users[-1] not in ("root", "0"), "the image must end as a non-root user"
    runs = " ".join(rest for word, rest in steps if word == "RUN")
    assert "--constraint constraints.txt" in runs, "installs must be pinned by constraints.txt"
    copied = " ".join(rest for word, rest in steps if word == "COPY")
    for part in ("constraints.txt", "pyproject.toml", "engine", "ray_tasks", "app"):
        assert part in copied
    assert (ROOT / "constraints.txt").is_file()
    assert any(word == "CMD" for word, _ in steps)


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_a_ray_head_a_worker_the_service_and_the_app():
    services = _compose()["services"]
    assert {"ray-head", "ray-worker", "service", "app"} <= set(services)
    for name, svc in services.items():
        assert svc.get("image") or svc.get("build"), name
        assert svc.get("command"), name
        for port in svc.get("ports") or []:
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond this host"
    head, worker = services["ray-head"]["command"], services["ray-worker"]["command"]
    assert "--head" in head and "--block" in head
    assert "--address=ray-head:6379" in worker and "--block" in worker
    assert services["service"]["environment"]["RAY_ADDRESS"] == "ray-head:6379"
    assert services["app"]["environment"]["WORKBENCH_SERVER"] == "http://service:8000"
    assert services["ray-worker"]["depends_on"]["ray-head"]["condition"] == "service_healthy"


def test_compose_keeps_the_records_in_a_named_volume():
    compose = _compose()
    declared = set(compose["volumes"])
    mounts = {
        name: [str(v).split(":")[0] for v in svc.get("volumes") or []] for name, svc in compose["services"].items()
    }
    assert "records" in mounts["service"] and "records" in declared
    db = compose["services"]["service"]["environment"]["WORKBENCH_DB"]
    assert any(db.startswith(str(v).split(":")[1]) for v in compose["services"]["service"]["volumes"])
    for name, used in mounts.items():
        assert set(used) <= declared, f"{name} mounts an undeclared volume"
    for name in ("ray-head", "ray-worker", "service"):  # same path on every node: artifacts, SQL inputs
        assert "shared-data" in mounts[name], name


def _has_compose() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _has_compose(), reason="no docker compose on this machine")
def test_docker_compose_accepts_the_file():
    proc = subprocess.run(["docker", "compose", "config", "-q"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def _kube_docs() -> list[dict]:
    docs = []
    for path in sorted(KUBERAY.glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def _pod_specs(doc: dict) -> list[dict]:
    if doc["kind"] == "Deployment":
        return [doc["spec"]["template"]["spec"]]
    if doc["kind"] == "RayCluster":
        spec = doc["spec"]
        return [spec["headGroupSpec"]["template"]["spec"]] + [g["template"]["spec"] for g in spec["workerGroupSpecs"]]
    return []


def test_kuberay_example_has_a_cluster_and_the_service_and_app_deployments():
    docs = _kube_docs()
    for d in docs:
        assert {"apiVersion", "kind", "metadata"} <= set(d), d
        assert d["metadata"].get("name"), d
    by_kind: dict[str, list[dict]] = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    (ray_cluster,) = by_kind["RayCluster"]
    assert ray_cluster["apiVersion"] == "ray.io/v1"
    spec = ray_cluster["spec"]
    assert spec["headGroupSpec"]["rayStartParams"] is not None
    assert spec["workerGroupSpecs"] and all(g["groupName"] and g["replicas"] >= 1 for g in spec["workerGroupSpecs"])
    deployments = {d["metadata"]["name"]: d for d in by_kind["Deployment"]}
    assert {"workbench-service", "workbench-app"} <= set(deployments)
    for d in deployments.values():
        assert d["apiVersion"] == "apps/v1"
        assert d["spec"]["selector"]["matchLabels"].items() <= d["spec"]["template"]["metadata"]["labels"].items()
    for svc in by_kind["Service"]:  # every Service selects some Deployment's pods
        sel = svc["spec"]["selector"].items()
        assert any(sel <= d["spec"]["template"]["metadata"]["labels"].items() for d in deployments.values()), svc
    env = {
        e["name"]: e["value"]
        for e in deployments["workbench-service"]["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["RAY_ADDRESS"] == f"{ray_cluster['metadata']['name']}-head-svc:6379"  # KubeRay's head Service


def test_kuberay_pods_run_as_non_root_and_mount_only_declared_claims():
    docs = _kube_docs()
    claims = {d["metadata"]["name"] for d in docs if d["kind"] == "PersistentVolumeClaim"}
    pods = [p for d in docs for p in _pod_specs(d)]
    assert len(pods) >= 4
    for pod in pods:
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] != 0
        volumes = {v["name"]: v for v in pod.get("volumes") or []}
        for c in pod["containers"]:
            assert c["image"]
            for m in c.get("volumeMounts") or []:
                assert m["name"] in volumes, m
        for v in volumes.values():
            if "persistentVolumeClaim" in v:
                assert v["persistentVolumeClaim"]["claimName"] in claims, v
