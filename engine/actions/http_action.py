"""``http`` action: GET/POST with a timeout and a host allowlist.

Allowed hosts: the binding's ``allowed_hosts`` plus ``WORKBENCH_HTTP_ALLOWED_HOSTS`` (comma
separated); by default only localhost. 5xx responses and connection problems raise
``ConnectionError`` (transient, retried by recovery); 4xx raise ``ValueError`` (data error).
"""
from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from urllib.parse import urlparse

from engine.actions.templating import fill

DEFAULT_ALLOWED = ("localhost", "127.0.0.1", "::1")


def allowed_hosts(binding: dict) -> set[str]:
    env = [h.strip() for h in os.environ.get("WORKBENCH_HTTP_ALLOWED_HOSTS", "").split(",") if h.strip()]
    return set(DEFAULT_ALLOWED) | set(binding.get("allowed_hosts") or ()) | set(env)


def run_http(binding: dict, ctx, meta: dict) -> dict:
    url = fill(binding["url"], ctx)
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https"):
        raise ValueError(f"only http(s) URLs are allowed, got '{parsed.scheme}'")
    host = parsed.hostname or ""
    hosts = allowed_hosts(binding)
    if host not in hosts:
        raise PermissionError(f"host '{host}' is not in the allowlist ({', '.join(sorted(hosts))}); add it to "
                              "allowed_hosts in the state binding or WORKBENCH_HTTP_ALLOWED_HOSTS")
    method = binding.get("method") or "GET"
    data = None
    headers = {"Accept": "application/json", **(binding.get("headers") or {})}
    if method == "POST":
        body = binding.get("body")
        payload = json.loads(fill(json.dumps(body), ctx)) if body is not None else {}
        data = json.dumps(payload).encode()
        headers.setdefault("Content-Type", "application/json")
    timeout = float(binding.get("timeout_s") or meta.get("timeout_s") or 30)
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - allowlisted above
            raw = resp.read(5_000_000)
            status = resp.status
    except urllib.error.HTTPError as exc:
        if exc.code >= 500 or exc.code == 429:
            raise ConnectionError(f"HTTP {exc.code} from {host}") from None
        raise ValueError(f"HTTP {exc.code} from {host}: {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise ConnectionError(f"cannot reach {host}: {exc.reason}") from None
    text = raw.decode("utf-8", "replace")
    try:
        body_out = json.loads(text)
    except ValueError:
        body_out = text
    into = binding.get("into") or meta.get("state") or "response"
    return {into: body_out, f"{into}_status": status}
