"""Projects of new images (imported through the manifest path, as a person would) waiting for auto-labelling."""
from annotator.actions import Source, import_manifest
from annotator.models import Project
from tests.conftest import make_image


def make_project(tmp_path, lead, n=6, name="cfsa", config=None) -> Project:
    root = tmp_path / "incoming" / "imgs"
    lines = []
    for i in range(n):
        make_image(root / f"p{i}.png", color=(i * 30 % 255, 80, 160))
        lines.append(f'{{"path": "p{i}.png", "emotion": "happy", "question": "Why is person {i} happy?"}}')
    manifest = tmp_path / f"{name}.jsonl"
    manifest.write_text("\n".join(lines) + "\n")
    import_manifest(project_name=name, manifest=Source.of(manifest, manifest.name), images_root=root, actor=lead)
    project = Project.objects.get(name=name)
    if config:
        from pipeline.actions import current_config, save_config

        save_config(project, {**current_config(project), **config}, actor=lead, note="test")
    return project
