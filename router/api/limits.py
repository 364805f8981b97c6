"""Request limits: a body larger than the limit is refused before it is parsed, and a
validation error never echoes what was sent (it may be megabytes, or a citizen's number)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    """Raised while the body streams in; FastAPI passes HTTP exceptions on as they are."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(status.HTTP_413_CONTENT_TOO_LARGE,
                         f"request body over {max_bytes} bytes")


class BodySizeLimit:
    """Pure ASGI middleware: 413 for a declared or streamed body over `max_bytes`."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self._app = app
        self._max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self._max_bytes):
            await self._refuse(send)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self._max_bytes:
                    raise BodyTooLarge(self._max_bytes)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self._app(scope, counted, watched_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps({"detail": f"request body over {self._max_bytes} bytes"}).encode()
        await send({"type": "http.response.start", "status": status.HTTP_413_CONTENT_TOO_LARGE,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    errors: list[dict[str, Any]] = []
    for error in exc.errors() if isinstance(exc, RequestValidationError) else []:
        errors.append({"loc": list(error.get("loc", ())), "type": error.get("type"),
                       "msg": str(error.get("msg", ""))[:200]})
    return JSONResponse({"detail": errors[:20]},
                        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


def install_limits(api: FastAPI, max_body_bytes: int) -> None:
    api.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
    api.add_exception_handler(RequestValidationError, _validation_error)
