"""ASGI middleware: one log line and one metric per request; the body size limit setting."""

from __future__ import annotations

import json
import logging
import os
import time

from starlette.exceptions import HTTPException

log = logging.getLogger("workbench.service.http")

DEFAULT_MAX_BODY_BYTES = 1 << 20


def max_body_bytes() -> int:
    """``WORKBENCH_MAX_BODY_BYTES`` (default 1 MB)."""
    try:
        return int(os.environ.get("WORKBENCH_MAX_BODY_BYTES") or DEFAULT_MAX_BODY_BYTES)
    except ValueError:
        return DEFAULT_MAX_BODY_BYTES


class AccessLog:
    """Logs ``method path status duration`` and counts requests by route template."""

    def __init__(self, app, metrics_getter, prefix: str = ""):
        self.app, self.metrics_getter, self.prefix = app, metrics_getter, prefix

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        t0 = time.perf_counter()
        status = {"code": 500}

        async def capture(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            path = scope.get("path", "")
            if (
                self.prefix
                and path.startswith(self.prefix)
                and not template.startswith(self.prefix)
                and template != "unmatched"
            ):  # routes of an included router carry their own path only
                template = self.prefix + template
            ms = round((time.perf_counter() - t0) * 1000, 2)
            metrics = self.metrics_getter()
            if metrics is not None:
                metrics.http_requests.labels(scope.get("method", ""), template, str(status["code"])).inc()
            if template not in ("/health", "/metrics", "/ready"):
                log.info(
                    "%s %s %s",
                    scope.get("method"),
                    scope.get("path"),
                    status["code"],
                    extra={
                        "method": scope.get("method"),
                        "path": scope.get("path"),
                        "status_code": status["code"],
                        "duration_ms": ms,
                    },
                )


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413 in the API's JSON error shape.

    A ``Content-Length`` over the limit is answered at once; a body without one (chunked) is counted
    while the route reads it and cut off with an ``HTTPException(413)`` that the app's handlers answer.
    """

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                body = json.dumps(
                    {
                        "error": {
                            "code": "payload_too_large",
                            "message": too_large_message(self.limit),
                            "details": {"max_bytes": self.limit, "content_length": int(value)},
                        }
                    }
                ).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 413,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close"),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise HTTPException(413, too_large_message(self.limit))
            return message

        await self.app(scope, counted, send)


def too_large_message(limit: int) -> str:
    return f"the request body is larger than {limit} bytes (WORKBENCH_MAX_BODY_BYTES)"
