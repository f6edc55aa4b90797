"""The pipeline's section of the provenance export: every stage trace of each sample, in one streamed query."""
from __future__ import annotations

from collections.abc import Iterator

from annotator.models import Project

from .models import StageTrace


def trace_items(project: Project) -> Iterator[tuple[int, dict]]:
    rows = (StageTrace.objects.filter(run__project=project, sample__isnull=False)
            .order_by("sample_id", "run_id", "id")
            .values_list("sample_id", "run_id", "run__placeholder", "run__prompt_version__number", "stage", "step",
                         "role", "model", "system", "prompt", "with_image", "reply", "latency_ms", "batch_size",
                         "prompt_tokens", "completion_tokens", "created_at"))
    for (sid, run, placeholder, version, stage, step, role, model, system, prompt, with_image, reply, latency,
         batch, p_tokens, c_tokens, at) in rows.iterator(chunk_size=2000):
        yield sid, {"run": run, "prompt_version": version, "placeholder": placeholder, "stage": stage, "step": step,
                    "role": role, "model": model, "system": system, "prompt": prompt, "with_image": with_image,
                    "reply": reply, "latency_ms": latency, "batch_size": batch, "prompt_tokens": p_tokens,
                    "completion_tokens": c_tokens, "at": at.isoformat()}
