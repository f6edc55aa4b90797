"""The CFSA stages as plain functions over a backend (no Celery, no database: unit-testable on their own).

Every model call goes through :func:`ask`, which skips what a :class:`Store` already holds and saves what it
generates: the Celery tasks pass a database store whose saves are idempotent (sample + stage + step + run), so a
batch redelivered after a worker died resumes where it stopped and never produces a stage result twice.
"""
from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from .backends import Backend, ChatRequest, Generation, GenerationParams
from .parsing import Item, UnparsableReply, normalise_question, parse_questions, parse_triggers
from .prompts import STAGES, render


@dataclass(frozen=True)
class SampleInput:
    key: int
    question: str
    emotion: str
    image: str | None  # path of the image file; None when it is missing


@dataclass
class Exchange:
    """One prompt and its reply, as a trace records it."""

    key: int | None  # the sample; None for the dataset-level stage 2a
    stage: str
    step: int
    role: str
    model: str
    request: ChatRequest
    reply: Generation


class Store(Protocol):
    def get(self, key: int | None, stage: str, step: int) -> str | None:
        """The stored reply, if this stage step was done before."""

    def save(self, exchanges: Sequence[Exchange]) -> None:
        """Keep these; where one was stored meanwhile, the stored one wins (get returns it)."""


class MemoryStore:
    def __init__(self):
        self.replies: dict[tuple, str] = {}
        self.exchanges: list[Exchange] = []

    def get(self, key, stage, step):
        return self.replies.get((key, stage, step))

    def save(self, exchanges):
        for ex in exchanges:
            if (ex.key, ex.stage, ex.step) not in self.replies:
                self.replies[(ex.key, ex.stage, ex.step)] = ex.reply.text
                self.exchanges.append(ex)


class StageFailed(Exception):
    """A sample cannot go on (its message is shown on the sample, with a retry button)."""


@dataclass(frozen=True)
class Job:
    key: int | None
    step: int
    text: str
    image: str | None = None


def ask(backend: Backend, config: dict, stage: str, jobs: Iterable[Job], store: Store) -> dict[tuple, str]:
    """Run the ``jobs`` of one stage that ``store`` lacks, in one batched call; return every job's reply."""
    jobs = list(jobs)
    params = GenerationParams.from_config(config.get("generation"))
    todo = [j for j in jobs if store.get(j.key, stage, j.step) is None]
    if todo:
        requests = [ChatRequest(text=j.text, system=config.get("persona", ""), image=j.image) for j in todo]
        replies = backend.generate(requests, params)
        role = STAGES[stage][2]
        store.save([Exchange(j.key, stage, j.step, role, backend.model, r, g)
                    for j, r, g in zip(todo, requests, replies, strict=True)])
    return {(j.key, j.step): store.get(j.key, stage, j.step) or "" for j in jobs}


# -- stage 2a: dataset level, once per run ---------------------------------------------------------------------
def general_self_ask(llm: Backend, config: dict, dataset: Sequence[SampleInput], store: Store,
                     seed: int = 0) -> tuple[list[str], dict[str, int]]:
    """Ask the LLM for general questions over a seeded sample of the dataset; keep the 4 most frequent.

    Returns (S_freq, counts). Where fewer than 4 distinct questions come back, the project's default general
    questions fill the gap (they are the paper's: people count, activity/interaction, face, posture)."""
    chosen = random.Random(seed).sample(list(dataset), min(len(dataset), int(config.get("general_sample_size", 8))))
    replies = ask(llm, config, "general_ask",
                  [Job(None, i, render(config, "general_ask", question=s.question, emotion=s.emotion))
                   for i, s in enumerate(chosen)], store)
    counts: Counter[str] = Counter()
    first_form: dict[str, str] = {}
    for i in range(len(chosen)):
        for q in dict.fromkeys(parse_questions(replies[(None, i)])):
            key = normalise_question(q)
            if key:
                counts[key] += 1
                first_form.setdefault(key, q)
    top = [first_form[k] for k, _ in counts.most_common(4)]
    for q in config.get("general_questions") or []:
        if len(top) >= 4:
            break
        if normalise_question(q) not in {normalise_question(t) for t in top}:
            top.append(q)
    return top, {first_form[k]: n for k, n in counts.most_common(20)}


# -- stages 1, 2b, 3, 4: per sample ------------------------------------------------------------------------------
@dataclass
class Outcome:
    key: int
    triggers: list[Item] | None = None
    error: str = ""


def _qa(questions: Sequence[str], answers: Sequence[str]) -> str:
    return "\n".join(f"- {q} {a}" for q, a in zip(questions, answers, strict=True))


def label(vlm: Backend, llm: Backend, config: dict, samples: Sequence[SampleInput], general_questions: Sequence[str],
          store: Store) -> list[Outcome]:
    """Stages 1a → 4 for a micro-batch; each stage is one batched call over the samples still going."""
    outcomes = {s.key: Outcome(s.key) for s in samples}
    live = []
    for s in samples:
        if s.image:
            live.append(s)
        else:
            outcomes[s.key].error = "the image file is missing: attach it (import again with the images root)"

    r = ask(llm, config, "preprocess",
            [Job(s.key, 0, render(config, "preprocess", question=s.question, emotion=s.emotion)) for s in live], store)
    query = {s.key: r[(s.key, 0)] or s.question for s in live}

    r = ask(vlm, config, "reconstruct",
            [Job(s.key, 0, render(config, "reconstruct", question=s.question, emotion=s.emotion, query=query[s.key]),
                 s.image) for s in live], store)
    rec = {s.key: r[(s.key, 0)] for s in live}

    r = ask(vlm, config, "general_answer",
            [Job(s.key, i, render(config, "general_answer", general_question=q), s.image)
             for s in live for i, q in enumerate(general_questions)], store)
    general_qa = {s.key: _qa(general_questions, [r[(s.key, i)] for i in range(len(general_questions))])
                  for s in live}

    n_max = int(config.get("max_scenario_questions", 3))
    r = ask(vlm, config, "scenario_ask",
            [Job(s.key, 0, render(config, "scenario_ask", question=s.question, emotion=s.emotion, query=query[s.key],
                                  reconstructed=rec[s.key], general_qa=general_qa[s.key], max_questions=n_max),
                 s.image) for s in live], store)
    # A reply without a list is still one question: the model asked something.
    scenario_q = {s.key: parse_questions(r[(s.key, 0)], n_max) or [r[(s.key, 0)]] for s in live}

    r = ask(vlm, config, "scenario_answer",
            [Job(s.key, i, render(config, "scenario_answer", scenario_question=q, query=query[s.key]), s.image)
             for s in live for i, q in enumerate(scenario_q[s.key])], store)
    scenario_qa = {s.key: _qa(scenario_q[s.key], [r[(s.key, i)] for i in range(len(scenario_q[s.key]))])
                   for s in live}

    r = ask(llm, config, "summarise",
            [Job(s.key, 0, render(config, "summarise", question=s.question, emotion=s.emotion, query=query[s.key],
                                  reconstructed=rec[s.key], general_qa=general_qa[s.key],
                                  scenario_qa=scenario_qa[s.key])) for s in live], store)
    for s in live:
        try:
            outcomes[s.key].triggers = parse_triggers(r[(s.key, 0)])
        except UnparsableReply as exc:
            outcomes[s.key].error = f"stage 4 (emotion summarisation): {exc}; the raw reply is in the trace"
    return [outcomes[s.key] for s in samples]
