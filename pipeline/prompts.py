"""CFSA prompt templates and the per-project pipeline config (a plain dict, versioned by ``PromptVersion``).

Templates use ``{name}`` placeholders; :func:`render` fills them and :func:`check_config` refuses unknown ones
before a version is saved, so a typo never reaches a worker.
"""
from __future__ import annotations

import copy
import string

from django.conf import settings

from .parsing import CATEGORIES

STAGES = {
    "preprocess": ("1a", "question preprocessing", "llm"),
    "reconstruct": ("1b", "prompt reconstruction", "vlm"),
    "general_ask": ("2a", "general self-ask (dataset level)", "llm"),
    "general_answer": ("2b", "general answers", "vlm"),
    "scenario_ask": ("3a", "scenario self-ask: questions", "vlm"),
    "scenario_answer": ("3b", "scenario self-ask: answers", "vlm"),
    "summarise": ("4", "emotion summarisation", "llm"),
}

PLACEHOLDERS = {
    "preprocess": {"persona", "question", "emotion"},
    "reconstruct": {"persona", "question", "emotion", "query"},
    "general_ask": {"persona", "question", "emotion"},
    "general_answer": {"persona", "general_question"},
    "scenario_ask": {"persona", "question", "emotion", "query", "reconstructed", "general_qa", "max_questions"},
    "scenario_answer": {"persona", "scenario_question", "query"},
    "summarise": {"persona", "question", "emotion", "query", "reconstructed", "general_qa", "scenario_qa",
                  "categories"},
}

DEFAULT_PROMPTS = {
    "preprocess": (
        "Rewrite this question about a photograph as one precise query: who is the person it asks about, and "
        "which emotion do they show?\nQuestion: {question}\nEmotion: {emotion}\nAnswer with the query only."),
    "reconstruct": (
        "Look at the image. The query is: {query}\nDescribe the person the query is about (where they are, what "
        "they do, who is with them) and restate the query so that it fits this image. Answer in two sentences."),
    "general_ask": (
        "Someone asks about a photograph: \"{question}\" (emotion: {emotion}). List the general questions you "
        "would ask about any such image to understand why a person feels an emotion. Give a numbered list of "
        "short questions."),
    "general_answer": "Look at the image and answer briefly: {general_question}",
    "scenario_ask": (
        "Query: {query}\nWhat the image shows: {reconstructed}\nGeneral observations:\n{general_qa}\n"
        "Ask up to {max_questions} questions about this particular scene whose answers would explain the emotion "
        "(events around the person, other people, objects, context). Give a numbered list."),
    "scenario_answer": "Look at the image. About \"{query}\", answer briefly: {scenario_question}",
    "summarise": (
        "Question: {question}\nEmotion: {emotion}\nQuery: {query}\nScene: {reconstructed}\n"
        "General observations:\n{general_qa}\nScenario observations:\n{scenario_qa}\n"
        "List the triggers that explain why the person feels {emotion}, most important first, as a numbered list. "
        "End each line with its category ({categories}) and whether it is explicit (visible) or implicit "
        "(context), e.g. \"1. She holds a trophy [Objects; explicit]\"."),
}

DEFAULT_GENERAL_QUESTIONS = [
    "How many people are in the image?",
    "What are the people doing, and how do they interact?",
    "What is the person's facial expression?",
    "What is the person's body posture?",
]


def default_config() -> dict:
    backend = settings.EISTUDIO_DEFAULT_BACKEND
    model = settings.EISTUDIO_DEFAULT_MODEL or ("tiny-llava" if backend == "tiny" else "")
    role = {"backend": backend, "model": model, "base_url": "", "api_key_env": "OPENAI_API_KEY"}
    return {
        "vlm": dict(role),
        "llm": dict(role),
        "generation": {"max_new_tokens": 192, "min_new_tokens": 0, "temperature": 0.0, "top_p": 1.0,
                       "batch_size": 8},
        "persona": "You are an emotion expert who explains, from a photograph, why a person feels what they feel.",
        "prompts": dict(DEFAULT_PROMPTS),
        "general_sample_size": 8,  # stage 2a: how many samples of the dataset the LLM asks questions about
        "general_questions": list(DEFAULT_GENERAL_QUESTIONS),  # used when stage 2a yields fewer than 4
        "max_scenario_questions": 3,
        "micro_batch": 8,  # samples per Celery task
    }


def merged(config: dict | None) -> dict:
    """``config`` over the defaults, so a version saved before a new key existed still runs."""
    out = default_config()
    for key, value in (config or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = copy.deepcopy(value)
    return out


def fields_of(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def check_config(config: dict) -> list[str]:
    """Problems a person can fix, one line each (empty when the config is usable)."""
    from .backends import BACKENDS

    problems = []
    for role in ("vlm", "llm"):
        r = config.get(role) or {}
        if r.get("backend") not in BACKENDS:
            problems.append(f"{role}: backend must be one of {', '.join(BACKENDS)}")
        elif r["backend"] in ("transformers", "openai") and not r.get("model"):
            problems.append(f"{role}: the {r['backend']} backend needs a model")
    for stage, template in (config.get("prompts") or {}).items():
        if stage not in PLACEHOLDERS:
            problems.append(f"unknown stage {stage!r}")
            continue
        try:
            unknown = fields_of(template) - PLACEHOLDERS[stage]
        except ValueError as exc:
            problems.append(f"{stage}: {exc} (write {{{{ and }}}} for literal braces)")
            continue
        if unknown:
            problems.append(f"{stage}: unknown placeholder(s) {', '.join('{' + u + '}' for u in sorted(unknown))}; "
                            f"allowed: {', '.join('{' + p + '}' for p in sorted(PLACEHOLDERS[stage]))}")
    gen = config.get("generation") or {}
    for key in ("max_new_tokens", "batch_size"):
        if not isinstance(gen.get(key), int) or gen[key] < 1:
            problems.append(f"generation.{key} must be a positive whole number")
    return problems


def render(config: dict, stage: str, **values) -> str:
    return config["prompts"][stage].format(persona=config.get("persona", ""), categories=", ".join(CATEGORIES),
                                           **values)
