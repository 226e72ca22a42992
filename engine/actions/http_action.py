"""``http`` action: GET/POST through httpx, inside the sandbox of engine.sandbox.

* Hosts: the binding's ``allowed_hosts`` (public hosts) plus the administrator's list
  (``WORKBENCH_HTTP_ALLOWED_HOSTS`` or ``http_allowed_hosts`` in data/security.toml). A host that
  resolves to a loopback, private or link-local address is refused unless the administrator lists it.
* Redirects are followed by hand, at most ``http_max_redirects``, each hop checked like the first.
* One total deadline for the whole exchange (``timeout_s``, default 30 s), not a per-read timeout:
  a server sending a byte every few seconds cannot hold the state longer.
* ``{secret:NAME}`` in the URL, headers and body is resolved here, on the worker (engine.secrets).
* An answer larger than ``http_max_bytes`` (5 MB by default) is an error, never cut silently.

5xx/429 answers and connection problems raise ``ConnectionError`` (transient, retried by recovery);
4xx raise ``ValueError`` (data error); the deadline raises ``TimeoutError``.
"""

from __future__ import annotations

import json
import time
from urllib.parse import urljoin, urlparse

from engine.actions.templating import fill
from engine.sandbox import (
    DEFAULT_HTTP_MAX_BYTES,
    DEFAULT_HTTP_MAX_REDIRECTS,
    SandboxError,
    admin_http_hosts,
    check_http_host,
    setting,
)

DEFAULT_TIMEOUT_S = 30.0
_REDIRECTS = (301, 302, 303, 307, 308)


def _json_text(value: str) -> str:
    """A value escaped for insertion inside a JSON string literal."""
    return json.dumps(value)[1:-1]


def allowed_hosts(binding: dict) -> set[str]:
    """Hosts this binding may reach (internal addresses still need the administrator's list)."""
    return admin_http_hosts() | {str(h).lower() for h in (binding.get("allowed_hosts") or ())}


def _checked_url(url: str, binding: dict) -> str:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https"):
        raise ValueError(f"only http(s) URLs are allowed, got '{parsed.scheme}'")
    try:
        port = parsed.port
    except ValueError:
        raise ValueError(f"the URL '{url}' has an invalid port") from None
    check_http_host(
        parsed.hostname or "", port or (443 if parsed.scheme == "https" else 80), binding.get("allowed_hosts") or ()
    )
    return parsed.hostname or ""


def _remaining(deadline: float, limit: float, host: str) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError(f"the HTTP exchange with {host} took longer than its limit of {limit:g} s")
    return left


def _read_body(resp, deadline: float, limit: float, host: str, max_bytes: int) -> bytes:
    declared = resp.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise ValueError(
            f"the answer from {host} is {int(declared):,} bytes, over the limit of {max_bytes:,} "
            "(http_max_bytes); refused rather than cut"
        )
    chunks: list[bytes] = []
    size = 0
    for chunk in resp.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise ValueError(
                f"the answer from {host} is over the limit of {max_bytes:,} bytes (http_max_bytes); "
                "refused rather than cut"
            )
        chunks.append(chunk)
        _remaining(deadline, limit, host)
    return b"".join(chunks)


def run_http(binding: dict, ctx, meta: dict) -> dict:
    """Make the request, following allowed redirects, within the total deadline and size limit."""
    import httpx

    from engine.secrets import resolve

    url = fill(binding["url"], ctx, secrets=True)
    method = binding.get("method") or "GET"
    content = None
    headers = {"Accept": "application/json", **resolve(binding.get("headers") or {})}
    secret_headers = [k for k, v in (binding.get("headers") or {}).items() if "{secret:" in str(v)]
    if method == "POST":
        body = binding.get("body")
        payload = (
            json.loads(fill(json.dumps(body), ctx, secrets=True, secret_format=_json_text)) if body is not None else {}
        )
        content = json.dumps(payload).encode()
        headers.setdefault("Content-Type", "application/json")
    limit = float(binding.get("timeout_s") or meta.get("timeout_s") or DEFAULT_TIMEOUT_S)
    max_bytes = int(setting("http_max_bytes", DEFAULT_HTTP_MAX_BYTES))
    max_redirects = int(setting("http_max_redirects", DEFAULT_HTTP_MAX_REDIRECTS))
    deadline = time.monotonic() + limit
    host = _checked_url(url, binding)
    hops = 0
    with httpx.Client(follow_redirects=False, trust_env=False) as client:
        while True:
            left = _remaining(deadline, limit, host)
            try:
                with client.stream(method, url, content=content, headers=headers, timeout=httpx.Timeout(left)) as resp:
                    if resp.status_code in _REDIRECTS and resp.headers.get("location"):
                        nxt = urljoin(url, resp.headers["location"])
                        hops += 1
                        if hops > max_redirects:
                            raise ConnectionError(f"more than {max_redirects} redirects from {host}")
                        try:
                            next_host = _checked_url(nxt, binding)
                        except SandboxError as exc:
                            raise SandboxError(f"redirect from {host} to a host that is not allowed: {exc}") from None
                        if resp.status_code == 303 or (resp.status_code in (301, 302) and method == "POST"):
                            method, content = "GET", None
                            headers.pop("Content-Type", None)
                        if next_host != host:  # never hand credentials to another host
                            for name in ("Authorization", *secret_headers):
                                headers.pop(name, None)
                        url, host = nxt, next_host
                        continue
                    status = resp.status_code
                    if status >= 500 or status == 429:
                        raise ConnectionError(f"HTTP {status} from {host}")
                    if status >= 400:
                        raise ValueError(f"HTTP {status} from {host}: {resp.reason_phrase}")
                    raw = _read_body(resp, deadline, limit, host, max_bytes)
                    break
            except httpx.TimeoutException:
                raise TimeoutError(f"the HTTP exchange with {host} took longer than its limit of {limit:g} s") from None
            except httpx.HTTPError as exc:
                raise ConnectionError(f"cannot reach {host}: {type(exc).__name__}: {exc}") from None
    text = raw.decode("utf-8", "replace")
    try:
        body_out = json.loads(text)
    except ValueError:
        body_out = text
    into = binding.get("into") or meta.get("state") or "response"
    return {into: body_out, f"{into}_status": status}
