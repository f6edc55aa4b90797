"""The lead's pipeline config form: backends and models per role, generation, persona, every stage's prompt."""
from __future__ import annotations

from django import forms

from .backends import BACKENDS
from .prompts import STAGES, check_config, merged

BACKEND_CHOICES = [("tiny", "tiny (placeholder model, random weights)"), ("transformers", "transformers (local GPU)"),
                   ("openai", "OpenAI-compatible server")]
assert [c for c, _ in BACKEND_CHOICES] == list(BACKENDS)


class ConfigForm(forms.Form):
    vlm_backend = forms.ChoiceField(choices=BACKEND_CHOICES, label="VLM backend")
    vlm_model = forms.CharField(required=False, label="VLM model", help_text="hub id, local folder or served name")
    vlm_base_url = forms.CharField(required=False, label="VLM server URL", help_text="openai backend only")
    llm_backend = forms.ChoiceField(choices=BACKEND_CHOICES, label="LLM backend")
    llm_model = forms.CharField(required=False, label="LLM model")
    llm_base_url = forms.CharField(required=False, label="LLM server URL")
    max_new_tokens = forms.IntegerField(min_value=1, max_value=8192)
    min_new_tokens = forms.IntegerField(min_value=0, max_value=8192)
    temperature = forms.FloatField(min_value=0, max_value=2)
    batch_size = forms.IntegerField(min_value=1, max_value=512, help_text="prompts per forward pass / in flight")
    micro_batch = forms.IntegerField(min_value=1, max_value=512, help_text="samples per Celery task")
    persona = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
    general_questions = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}),
                                        help_text="one per line; used when stage 2a yields fewer than 4")
    note = forms.CharField(required=False, max_length=200, help_text="what changed (shown in the version list)")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for stage, (code, name, role) in STAGES.items():
            self.fields[f"prompt_{stage}"] = forms.CharField(
                widget=forms.Textarea(attrs={"rows": 4}), label=f"{code} {name} ({role.upper()})")

    @classmethod
    def initial_from(cls, config: dict) -> dict:
        gen = config["generation"]
        data = {f"{r}_{k}": config[r].get(k, "") for r in ("vlm", "llm") for k in ("backend", "model", "base_url")}
        data.update({k: gen.get(k) for k in ("max_new_tokens", "min_new_tokens", "temperature", "batch_size")})
        data.update(micro_batch=config.get("micro_batch", 8), persona=config.get("persona", ""),
                    general_questions="\n".join(config.get("general_questions") or []))
        data.update({f"prompt_{s}": t for s, t in config["prompts"].items()})
        return data

    def config(self, base: dict) -> dict:
        d = self.cleaned_data
        config = merged(base)
        for r in ("vlm", "llm"):
            config[r] = {**config[r], "backend": d[f"{r}_backend"], "model": d[f"{r}_model"].strip(),
                         "base_url": d[f"{r}_base_url"].strip()}
        config["generation"].update(max_new_tokens=d["max_new_tokens"], min_new_tokens=d["min_new_tokens"],
                                    temperature=d["temperature"], batch_size=d["batch_size"])
        config["micro_batch"] = d["micro_batch"]
        config["persona"] = d["persona"].strip()
        config["general_questions"] = [q.strip() for q in d["general_questions"].splitlines() if q.strip()]
        config["prompts"] = {s: d[f"prompt_{s}"] for s in STAGES}
        return config

    def clean(self):
        cleaned = super().clean()
        if not self.errors:
            for problem in check_config(self.config({})):
                self.add_error(None, problem)
        return cleaned


class StartRunForm(forms.Form):
    selection = forms.ChoiceField(choices=[("all", "all unlabelled samples"), ("failed", "failed samples only")])
    limit = forms.IntegerField(required=False, min_value=1, help_text="at most this many samples")
