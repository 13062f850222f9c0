"""The error bodies every route answers with, as the OpenAPI schema declares them.

An `HTTPException` answers `{"detail": "<reason>"}` (`ErrorOut`); a request FastAPI cannot
validate answers 422 with `{"detail": [ValidationError, ...]}`, FastAPI's own schema. Neither
ever echoes more than `INPUT_SHOWN_CHARS` of what the client sent: a reason quotes at most a
few dozen characters, and the validation handler here cuts each error's `input`.
"""

import json
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

INPUT_SHOWN_CHARS = 200


class ErrorOut(BaseModel):
    """Why the request was refused."""

    detail: str


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route that can answer `codes` with an `ErrorOut`."""
    return {code: {"model": ErrorOut, "description": HTTPStatus(code).phrase} for code in codes}


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


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
