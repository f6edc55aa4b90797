"""Exports read their queries a chunk ahead in a thread (PostgreSQL; ``annotator.exporting._ahead``): the same
bytes whatever the chunk size, one query per cursor, and leaving early (an error, a closed download) stops the
thread and closes its cursor, so the connection goes on answering."""
import io
import zipfile

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from annotator import exporting
from annotator.models import Project, Sample, Trigger
from tests.conftest import SAMPLE
from tests.test_import_eibench import import_sample

pytestmark = pytest.mark.django_db

FILES = {"EI_Basic/user.jsonl": "user.jsonl", "EI_Basic/basic_ground_truth.json": "basic_ground_truth.json",
         "EI_Complex/ec_complex.jsonl": "ec_complex.jsonl"}


@pytest.fixture
def project():
    import_sample()
    return Project.objects.get(name="bench")


@pytest.mark.parametrize("chunk", [1, 3, 5000])
def test_the_files_are_the_same_bytes_whatever_the_chunk_size(project, tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(exporting, "CHUNK", chunk)
    monkeypatch.setattr(exporting, "AHEAD_ROWS", chunk)
    with CaptureQueriesContext(connection) as queries:
        written = exporting.write_eibench(project, tmp_path)
    assert {str(p.relative_to(tmp_path)) for p in written} == set(FILES)
    for name, original in FILES.items():
        assert (tmp_path / name).read_bytes() == (SAMPLE / original).read_bytes(), (name, chunk)
    # 2 exists() + 1 cursor (questions) + 2 (ground truth) + 2 (complex), whatever the chunk size
    assert len([q for q in queries.captured_queries if "SELECT" in q["sql"]]) == 7


def test_rows_come_in_order_and_all_of_them(project):
    rows = Trigger.objects.order_by("id").values_list("id", flat=True)
    with transaction.atomic():
        assert list(exporting._ahead(rows.iterator(chunk_size=2))) == list(rows)


def test_leaving_early_stops_the_thread_and_closes_the_cursor(project, monkeypatch):
    monkeypatch.setattr(exporting, "CHUNK", 1)
    monkeypatch.setattr(exporting, "AHEAD_ROWS", 1)
    with transaction.atomic():
        lines = exporting.eibench_file(project, "EI_Basic/basic_ground_truth.json")
        next(lines), next(lines)
        lines.close()  # a download the client gave up: the threads wait on full queues
        with connection.cursor() as cursor:  # the connection answers, and no cursor of the export is left open
            cursor.execute("SELECT 1")
            if connection.vendor == "postgresql":
                cursor.execute("SELECT count(*) FROM pg_cursors")
                assert cursor.fetchone()[0] == 0
        assert Sample.objects.filter(project=project).count() == 24


def test_an_error_while_fetching_is_raised_to_the_caller():
    def rows():
        yield 1
        yield 2
        raise RuntimeError("the server went away")

    with pytest.raises(RuntimeError, match="went away"):
        list(exporting._ahead(rows()))


def test_a_zip_read_to_the_end_holds_every_file(project, monkeypatch):
    monkeypatch.setattr(exporting, "CHUNK", 2)
    monkeypatch.setattr(exporting, "AHEAD_ROWS", 2)
    data = b"".join(exporting.eibench_zip(project))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name, original in FILES.items():
            assert archive.read(name) == (SAMPLE / original).read_bytes()
