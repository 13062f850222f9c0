"""The error bodies every route answers with, as the OpenAPI schema declares them.

An `HTTPException` answers `{"detail": "<reason>"}` (`ErrorOut`); a request FastAPI cannot
validate answers 422 with `{"detail": [ValidationError, ...]}`, FastAPI's own schema. Neither
ever echoes more than `INPUT_SHOWN_CHARS` of what the client sent: a reason quotes at most a
few dozen characters, and the validation handler here cuts each error's `input`.
"""

import json
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request, Response, status
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

INPUT_SHOWN_CHARS = 200


class ErrorOut(BaseModel):
    """Why the request was refused."""

    detail: str


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route that can answer `codes` with an `ErrorOut`."""
    return {
        code: {"model": ErrorOut, "description": HTTPStatus(code).phrase}
        for code in sorted(set(codes))
    }


def control_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a control route (app/security.py): 401 without a credential, 403 with
    a viewer's where an operator's is needed, 404 while its role has no token, and `codes`."""
    return error_responses(401, 403, 404, *codes)


def body_error(field: str, value: Any, message: str) -> RequestValidationError:
    """A 422 a route finds after validation, in the same shape as FastAPI's own."""
    return RequestValidationError(
        [{"type": "value_error", "loc": ("body", field), "msg": message, "input": value}]
    )


def _cut(value: Any) -> Any:
    encoded = jsonable_encoder(value)
    text = encoded if isinstance(encoded, str) else json.dumps(encoded, default=str)
    if len(text) <= INPUT_SHOWN_CHARS:
        return encoded
    return f"{text[:INPUT_SHOWN_CHARS]}… ({len(text)} characters)"


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, RequestValidationError):  # registered for that class only
        raise exc
    errors = []
    for error in exc.errors():
        error = dict(error)
        if "input" in error:
            error["input"] = _cut(error["input"])
        if "ctx" in error:
            error["ctx"] = {key: _cut(value) for key, value in error["ctx"].items()}
        errors.append(error)
    return JSONResponse(status_code=422, content={"detail": jsonable_encoder(errors)})


async def _http_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, StarletteHTTPException):  # registered for that class only
        raise exc
    if exc.status_code == status.HTTP_405_METHOD_NOT_ALLOWED:
        # Starlette's Allow names the methods of the first route on the path only; a path
        # served by several routes (GET and POST /admin/schedules) supports all of theirs.
        allowed = sorted(
            method
            for route in request.app.router.routes
            if isinstance(route, APIRoute) and route.matches(request.scope)[0] is Match.PARTIAL
            for method in route.methods or ()
        )
        exc = StarletteHTTPException(
            exc.status_code, exc.detail, {**(exc.headers or {}), "Allow": ", ".join(allowed)}
        )
    return await http_exception_handler(request, exc)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
