"""Hugging Face transformers backend: any checkpoint that ``AutoProcessor`` + ``AutoModelForImageTextToText`` load
(LLaVA 1.5/1.6/NeXT, Qwen2-VL / Qwen2.5-VL, SmolVLM, ...) and text-only causal LMs, from a hub id or a local path.

torch and transformers are imported here, lazily: the web process never imports this module's heavy parts.
Models are loaded once per worker process (:func:`load`) and generate in batches with left padding.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from .base import ChatRequest, Generation, GenerationParams, PermanentBackendError, TransientBackendError

log = logging.getLogger(__name__)

_LOADED: dict[tuple, TransformersBackend] = {}
MAX_LOADED = 2  # a VLM and an LLM stay loaded; a third model pushes out the least recently used
_LOCK = threading.Lock()


def load(model: str, *, device: str | None = None, dtype: str | None = None, name: str = "transformers",
         placeholder: bool = False, display: str | None = None) -> TransformersBackend:
    """The backend for ``model``, loaded on first use and kept for the life of the process."""
    key = (model, device, dtype, name)
    with _LOCK:
        if key in _LOADED:
            _LOADED[key] = _LOADED.pop(key)  # most recently used last
        else:
            while len(_LOADED) >= MAX_LOADED:  # a project switched models: free the GPU of the oldest first
                _unload(next(iter(_LOADED)))
            _LOADED[key] = TransformersBackend(model, device=device, dtype=dtype, name=name, placeholder=placeholder,
                                               display=display)
        return _LOADED[key]


def _unload(key) -> None:
    import gc

    import torch

    backend = _LOADED.pop(key)
    log.info("unloading %s", backend.model)
    del backend
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def pick_device_and_dtype(device: str | None = None, dtype: str | None = None):
    """CUDA with bf16 when there is a GPU (fp16 where bf16 is unsupported), else the CPU in float32."""
    import torch

    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if dtype is None:
        if device.startswith("cuda"):
            dtype = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
        else:
            dtype = "float32"
    return device, getattr(torch, dtype)


class TransformersBackend:
    def __init__(self, model: str, *, device: str | None = None, dtype: str | None = None,
                 name: str = "transformers", placeholder: bool = False, display: str | None = None):
        import torch  # noqa: F401  (fail here, clearly, when the worker lacks the gpu extra)
        from transformers import (
            AutoConfig,
            AutoModelForCausalLM,
            AutoModelForImageTextToText,
            AutoProcessor,
            AutoTokenizer,
        )

        self.name, self.model, self.placeholder = name, display or model, placeholder
        self.device, self.dtype = pick_device_and_dtype(device, dtype)
        started = time.perf_counter()
        try:
            config = AutoConfig.from_pretrained(model)
            self.vision = hasattr(config, "vision_config")
            if self.vision:
                self.processor = AutoProcessor.from_pretrained(model)
                self.tokenizer = self.processor.tokenizer
                self.net = AutoModelForImageTextToText.from_pretrained(model, dtype=self.dtype)
            else:
                self.processor = self.tokenizer = AutoTokenizer.from_pretrained(model)
                self.net = AutoModelForCausalLM.from_pretrained(model, dtype=self.dtype)
        except (OSError, ValueError, KeyError) as exc:
            raise PermanentBackendError(f"cannot load model {model!r}: {exc}") from exc
        self.path = model
        self.net.to(self.device).eval()
        self.tokenizer.padding_side = "left"  # decoder-only batches pad on the left
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        log.info("loaded %s on %s (%s) in %.1fs", model, self.device, self.dtype, time.perf_counter() - started)

    @classmethod
    def from_objects(cls, processor, net, *, model: str, name: str = "transformers", placeholder: bool = False):
        """A backend over a processor and a model already in memory (benchmarks of random-weight models)."""
        backend = cls.__new__(cls)
        backend.name, backend.model, backend.placeholder, backend.path = name, model, placeholder, model
        backend.processor, backend.net = processor, net.eval()
        backend.tokenizer = getattr(processor, "tokenizer", processor)
        backend.vision = hasattr(net.config, "vision_config")
        backend.device, backend.dtype = next(net.parameters()).device, next(net.parameters()).dtype
        backend.tokenizer.padding_side = "left"
        return backend

    # -- prompts ----------------------------------------------------------------------------------------------
    def _prompt(self, request: ChatRequest) -> str:
        # The persona goes in front of the user's text: not every chat template has a system role.
        text = f"{request.system}\n\n{request.text}" if request.system else request.text
        if self.vision:
            content = ([{"type": "image"}] if request.image else []) + [{"type": "text", "text": text}]
            messages = [{"role": "user", "content": content}]
        else:
            messages = [{"role": "user", "content": text}]
        if getattr(self.processor, "chat_template", None) or getattr(self.tokenizer, "chat_template", None):
            return self.processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        return f"{text}\n"

    # -- generation -------------------------------------------------------------------------------------------
    def generate(self, requests: Sequence[ChatRequest], params: GenerationParams) -> list[Generation]:
        """Replies in request order. Requests with and without an image go in separate batches."""
        out: list[Generation | None] = [None] * len(requests)
        groups: dict[bool, list[int]] = {}
        for i, r in enumerate(requests):
            if r.image and not self.vision:
                raise PermanentBackendError(f"{self.model} is a text-only model: it cannot look at an image")
            groups.setdefault(bool(r.image), []).append(i)
        size = max(1, params.batch_size)
        for indexes in groups.values():
            for start in range(0, len(indexes), size):
                chunk = indexes[start:start + size]
                for i, generation in zip(chunk, self._generate_batch([requests[i] for i in chunk], params),
                                         strict=True):
                    out[i] = generation
        return out  # type: ignore[return-value]

    def _generate_batch(self, requests: list[ChatRequest], params: GenerationParams) -> list[Generation]:
        import torch
        from PIL import Image

        prompts = [self._prompt(r) for r in requests]
        started = time.perf_counter()
        try:
            if self.vision:
                images = None
                if requests[0].image:
                    images = []
                    for r in requests:
                        with Image.open(r.image) as im:
                            images.append(im.convert("RGB"))
                inputs = self.processor(images=images, text=prompts, padding=True, return_tensors="pt")
            else:
                inputs = self.tokenizer(prompts, padding=True, return_tensors="pt")
        except OSError as exc:
            raise PermanentBackendError(f"cannot read the image: {exc}") from exc
        inputs = inputs.to(self.device)
        if "pixel_values" in inputs:
            inputs["pixel_values"] = inputs["pixel_values"].to(self.dtype)
        kwargs = {"max_new_tokens": params.max_new_tokens, "pad_token_id": self.tokenizer.pad_token_id}
        if params.min_new_tokens:
            kwargs["min_new_tokens"] = params.min_new_tokens
        if params.suppress_tokens:
            kwargs["suppress_tokens"] = list(params.suppress_tokens)
        if params.temperature > 0:
            kwargs.update(do_sample=True, temperature=params.temperature, top_p=params.top_p)
        else:
            kwargs.update(do_sample=False)
        try:
            with torch.inference_mode():
                output = self.net.generate(**inputs, **kwargs)
        except torch.cuda.OutOfMemoryError as exc:  # a smaller batch or a free GPU later may work
            torch.cuda.empty_cache()
            raise TransientBackendError(f"GPU out of memory: {exc}") from exc
        elapsed = int((time.perf_counter() - started) * 1000)
        prompt_len = inputs["input_ids"].shape[1]
        new = output[:, prompt_len:]
        texts = self.tokenizer.batch_decode(new, skip_special_tokens=True)
        prompt_tokens = inputs["attention_mask"].sum(dim=1).tolist()
        eos = self.tokenizer.eos_token_id
        results = []
        for row, text, n_prompt in zip(new.tolist(), texts, prompt_tokens, strict=True):
            n = row.index(eos) if eos in row else len(row)  # what follows a row's eos is padding
            results.append(Generation(text=text.strip(), prompt_tokens=int(n_prompt), completion_tokens=n,
                                      latency_ms=elapsed, batch_size=len(requests)))
        return results
