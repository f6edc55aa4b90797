"""The one small interface every model backend implements: generate replies for a batch of chat requests.

A request is text-only or carries one image. Backends raise :class:`TransientBackendError` for what may work on
a later try (rate limits, server errors, timeouts, a busy GPU) and :class:`PermanentBackendError` for what will
not (a bad request, a missing model); the Celery tasks retry the first and mark the samples failed on the second.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol


class BackendError(Exception):
    """A backend could not answer."""


class TransientBackendError(BackendError):
    """Worth another try later (HTTP 429/5xx, timeouts, connection errors, CUDA out of memory)."""


class PermanentBackendError(BackendError):
    """Will fail again (HTTP 4xx other than 429, a model that cannot be loaded, an unreadable image)."""


@dataclass(frozen=True)
class ChatRequest:
    """One prompt: an optional system text (the persona), the user's text, and optionally one image file."""

    text: str
    system: str = ""
    image: str | None = None  # path of an image file


@dataclass
class Generation:
    """One reply, with what it cost. ``latency_ms`` is the wall time of the call that produced it (for a batch,
    the whole batch: divide by ``batch_size`` for the time per prompt)."""

    text: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_ms: int = 0
    batch_size: int = 1
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class GenerationParams:
    max_new_tokens: int = 256
    min_new_tokens: int = 0
    temperature: float = 0.0
    top_p: float = 1.0
    batch_size: int = 8  # prompts per forward pass (transformers) or requests in flight (openai)
    suppress_tokens: tuple[int, ...] = ()

    @classmethod
    def from_config(cls, cfg: dict) -> GenerationParams:
        known = {k: v for k, v in (cfg or {}).items() if k in cls.__dataclass_fields__}
        if "suppress_tokens" in known:
            known["suppress_tokens"] = tuple(known["suppress_tokens"] or ())
        return cls(**known)


class Backend(Protocol):
    name: str  # "transformers", "openai", "tiny"
    model: str  # what to show and record: hub id, path or served model name
    placeholder: bool  # True when the outputs are random (the tiny model): never a real label

    def generate(self, requests: Sequence[ChatRequest], params: GenerationParams) -> list[Generation]:
        """One reply per request, in order."""
