"""JSON errors of the API: ``{"error": {"code", "message", "details"}}`` with the right HTTP status."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from engine.errors import DSLError, WorkbenchError

log = logging.getLogger("workbench.service")


class ApiError(Exception):
    """An error answered as JSON with ``status`` (400 bad input, 404, 409 wrong state, 413 …)."""

    def __init__(
        self, status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
    ):
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details
        self.headers = headers  # e.g. Retry-After on a 429, WWW-Authenticate on a 401


def error_response(status: int, code: str, message: str, details: Any = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "details": details}}, status_code=status)


def _field(loc) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


def validation_details(errors: list[dict], prefix: str = "") -> list[dict]:
    """Pydantic errors as ``[{field, message, type}]`` (the field as a dotted path)."""
    out = []
    for e in errors:
        name = _field(e.get("loc", ()))
        out.append(
            {
                "field": f"{prefix}{name}" if prefix else name,
                "message": str(e.get("msg", "")).removeprefix("Value error, "),
                "type": e.get("type"),
            }
        )
    return out


def dsl_error(exc: DSLError) -> ApiError:
    """A DSL that does not parse or validate: 400 with every error (line, column, excerpt, hint)."""
    issues = [dict(i.to_dict(), excerpt=i.excerpt) for i in exc.issues]
    first = exc.issues[0]
    where = f" at line {first.line}, column {first.column}" if first.line else ""
    return ApiError(400, "invalid_workflow", f"the workflow is invalid: {first.message}{where}", {"errors": issues})


def _status_for(exc: WorkbenchError) -> tuple[int, str]:
    from engine.library import WorkflowNotFoundError
    from engine.store import StoreError

    if isinstance(exc, WorkflowNotFoundError):
        return 404, "not_found"
    if isinstance(exc, StoreError):
        return 503, "store_unavailable"
    try:
        from ray_tasks.cluster import ClusterError

        if isinstance(exc, ClusterError):
            return 503, "cluster_unavailable"
    except ImportError:  # pragma: no cover
        pass
    from engine.inputs import InputValidationError
    from engine.secrets import SecretError

    if isinstance(exc, InputValidationError):
        return 422, "invalid_input"
    if isinstance(exc, SecretError):
        return 422, "missing_secret"
    from engine.runner import RunError

    if isinstance(exc, RunError):
        return 409, "conflict"
    return 400, "invalid_request"


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into the JSON error shape."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        resp = error_response(exc.status, exc.code, exc.message, exc.details)
        if exc.headers:
            resp.headers.update(exc.headers)
        return resp

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        errors = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            e = next(e for e in errors if e.get("type") == "json_invalid")
            ctx = e.get("ctx") or {}
            return error_response(
                400,
                "invalid_json",
                f"the body is not valid JSON: {ctx.get('error', e.get('msg'))}",
                [
                    {
                        "field": "body",
                        "message": str(ctx.get("error", e.get("msg"))),
                        "position": (e.get("loc") or [None, None])[-1],
                    }
                ],
            )
        details = validation_details(errors)
        msg = "; ".join(f"{d['field']}: {d['message']}" for d in details[:5])
        return error_response(400, "invalid_request", f"invalid request: {msg}", details)

    @app.exception_handler(ValidationError)
    async def _invalid_model(request: Request, exc: ValidationError):
        details = validation_details(exc.errors())
        msg = "; ".join(f"{d['field']}: {d['message']}" for d in details[:5])
        return error_response(400, "invalid_request", f"invalid request: {msg}", details)

    @app.exception_handler(DSLError)
    async def _dsl(request: Request, exc: DSLError):
        e = dsl_error(exc)
        return error_response(e.status, e.code, e.message, e.details)

    @app.exception_handler(WorkbenchError)
    async def _workbench(request: Request, exc: WorkbenchError):
        status, code = _status_for(exc)
        return error_response(status, code, str(exc), getattr(exc, "errors", None) if status == 422 else None)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        # FastAPI's only own 400 is a body it could not parse (e.g. JSON nested beyond Python's recursion limit)
        code = {400: "invalid_json", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
            exc.status_code, "http_error"
        )
        if exc.status_code == 413:
            from engine.service.middleware import max_body_bytes, too_large_message

            limit = max_body_bytes()
            return error_response(413, code, too_large_message(limit), {"max_bytes": limit})
        return error_response(exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(500, "internal_error", f"internal error: {type(exc).__name__}: {exc}")
