"""CI/CD pipeline (seed example, bound): the checks read a commit's recorded results in data/samples/commits.csv."""

from __future__ import annotations

import hashlib

from gallery_common import find, keep_message


def _commit(context: dict) -> dict:
    return find("commits.csv", "commit", context["commit"])


def code_quality_check(context: dict, max_lint_errors: int = 0) -> dict:
    """Lint: pass when the commit has no more lint errors than allowed."""
    n = int(_commit(context)["lint_errors"])
    return {"lint_errors": n, "quality_pass": n <= int(context.get("max_lint_errors", max_lint_errors))}


def run_unit_tests(context: dict) -> dict:
    """Unit tests of the commit."""
    n = int(_commit(context)["unit_failures"])
    return {"unit_failures": n, "unit_pass": n == 0}


def run_integration_tests(context: dict) -> dict:
    """Integration tests of the commit."""
    n = int(_commit(context)["integration_failures"])
    return {"integration_failures": n, "integration_pass": n == 0}


def run_security_scan(context: dict) -> dict:
    """Dependency vulnerabilities of the commit."""
    n = int(_commit(context)["vulnerabilities"])
    return {"vulnerabilities": n, "security_pass": n == 0}


def build_image(context: dict) -> dict:
    """A content-addressed image tag."""
    digest = hashlib.sha256(context["commit"].encode()).hexdigest()[:12]
    return {"image": f"registry.local/app:{context['commit']}", "image_digest": f"sha256:{digest}"}


def push_to_registry(context: dict) -> dict:
    """Record the pushed image."""
    return {"pushed": [*context.get("pushed", []), context["image"]]}


def deploy(context: dict, environment: str = "staging") -> dict:
    """Record a deployment of the image to an environment."""
    return {f"{environment}_image": context["image"], "deployed_to": [*context.get("deployed_to", []), environment]}


def smoke_tests(context: dict) -> dict:
    """Smoke tests against staging."""
    return {"smoke_pass": _commit(context)["smoke_ok"] == "true"}


def rollback(context: dict) -> dict:
    """Take staging back to the previous image."""
    return {"staging_image": None, "rolled_back": True}


def notify_failure(context: dict) -> dict:
    """Tell the author what failed."""
    c = _commit(context)
    failed = [
        k
        for k in ("quality_pass", "unit_pass", "integration_pass", "security_pass", "smoke_pass")
        if context.get(k) is False
    ]
    return keep_message(context, f"{c['author']}: pipeline for {c['commit']} failed ({', '.join(failed)})")
