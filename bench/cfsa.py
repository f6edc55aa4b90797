"""CFSA throughput: samples per minute with sequential (one prompt at a time) versus batched generation.

Same model, same prompts, same process, one run: the stages of :mod:`pipeline.stages` label N samples twice with
the transformers backend, first with ``batch_size=1``, then with ``batch_size=B``. Greedy decoding with
``min_new_tokens == max_new_tokens``, so every reply has the same length in both modes, and one scenario question
per sample, so both modes send exactly the same number of prompts (9 per sample).

    .venv/bin/python bench/cfsa.py                              # CPU: a small random-weight LLaVA
    .venv/bin/python bench/cfsa.py --size 7b --batch 32         # GPU: a random-weight LLaVA of 7B size, bf16

No download: the models are built from configs with random weights (the same build as the tiny backend's).
"""
from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

SIZES = {  # text model dims; the vision tower stays small (it is not what batching is about)
    "small": {"hidden": 256, "layers": 4, "heads": 8, "vocab": None},
    "7b": {"hidden": 4096, "layers": 32, "heads": 32, "vocab": 32000, "intermediate": 11008},
}


def build(size: str, device: str, dtype):
    """A random-weight LLaVA of ``size`` in memory, with the tiny backend's tokenizer and processor."""
    import torch
    from transformers import AutoProcessor, LlavaConfig, LlavaForConditionalGeneration

    from pipeline.backends.tiny import build_tiny_llava

    folder = Path(tempfile.mkdtemp(prefix="cfsa-bench-")) / "tiny"
    build_tiny_llava(folder)  # tokenizer, processor and a config to grow
    processor = AutoProcessor.from_pretrained(folder, local_files_only=True)
    config = LlavaConfig.from_pretrained(folder)
    dims = SIZES[size]
    text = config.text_config
    text.hidden_size, text.num_hidden_layers = dims["hidden"], dims["layers"]
    text.num_attention_heads = text.num_key_value_heads = dims["heads"]
    text.intermediate_size = dims.get("intermediate", dims["hidden"] * 2)
    if dims["vocab"]:
        text.vocab_size = dims["vocab"]  # the tokenizer uses the first few hundred ids
    torch.manual_seed(0)
    with torch.device(device):
        net = LlavaForConditionalGeneration(config).to(dtype)
    net.generation_config.suppress_tokens = None
    return processor, net


def machine(device: str) -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        info = Path("/proc/cpuinfo").read_text()
        cpu = next((ln.split(":", 1)[1].strip() for ln in info.splitlines() if ln.startswith("model name")), cpu)
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if device.startswith("cuda") else "none"
    return (f"{cpu}, {os.cpu_count()} cores; GPU: {gpu}; torch {torch.__version__}; "
            f"Python {platform.python_version()}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="small")
    parser.add_argument("--samples", type=int, default=32, help="samples labelled in each mode")
    parser.add_argument("--batch", type=int, default=16, help="prompts per forward pass in the batched mode")
    parser.add_argument("--new-tokens", type=int, default=24, help="reply length (min = max new tokens)")
    parser.add_argument("--device", default=None, help="cpu, cuda (default: cuda when there is a GPU)")
    args = parser.parse_args(argv)

    import django

    django.setup()
    import torch
    from PIL import Image

    from pipeline import stages
    from pipeline.backends.transformers import TransformersBackend, pick_device_and_dtype
    from pipeline.prompts import DEFAULT_GENERAL_QUESTIONS, default_config

    device, dtype = pick_device_and_dtype(args.device)
    processor, net = build(args.size, device, dtype)
    n_params = sum(p.numel() for p in net.parameters())
    backend = TransformersBackend.from_objects(processor, net, model=f"random LLaVA ({args.size})")
    images = Path(tempfile.mkdtemp(prefix="cfsa-bench-img-"))
    samples = []
    for i in range(args.samples):
        path = images / f"{i}.png"
        Image.new("RGB", (64 + i % 5, 48), (i * 7 % 255, 90, 160)).save(path)
        samples.append(stages.SampleInput(i, f"Why might person {i} look happy?", "happy", str(path)))

    def run(batch: int) -> tuple[float, int]:
        config = default_config()
        config["generation"].update(batch_size=batch, max_new_tokens=args.new_tokens,
                                    min_new_tokens=args.new_tokens, temperature=0.0)
        config["max_scenario_questions"] = 1
        store = stages.MemoryStore()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        started = time.perf_counter()
        stages.label(backend, backend, config, samples, DEFAULT_GENERAL_QUESTIONS, store)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        return time.perf_counter() - started, len(store.exchanges)

    run(args.batch)  # warm-up (kernels, allocator), not timed
    seq_s, seq_prompts = run(1)
    bat_s, bat_prompts = run(args.batch)
    assert seq_prompts == bat_prompts, (seq_prompts, bat_prompts)
    rows = [("sequential (batch 1)", seq_s, seq_prompts), (f"batched (batch {args.batch})", bat_s, bat_prompts)]
    print(f"\n`{shlex.join([sys.executable.rsplit('/', 1)[-1], 'bench/cfsa.py', *(argv or sys.argv[1:])])}`\n")
    print(f"Machine: {machine(device)}  \nModel: random-weight LLaVA, size {args.size}, {n_params / 1e6:,.1f} M "
          f"parameters, {device}, {str(dtype).replace('torch.', '')}; {args.samples} samples, "
          f"{seq_prompts // args.samples} prompts each, {args.new_tokens} new tokens per reply\n")
    print("| mode | wall time | samples/min | prompts/s |")
    print("|---|---:|---:|---:|")
    for name, seconds, prompts in rows:
        print(f"| {name} | {seconds:.2f} s | {args.samples / seconds * 60:,.1f} | {prompts / seconds:,.1f} |")
    print(f"\n**Batched / sequential: {seq_s / bat_s:.2f}x** (same model, same prompts, one run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
