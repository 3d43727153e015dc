"""A request that cannot be answered: its HTTP status, what to tell the client, whether to retry.

Each API renders it the way its clients read errors (``ingest.server.app``): OpenAI's
``{"error": {...}}`` under ``/v1/``, ``{"detail": ...}`` (FastAPI's own shape, which
whisper-asr-webservice answers with) elsewhere. Never a 200, never a subtitle body.
"""

from __future__ import annotations

from typing import Any

# OpenAI's error types by status class (openai-openapi: invalid_request_error, server_error).
_TYPES = {4: "invalid_request_error", 5: "server_error"}


class RequestError(Exception):
    """``status`` and ``message`` for the client; ``param``: the field at fault, if one;
    ``retry``: whether asking again may succeed (else ``x-should-retry: false``)."""

    def __init__(
        self, status: int, message: str, param: str | None = None, code: str | None = None, *, retry: bool = False
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.retry = retry

    def openai(self) -> dict[str, Any]:
        """OpenAI's error body."""
        kind = _TYPES.get(self.status // 100, "server_error")
        return {"error": {"message": self.message, "type": kind, "param": self.param, "code": self.code}}

    def headers(self) -> dict[str, str]:
        """``x-should-retry: false`` where a retry cannot help; the OpenAI SDKs read it."""
        return {} if self.retry else {"x-should-retry": "false"}
