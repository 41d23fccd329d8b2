"""Errors the simulated provider answers with: the provider's body shape, HTTP statuses and codes (reference §8).

Deliberately separate from the client's error classes: the simulator must not share types with the client, so a
contract bug cannot hide on both sides at once.
"""

from __future__ import annotations

import secrets
from typing import Any

_TYPES = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 413: "RequestEntityTooLarge",
          429: "TooManyRequests", 500: "InternalServerError", 503: "ServiceUnavailable"}


def request_id() -> str:
    """A request id shaped like the provider's: 53 hex characters starting '021'."""
    return "021" + secrets.token_hex(25)


class ProviderError(Exception):
    """One error answer: HTTP status plus the provider's `{"error": {code, message, param, type}}`."""

    def __init__(self, status: int, code: str, message: str, param: str = "",
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.param = param
        self.headers = headers or {}

    def body(self, rid: str) -> dict[str, Any]:
        """The JSON body, with the request id appended to the message as the provider does."""
        return {"error": {"code": self.code, "message": f"{self.message} Request id: {rid}", "param": self.param,
                          "type": _TYPES.get(self.status, "BadRequest")}}


def invalid(param: str, detail: str) -> ProviderError:
    """400 InvalidParameter in the provider's wording."""
    return ProviderError(400, "InvalidParameter",
                         f"The parameter `{param}` specified in the request is not valid: {detail}.", param)


def missing(param: str) -> ProviderError:
    """400 MissingParameter in the provider's wording."""
    return ProviderError(400, "MissingParameter", f"The request failed because it is missing `{param}` parameter.",
                         param)


def model_not_found(model: str) -> ProviderError:
    """404 for a model id the account cannot use."""
    return ProviderError(404, "InvalidEndpointOrModel.NotFound",
                         f"The model or endpoint {model} does not exist or you do not have access to it.", "model")


def task_not_found(task_id: str) -> ProviderError:
    """404 for an unknown or deleted task. [UNCONFIRMED] exact code; the error table's NotFound.{P} form is used."""
    return ProviderError(404, "NotFound.TaskId", f"The specified task {task_id} is not found.", "id")


def unauthenticated() -> ProviderError:
    """401 for a missing or wrong API key."""
    return ProviderError(401, "AuthenticationError", "the API key or AK/SK in the request is missing or invalid.",
                         headers={"x-error-code": "AuthN_MissOrInvalidAuthorizationHeader"})


def rpm_exceeded() -> ProviderError:
    """429 when the model's requests-per-minute limit is used up."""
    return ProviderError(429, "ModelAccountRpmRateLimitExceeded",
                         "RPM (Requests Per Minute) limit of the model is exceeded.")


def queue_full() -> ProviderError:
    """429 when too many tasks are queued for the account."""
    return ProviderError(429, "QuotaExceeded", "The request has exceeded the quota.")


def internal() -> ProviderError:
    """500 InternalServiceError."""
    return ProviderError(500, "InternalServiceError",
                         "The service encountered an unexpected internal error. Please retry later.")
