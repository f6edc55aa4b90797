from pathlib import Path

from django import forms
from django.conf import settings

from .models import ImportJob


def allowed_import_roots() -> list[Path]:
    return [Path(p).resolve() for p in settings.EISTUDIO_IMPORT_ROOTS]


class ImportForm(forms.Form):
    """Start an import from the project page: EIBench files, or a manifest of new images."""

    format = forms.ChoiceField(choices=ImportJob.Format.choices, initial=ImportJob.Format.EIBENCH,
                               widget=forms.RadioSelect)
    questions = forms.FileField(required=False, label="user.jsonl",
                                help_text='{"<image path>": "<question>"} per line')
    ground_truth = forms.FileField(required=False, label="basic_ground_truth.json")
    complex = forms.FileField(required=False, label="ec_complex.jsonl")
    manifest = forms.FileField(required=False, label="manifest (.csv or .jsonl)",
                               help_text="fields: path, emotion, question (optional)")
    images_root = forms.CharField(required=False, label="images folder on the server",
                                  help_text="must lie under one of the server's import folders")

    FILE_ROLES = {ImportJob.Format.EIBENCH: ("questions", "ground_truth", "complex"),
                  ImportJob.Format.MANIFEST: ("manifest",)}

    def clean_images_root(self):
        value = self.cleaned_data["images_root"].strip()
        if not value:
            return ""
        path = Path(value).resolve()
        roots = allowed_import_roots()
        if not any(path == r or r in path.parents for r in roots):
            raise forms.ValidationError(
                f"not an import folder; allowed: {', '.join(map(str, roots)) or 'none configured'}")
        if not path.is_dir():
            raise forms.ValidationError("no such folder on the server")
        return str(path)

    def clean(self):
        data = super().clean()
        fmt = data.get("format")
        files = {role: data[role] for role in self.FILE_ROLES.get(fmt, ()) if data.get(role)}
        if not files:
            raise forms.ValidationError("choose at least one file to import")
        for role, upload in files.items():
            if upload.size > settings.EISTUDIO_MAX_UPLOAD_BYTES:
                self.add_error(role, f"larger than the limit of {settings.EISTUDIO_MAX_UPLOAD_BYTES:,} bytes")
        if fmt == ImportJob.Format.MANIFEST and not data.get("images_root"):
            self.add_error("images_root", "a manifest import needs the folder its image paths are relative to")
        if fmt == ImportJob.Format.EIBENCH and "ground_truth" in files and "questions" not in files:
            self.add_error("questions", "ground truth needs its questions: add user.jsonl")
        data["files"] = files
        return data
