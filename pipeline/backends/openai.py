"""OpenAI-compatible chat-completions backend (vLLM, Ollama, llama.cpp server, OpenAI, ...).

Images travel as ``data:`` URLs. Requests of a batch run concurrently, at most ``batch_size`` in flight; each has
a timeout and is retried with exponential backoff (honouring ``Retry-After``) on 429, 5xx, timeouts and
connection errors. Only the standard library is used.
"""
from __future__ import annotations

import base64
import json
import mimetypes
import random
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from .base import ChatRequest, Generation, GenerationParams, PermanentBackendError, TransientBackendError

RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


def image_data_url(path: str) -> str:
    mime = mimetypes.guess_type(path)[0] or "image/png"
    try:
        with open(path, "rb") as fh:
            data = base64.b64encode(fh.read()).decode("ascii")
    except OSError as exc:
        raise PermanentBackendError(f"cannot read the image {path}: {exc}") from exc
    return f"data:{mime};base64,{data}"


class OpenAIBackend:
    name = "openai"
    placeholder = False

    def __init__(self, model: str, *, base_url: str, api_key: str = "", timeout: float = 120.0,
                 retries: int = 4, backoff: float = 1.0, max_backoff: float = 30.0):
        if not base_url:
            raise PermanentBackendError("the openai backend needs a base URL (e.g. http://gpu-box:8000/v1)")
        if not base_url.startswith(("http://", "https://")):
            raise PermanentBackendError(f"the base URL must start with http:// or https://, not {base_url!r}")
        self.model = model
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.api_key, self.timeout, self.retries = api_key, timeout, retries
        self.backoff, self.max_backoff = backoff, max_backoff

    def _body(self, request: ChatRequest, params: GenerationParams) -> dict:
        messages = [{"role": "system", "content": request.system}] if request.system else []
        if request.image:
            content = [{"type": "text", "text": request.text},
                       {"type": "image_url", "image_url": {"url": image_data_url(request.image)}}]
        else:
            content = request.text
        messages.append({"role": "user", "content": content})
        return {"model": self.model, "messages": messages, "max_tokens": params.max_new_tokens,
                "temperature": params.temperature, "top_p": params.top_p}

    def _post(self, body: dict) -> tuple[dict, float]:
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        last = ""
        for attempt in range(self.retries + 1):
            started = time.perf_counter()
            wait = None
            try:
                req = urllib.request.Request(self.url, data=data, headers=headers, method="POST")  # noqa: S310 (http(s) only)
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                    return json.loads(resp.read()), time.perf_counter() - started
            except urllib.error.HTTPError as exc:
                detail = exc.read()[:500].decode(errors="replace")
                last = f"HTTP {exc.code} from {self.url}: {detail}"
                if exc.code not in RETRY_STATUS:
                    raise PermanentBackendError(last) from exc
                retry_after = exc.headers.get("Retry-After")
                if retry_after and retry_after.replace(".", "", 1).isdigit():
                    wait = float(retry_after)
            except TimeoutError:
                last = f"no answer from {self.url} within {self.timeout:g}s"
            except urllib.error.URLError as exc:
                if isinstance(exc.reason, TimeoutError):
                    last = f"no answer from {self.url} within {self.timeout:g}s"
                else:
                    last = f"cannot reach {self.url}: {exc.reason}"
            except (ConnectionError, json.JSONDecodeError) as exc:
                last = f"bad exchange with {self.url}: {exc}"
            if attempt < self.retries:
                delay = wait if wait is not None else min(self.max_backoff, self.backoff * 2 ** attempt)
                time.sleep(delay * (1 + 0.1 * random.random()))
        raise TransientBackendError(f"{last} (after {self.retries + 1} tries)")

    def _one(self, request: ChatRequest, params: GenerationParams) -> Generation:
        answer, seconds = self._post(self._body(request, params))
        try:
            text = answer["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError) as exc:
            raise PermanentBackendError(f"unexpected reply from {self.url}: {str(answer)[:300]}") from exc
        if isinstance(text, list):  # some servers answer with content parts
            text = "".join(part.get("text", "") for part in text if isinstance(part, dict))
        usage = answer.get("usage") or {}
        return Generation(text=text.strip(), prompt_tokens=usage.get("prompt_tokens"),
                          completion_tokens=usage.get("completion_tokens"), latency_ms=int(seconds * 1000))

    def generate(self, requests: Sequence[ChatRequest], params: GenerationParams) -> list[Generation]:
        if not requests:
            return []
        with ThreadPoolExecutor(max_workers=max(1, min(params.batch_size, len(requests)))) as pool:
            return list(pool.map(lambda r: self._one(r, params), requests))
