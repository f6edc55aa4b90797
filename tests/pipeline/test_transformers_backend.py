"""The transformers backend with models built offline: a VLM (the tiny LLaVA) and a text-only causal LM, loaded from
local folders the way real checkpoints are; batched generation with left padding gives the same greedy replies."""
import pytest

from pipeline.backends import ChatRequest, GenerationParams, PermanentBackendError, get_backend
from tests.conftest import make_image


def test_batched_replies_equal_one_at_a_time_replies(tmp_path):
    backend = get_backend({"backend": "tiny"})
    assert backend.placeholder and backend.model == "tiny-llava (random weights)"
    images = [str(make_image(tmp_path / f"{i}.png", size=(20 + 7 * i, 30), color=(40 * i, 90, 20))) for i in range(3)]
    requests = [ChatRequest(f"why is the {w} person happy ?", system="You are an emotion expert.", image=img)
                for w, img in zip(["tired", "proud and excited", "small"], images, strict=True)]
    requests += [ChatRequest("list the triggers of a happy face"), ChatRequest("the crowd cheers ?")]
    params = GenerationParams(max_new_tokens=12, batch_size=8)
    batched = backend.generate(requests, params)
    one_by_one = backend.generate(requests, GenerationParams(max_new_tokens=12, batch_size=1))
    assert [g.text for g in batched] == [g.text for g in one_by_one]
    assert all(g.text and g.completion_tokens == 12 for g in batched)  # min_new_tokens of the checkpoint: 8
    assert [g.batch_size for g in batched] == [3, 3, 3, 2, 2]  # image and text prompts batch apart
    assert batched[0].prompt_tokens > batched[3].prompt_tokens  # image tokens count


def build_text_lm(path):
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    words = ["<pad>", "<s>", "</s>", "<unk>", "why", "happy", "sad", "1.", "a", "smile", "user:", "assistant:"]
    tok = Tokenizer(models.WordLevel(vocab={w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                                        pad_token="<pad>", model_input_names=["input_ids", "attention_mask"])
    tokenizer.chat_template = ("{% for m in messages %}user: {{ m['content'] }} {% endfor %}"
                               "{% if add_generation_prompt %}assistant:{% endif %}")
    config = LlamaConfig(vocab_size=len(words), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                         num_key_value_heads=2, intermediate_size=24, pad_token_id=0, bos_token_id=1, eos_token_id=2)
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def test_a_text_only_causal_lm_for_the_llm_role(tmp_path):
    path = build_text_lm(tmp_path / "text-lm")
    backend = get_backend({"backend": "transformers", "model": str(path)})
    assert not backend.vision and backend.device == "cpu"
    out = backend.generate([ChatRequest("why happy", system="be brief"), ChatRequest("why sad")],
                           GenerationParams(max_new_tokens=4, min_new_tokens=4))
    assert len(out) == 2 and all(g.completion_tokens == 4 for g in out)
    with pytest.raises(PermanentBackendError, match="text-only model"):
        backend.generate([ChatRequest("why", image=str(make_image(tmp_path / "x.png")))], GenerationParams())


def test_models_that_cannot_be_loaded_are_permanent_errors(tmp_path):
    with pytest.raises(PermanentBackendError, match="cannot load model"):
        get_backend({"backend": "transformers", "model": str(tmp_path / "nothing-here")})
    with pytest.raises(PermanentBackendError, match="needs a model"):
        get_backend({"backend": "transformers", "model": ""})
    with pytest.raises(PermanentBackendError, match="unknown backend"):
        get_backend({"backend": "magic"})


def test_a_worker_keeps_two_models_and_unloads_the_least_recently_used(tmp_path):
    from pipeline.backends import transformers as tf

    tf._LOADED.clear()
    a = get_backend({"backend": "transformers", "model": str(build_text_lm(tmp_path / "a"))})
    b = get_backend({"backend": "transformers", "model": str(build_text_lm(tmp_path / "b"))})
    assert get_backend({"backend": "transformers", "model": a.path}) is a  # loaded once, then reused
    get_backend({"backend": "transformers", "model": str(build_text_lm(tmp_path / "c"))})
    assert [k[0] for k in tf._LOADED] == [a.path, str(tmp_path / "c")]  # b was the least recently used
    assert b.path not in {k[0] for k in tf._LOADED}
