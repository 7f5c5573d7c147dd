"""``RAG_API_KEY``: when it is set, a request to the API must carry ``Authorization: Bearer <key>``."""

from __future__ import annotations

import hmac

from pydantic import SecretStr

from api.errors import ApiError

SCHEME = "bearer"


def configured_key(key: SecretStr | str | None) -> bytes | None:
    """The key the server demands, as bytes; None when the API is open (no key, or a blank one)."""
    value = key.get_secret_value() if isinstance(key, SecretStr) else (key or "")
    return value.strip().encode("utf-8") or None


def check(authorization: str | None, key: bytes | None) -> None:
    """Raise a 401 unless ``authorization`` is ``Bearer <key>`` (compared in constant time); open without a key."""
    if key is None:
        return
    scheme, _, given = (authorization or "").strip().partition(" ")
    if scheme.lower() != SCHEME or not given.strip():
        raise unauthorized("缺少 API 密钥：请在请求头里加上 Authorization: Bearer <密钥>（密钥即服务端的 RAG_API_KEY）。")
    if not hmac.compare_digest(given.strip().encode("utf-8", "replace"), key):
        raise unauthorized("API 密钥不正确：请使用服务端 RAG_API_KEY 设置的密钥。")


def unauthorized(message: str) -> ApiError:
    return ApiError(401, message, code="invalid_api_key", headers={"WWW-Authenticate": "Bearer"})


def openapi_security(schema: dict) -> dict:
    """``schema`` declaring that every operation needs the bearer key."""
    components = schema.setdefault("components", {})
    components.setdefault("securitySchemes", {})["bearerAuth"] = {
        "type": "http", "scheme": "bearer", "description": "服务端 RAG_API_KEY 设置的密钥",
    }
    schema["security"] = [{"bearerAuth": []}]
    return schema
