"""Named actions write their Event in the same transaction; stale versions are refused; nothing is deleted."""
import json

import pytest
from django.core.management import call_command

from annotator.actions import StaleVersion, do_add_trigger, do_edit_trigger_text, do_set_trigger_fate
from annotator.exporting import eibench_file
from annotator.models import Event, Sample, Trigger
from tests.conftest import SAMPLE

pytestmark = pytest.mark.django_db


# A record of the full benchmark whose 4th line is written " 4. Happy ..." (leading space).
QUIRKY = ('{"EmoSet-118k/image/anger/anger_01009.jpg": {"What might be the cause of the happiness of the lady standing '
          'on the right in the image?": "1. Slight smile on her face.\\n2. Holding the board down instead of high up.'
          '\\n3. Standing without aggressive gestures.\\n 4. Happy and satisfied with the possible reply or result."}}')


@pytest.fixture
def complex_sample(tmp_path):
    f = tmp_path / "ec_complex.jsonl"
    f.write_text((SAMPLE / "ec_complex.jsonl").read_text() + "\n" + QUIRKY)
    call_command("import_eibench", "--project", "p", "--complex", str(f), verbosity=0)
    return Sample.objects.get(question__startswith="What might be the cause of the happiness of the lady")


def exported_list(sample):
    text = "".join(eibench_file(sample.project, "EI_Complex/ec_complex.jsonl"))
    line = next(json.loads(x) for x in text.split("\n") if sample.question in x)
    return line[sample.image.dataset_key][sample.question]


def test_quirky_numbering_survives_until_the_list_changes(complex_sample, lead):
    assert exported_list(complex_sample).endswith("\n 4. Happy and satisfied with the possible reply or result.")
    second = complex_sample.triggers.get(position=2)
    do_set_trigger_fate(second.pk, Trigger.Fate.HALLUCINATION, actor=lead, expected_version=1, pass_number=1)
    assert exported_list(complex_sample) == (
        "1. Slight smile on her face.\n2. Standing without aggressive gestures.\n"
        "3. Happy and satisfied with the possible reply or result.")
    assert Trigger.objects.filter(pk=second.pk).exists()  # never deleted


def test_every_change_is_an_event_with_before_and_after(complex_sample, lead):
    t = complex_sample.triggers.first()
    do_edit_trigger_text(t.pk, "A slight smile.", actor=lead, pass_number=1)
    added = do_add_trigger(complex_sample.pk, "Cultural context: a public protest.", actor=lead, category="Other",
                           explicit=False, pass_number=2, parent=t)
    events = list(Event.objects.filter(sample=complex_sample).exclude(action="sample.imported").order_by("id"))
    assert [e.action for e in events] == ["trigger.edited", "trigger.added"]
    assert events[0].before["text"] == "Slight smile on her face." and events[0].after["text"] == "A slight smile."
    assert events[0].actor == lead and events[0].pass_number == 1
    assert added.origin == "annotator" and added.parent == t and added.position == 5
    complex_sample.refresh_from_db()
    assert complex_sample.version == 3


def test_stale_version_is_refused_and_nothing_changes(complex_sample, lead):
    t = complex_sample.triggers.first()
    do_edit_trigger_text(t.pk, "first", actor=lead, expected_version=1)
    with pytest.raises(StaleVersion):
        do_edit_trigger_text(t.pk, "second", actor=lead, expected_version=1)
    t.refresh_from_db()
    assert t.text == "first"
    assert Event.objects.filter(action="trigger.edited").count() == 1


def test_events_are_append_only(complex_sample):
    e = Event.objects.first()
    e.action = "changed"
    with pytest.raises(TypeError):
        e.save()
    with pytest.raises(TypeError):
        e.delete()
    with pytest.raises(TypeError):
        Event.objects.all().delete()
    with pytest.raises(TypeError):
        Event.objects.update(action="x")


def test_bad_action_input(complex_sample, lead):
    t = complex_sample.triggers.first()
    with pytest.raises(ValueError, match="needs some text"):
        do_edit_trigger_text(t.pk, "   ", actor=lead)
    with pytest.raises(ValueError, match="unknown fate"):
        do_set_trigger_fate(t.pk, "deleted", actor=lead)
