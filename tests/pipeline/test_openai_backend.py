"""The openai backend against a real local HTTP server speaking the chat-completions protocol."""
import base64
import time

import pytest

from pipeline import stages
from pipeline.backends import ChatRequest, GenerationParams, PermanentBackendError, TransientBackendError
from pipeline.backends.openai import OpenAIBackend
from pipeline.prompts import default_config
from tests.conftest import make_image
from tests.pipeline.openai_server import ChatServer

FAST = {"backoff": 0.01, "max_backoff": 0.05}


def test_text_and_image_requests(tmp_path):
    image = make_image(tmp_path / "face.png")
    with ChatServer(lambda body: f"echo {len(body['messages'])}") as server:
        backend = OpenAIBackend("llava-test", base_url=server.url, api_key="sk-local", **FAST)
        out = backend.generate([ChatRequest("Why happy?", system="You are an emotion expert."),
                                ChatRequest("Describe the person.", image=str(image))],
                               GenerationParams(max_new_tokens=50, batch_size=2))
    assert [g.text for g in out] == ["echo 2", "echo 1"]
    assert out[0].prompt_tokens == 11 and out[0].completion_tokens == 2
    by_text = {str(r["body"]["messages"][-1]["content"]): r for r in server.requests}
    text_req = by_text["Why happy?"]["body"]
    assert text_req["model"] == "llava-test" and text_req["max_tokens"] == 50
    assert text_req["messages"][0] == {"role": "system", "content": "You are an emotion expert."}
    image_req = next(r for r in server.requests if isinstance(r["body"]["messages"][-1]["content"], list))
    parts = image_req["body"]["messages"][-1]["content"]
    assert parts[0] == {"type": "text", "text": "Describe the person."}
    url = parts[1]["image_url"]["url"]
    assert url.startswith("data:image/png;base64,")
    assert base64.b64decode(url.split(",", 1)[1]) == image.read_bytes()
    assert all(r["auth"] == "Bearer sk-local" for r in server.requests)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_rate_limits_and_server_errors_are_retried(status):
    with ChatServer(lambda body: "1. ok") as server:
        server.faults.extend([status, status])
        out = OpenAIBackend("m", base_url=server.url, **FAST).generate([ChatRequest("q")], GenerationParams())
    assert out[0].text == "1. ok"
    assert len(server.requests) == 3


def test_a_timeout_is_retried_then_reported_as_transient():
    with ChatServer(lambda body: "late") as server:
        server.faults.append(("sleep", 1.0))
        backend = OpenAIBackend("m", base_url=server.url, timeout=0.3, retries=1, **FAST)
        assert backend.generate([ChatRequest("q")], GenerationParams())[0].text == "late"  # 2nd try answers
        server.faults.extend([("sleep", 1.0), ("sleep", 1.0)])
        started = time.monotonic()
        with pytest.raises(TransientBackendError, match=r"no answer .* within 0.3s \(after 2 tries\)"):
            backend.generate([ChatRequest("q")], GenerationParams())
        assert time.monotonic() - started < 3


def test_a_bad_request_is_permanent_and_not_retried():
    with ChatServer() as server:
        server.faults.append(400)
        with pytest.raises(PermanentBackendError, match="HTTP 400"):
            OpenAIBackend("m", base_url=server.url, **FAST).generate([ChatRequest("q")], GenerationParams())
    assert len(server.requests) == 1


def test_unreachable_server_and_bad_urls():
    with pytest.raises(TransientBackendError, match="cannot reach"):
        OpenAIBackend("m", base_url="http://127.0.0.1:9/v1", retries=0).generate([ChatRequest("q")],
                                                                              GenerationParams())
    with pytest.raises(PermanentBackendError, match="http:// or https://"):
        OpenAIBackend("m", base_url="file:///etc/passwd")


def test_concurrency_is_bounded_by_batch_size():
    active, peak = [0], [0]

    def slow(body):
        active[0] += 1
        peak[0] = max(peak[0], active[0])
        time.sleep(0.05)
        active[0] -= 1
        return "x"

    with ChatServer(slow) as server:
        OpenAIBackend("m", base_url=server.url).generate([ChatRequest(str(i)) for i in range(12)],
                                                         GenerationParams(batch_size=3))
    assert 1 < peak[0] <= 3


def scripted(body):
    """Replies by stage, recognised from the default prompts."""
    prompt = body["messages"][-1]["content"]
    prompt = prompt[0]["text"] if isinstance(prompt, list) else prompt
    if "general questions you would ask" in prompt:
        n = int(prompt.split("person ")[1].split(" ")[0])
        common = ["How many people are there?", "What is the person's facial expression?",
                  "What are they doing?", "Where are they?"]
        return "\n".join(f"{i}. {q}" for i, q in enumerate([*common[:2 + n % 3], f"Odd question {n}?"], 1))
    if "List the triggers" in prompt:
        return "I'm sorry, I can't help with that." if "person 3 " in prompt else "1. A smile [Facial Expressions; explicit]"
    if "Ask up to" in prompt:
        return "1. Who is next to her?\n2. What is she holding?"
    return "An answer."


def test_stages_over_a_real_server_keep_the_four_most_frequent_general_questions(tmp_path):
    image = str(make_image(tmp_path / "p.png"))
    config = default_config()
    samples = [stages.SampleInput(i, f"Why is person {i} happy?", "happy", image) for i in range(5)]
    store = stages.MemoryStore()
    with ChatServer(scripted) as server:
        backend = OpenAIBackend("m", base_url=server.url)
        questions, counts = stages.general_self_ask(backend, config, samples, store)
        assert questions[:2] == ["How many people are there?", "What is the person's facial expression?"]
        assert len(questions) == 4 and counts["How many people are there?"] == 5
        outcomes = stages.label(backend, backend, config, [*samples, stages.SampleInput(9, "q", "sad", None)],
                                questions, store)
        calls = len(server.requests)
        stages.label(backend, backend, config, samples, questions, store)  # everything is stored: no new call
        assert len(server.requests) == calls
    good = [o for o in outcomes if o.triggers]
    assert len(good) == 4 and good[0].triggers[0].category == "Facial Expressions"
    bad = {o.key: o.error for o in outcomes if not o.triggers}
    assert "stage 4 (emotion summarisation): no trigger list" in bad[3]
    assert "image file is missing" in bad[9]
    assert store.get(3, "summarise", 0) == "I'm sorry, I can't help with that."  # the raw reply is kept
    per_sample = {(ex.key, ex.stage) for ex in store.exchanges if ex.key == 0}
    assert {s for _, s in per_sample} == {"preprocess", "reconstruct", "general_answer", "scenario_ask",
                                          "scenario_answer", "summarise"}
