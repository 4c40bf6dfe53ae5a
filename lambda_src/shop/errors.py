"""The shop's error vocabulary; every handler maps it to `{"error", "message"}` bodies."""

from __future__ import annotations

from typing import Any


class ShopError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, **self.details}


class InvalidInput(ShopError):
    status = 400
    code = "invalid_input"


class NotFound(ShopError):
    status = 404
    code = "not_found"


class VersionConflict(ShopError):
    """A write carried a stale version; the body tells the caller the current one."""

    status = 409
    code = "version_conflict"

    def __init__(self, message: str, current_version: int) -> None:
        super().__init__(message, current_version=current_version)
        self.current_version = current_version


class PayloadTooLarge(ShopError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(ShopError):
    status = 415
    code = "unsupported_media_type"


class BusinessRuleViolation(ShopError):
    status = 422
    code = "business_rule"


class DependencyUnavailable(ShopError):
    status = 503
    code = "dependency_unavailable"
