"""Model backends behind one interface (:class:`base.Backend`). :func:`get_backend` picks one from a role's
config: ``{"backend": "tiny" | "transformers" | "openai", "model": ..., ...}``. Heavy imports stay lazy."""
from __future__ import annotations

import os

from django.conf import settings

from .base import (
    Backend,
    BackendError,
    ChatRequest,
    Generation,
    GenerationParams,
    PermanentBackendError,
    TransientBackendError,
)

BACKENDS = ("tiny", "transformers", "openai")

__all__ = ["BACKENDS", "Backend", "BackendError", "ChatRequest", "Generation", "GenerationParams",
           "PermanentBackendError", "TransientBackendError", "get_backend"]


def get_backend(role: dict) -> Backend:
    kind = role.get("backend", "tiny")
    if kind == "tiny":
        from . import tiny

        return tiny.load()
    if kind == "transformers":
        from . import transformers

        if not role.get("model"):
            raise PermanentBackendError("the transformers backend needs a model (a hub id or a local folder)")
        return transformers.load(role["model"], device=role.get("device") or None, dtype=role.get("dtype") or None)
    if kind == "openai":
        from .openai import OpenAIBackend

        key_env = role.get("api_key_env") or "OPENAI_API_KEY"
        base_url = role.get("base_url") or settings.EISTUDIO_OPENAI_BASE_URL
        return OpenAIBackend(role.get("model") or "", base_url=base_url,
                             api_key=os.environ.get(key_env, ""), timeout=float(role.get("timeout") or 120),
                             retries=int(role.get("retries", 4)), backoff=float(role.get("backoff", 1.0)))
    raise PermanentBackendError(f"unknown backend {kind!r} (choose from {', '.join(BACKENDS)})")
