"""BulkWriter: rows of several tables, in batches, through the import's connection (PostgreSQL: binary COPY
sent by a worker thread; SQLite: executemany).

The failure cases matter most: whatever fails, on either thread, the COPY under way must end so that the
enclosing transaction rolls back at once (an open COPY holds the connection: any other statement, such as
the rollback, would wait forever), and the error that says why is the one raised."""
import os

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from annotator.bulk import BulkWriter, reserve_ids
from annotator.models import Image, Project, Sample

pytestmark = pytest.mark.django_db

IMAGE = ("id", "project_id", "dataset_key", "file", "sha256", "width", "height")
SAMPLE = ("id", "project_id", "image_id", "kind", "question", "emotion", "state", "ordinal", "truth_ordinal",
          "version", "error", "created_at", "updated_at")


def image_rows(project, count):
    return [(pk, project.pk, f"k/{pk}.png", "", "", None, None) for pk in reserve_ids(Image, count)]


def sample_row(project, pk, image_id, ordinal):
    now = connection.ops.adapt_datetimefield_value(project.created_at)
    return (pk, project.pk, image_id, "basic", "Why?", "sad", "imported", ordinal, None, 1, "", now, now)


def session_replication_role():
    with connection.cursor() as cursor:
        cursor.execute("SHOW session_replication_role")
        return cursor.fetchone()[0]


def add(bulk, table, rows):
    for row in rows:
        table.append(row)
        bulk.maybe_send()


@pytest.fixture
def project():
    return Project.objects.create(name="p")


postgres_only = pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                                   reason="PostgreSQL's COPY and foreign key checks")


@pytest.fixture(params=[True, False], ids=["set-based checks", "per-row checks"])
def set_based(request):
    """Both ways of checking foreign keys (set-based needs the privilege, which the test database has)."""
    return request.param


def test_rows_reach_the_database_in_batches_in_any_order(project, set_based):
    """Each sample before its image, in batches of 3 rows: the foreign keys are checked when the writer closes."""
    with transaction.atomic(), BulkWriter(batch_rows=3, set_based_checks=set_based) as bulk:
        samples, images = bulk.table(Sample, SAMPLE), bulk.table(Image, IMAGE)
        for ordinal, (row, pk) in enumerate(zip(image_rows(project, 10), reserve_ids(Sample, 10), strict=True)):
            samples.append(sample_row(project, pk, row[0], ordinal))
            bulk.maybe_send()
            images.append(row)
            bulk.maybe_send()
    assert Image.objects.count() == Sample.objects.count() == 10
    assert bulk.counts == {Image: 10, Sample: 10}
    assert all(s.image.dataset_key == f"k/{s.image_id}.png" for s in Sample.objects.select_related("image"))


def test_an_exception_of_the_caller_mid_import_rolls_back(project):
    with pytest.raises(RuntimeError, match="parser failed"), transaction.atomic(), BulkWriter(batch_rows=2) as bulk:
        add(bulk, bulk.table(Image, IMAGE), image_rows(project, 7))  # several batches sent or under way
        raise RuntimeError("parser failed")
    assert not Image.objects.exists()  # rolled back, and the connection answers at once


def test_a_row_the_driver_cannot_send_rolls_back(project):
    """psycopg cannot write a string as an int8 (a TypeError, in the worker thread); SQLite refuses the mismatch."""
    with pytest.raises((TypeError, DatabaseError)), transaction.atomic(), BulkWriter(batch_rows=1) as bulk:
        add(bulk, bulk.table(Image, IMAGE), [*image_rows(project, 1), ("not an id", project.pk, "bad", "", "", None,
                                                                          None)])
    assert not Image.objects.exists()


def test_a_constraint_the_server_rejects_is_an_integrity_error_and_rolls_back(project):
    (row,) = image_rows(project, 1)
    with pytest.raises(IntegrityError), transaction.atomic(), BulkWriter(batch_rows=1) as bulk:
        # the same (project, dataset_key) twice: unique violation
        add(bulk, bulk.table(Image, IMAGE), [row, (row[0] + 10**9, *row[1:])])
    assert not Image.objects.exists()


@pytest.mark.django_db(transaction=True)  # SQLite checks foreign keys at COMMIT only
def test_a_reference_to_a_row_not_written_is_refused(project, set_based):
    """On PostgreSQL the writer checks the foreign keys when it closes (set-based, or PostgreSQL's per-row
    checks): the error comes from the writer, naming the constraint and the key."""
    key = r"image_id\)=\(1000000000\)" if connection.vendor == "postgresql" else "FOREIGN KEY"
    with pytest.raises(IntegrityError, match=key), transaction.atomic(), \
            BulkWriter(batch_rows=2, set_based_checks=set_based) as bulk:
        images, samples = bulk.table(Image, IMAGE), bulk.table(Sample, SAMPLE)
        (image,) = image_rows(project, 1)
        first, second = reserve_ids(Sample, 2)
        add(bulk, images, [image])
        add(bulk, samples, [sample_row(project, first, image[0], 0), sample_row(project, second, 10**9, 1)])
        if bulk.postgres:
            assert bulk.set_based is set_based
    assert not Sample.objects.exists()


@postgres_only
def test_a_trigger_of_the_applications_own_keeps_the_per_row_checks(project):
    """session_replication_role would switch it off too: with one on the table, the writer does not use it."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE FUNCTION refuse_forbidden() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                       "IF NEW.dataset_key = 'forbidden.png' THEN RAISE EXCEPTION 'forbidden by a trigger'; END IF; "
                       "RETURN NEW; END $$")
        cursor.execute("CREATE TRIGGER refuse_forbidden BEFORE INSERT ON annotator_image FOR EACH ROW "
                       "EXECUTE FUNCTION refuse_forbidden()")
    (row,) = image_rows(project, 1)
    with pytest.raises(DatabaseError, match="forbidden by a trigger"), transaction.atomic(), \
            BulkWriter(batch_rows=1) as bulk:
        add(bulk, bulk.table(Image, IMAGE), [(*row[:2], "forbidden.png", *row[3:])])
    assert bulk.set_based is False


@postgres_only
@pytest.mark.django_db(transaction=True)  # the rows must be committed for another connection to see them
def test_rows_referenced_that_were_there_before_are_locked_until_commit(project, set_based):
    """As the per-row checks do: the project and an image of an earlier import, referenced by the new rows,
    cannot be deleted (or have their key changed) by anyone else before the import commits."""
    import psycopg

    (old_image,) = image_rows(project, 1)
    with BulkWriter() as bulk:
        add(bulk, bulk.table(Image, IMAGE), [old_image])
    settings = connection.settings_dict
    other = psycopg.connect(host=settings["HOST"], port=settings["PORT"] or None, user=settings["USER"],
                            password=settings["PASSWORD"], dbname=settings["NAME"], autocommit=True)
    try:
        with transaction.atomic():
            with BulkWriter(set_based_checks=set_based) as bulk:
                images, samples = bulk.table(Image, IMAGE), bulk.table(Sample, SAMPLE)
                (new_image,) = image_rows(project, 1)
                first, second = reserve_ids(Sample, 2)
                add(bulk, images, [new_image])
                add(bulk, samples, [sample_row(project, first, old_image[0], 0),
                                    sample_row(project, second, new_image[0], 1)])
            for table, pk in (("annotator_project", project.pk), ("annotator_image", old_image[0])):
                with pytest.raises(psycopg.errors.LockNotAvailable):
                    other.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR UPDATE NOWAIT", [pk])
        other.execute("SELECT 1 FROM annotator_image WHERE id = %s FOR UPDATE NOWAIT", [old_image[0]])  # free now
    finally:
        other.close()
    assert Sample.objects.count() == 2


def test_the_callers_next_statement_after_a_failed_copy_reports_the_copys_error(project):
    """The worker's COPY failed the transaction before the caller ran a statement of its own: the caller's error
    ("current transaction is aborted") is replaced by the one that says why."""
    (row,) = image_rows(project, 1)
    with pytest.raises(IntegrityError, match=r"image_unique_key_per_project|UNIQUE"), transaction.atomic(), \
            BulkWriter(batch_rows=1) as bulk:
        add(bulk, bulk.table(Image, IMAGE), [row, (row[0] + 10**9, *row[1:])])
        if bulk.postgres:
            bulk._sender.batches.join()  # the failed COPY is over (wait() would raise its error itself)
        Project.objects.count()
    assert not Image.objects.exists()


def test_a_failure_inside_an_outer_transaction_rolls_back_to_its_savepoint(project, set_based):
    """...and what the writer changed in the session (triggers skipped for its COPY) goes with it."""
    with transaction.atomic():
        Image.objects.create(project=project, dataset_key="kept.png")
        with pytest.raises(RuntimeError), transaction.atomic(), \
                BulkWriter(batch_rows=1, set_based_checks=set_based) as bulk:
            add(bulk, bulk.table(Image, IMAGE), image_rows(project, 3))
            raise RuntimeError("stop")
        assert list(Image.objects.values_list("dataset_key", flat=True)) == ["kept.png"]
        if connection.vendor == "postgresql":
            assert session_replication_role() == "origin"
            # and the foreign keys are deferred again for the rest of the transaction: a sample may come
            # before its image
            with connection.cursor() as cursor:
                cursor.execute("INSERT INTO annotator_sample (project_id, image_id, kind, question, emotion, state,"
                               " ordinal, version, error, created_at, updated_at) VALUES"
                               " (%s, 999999999, 'basic', 'q', 'sad', 'imported', 0, 1, '', now(), now())",
                               [project.pk])
                cursor.execute("DELETE FROM annotator_sample WHERE image_id = 999999999")


def test_after_a_successful_write_the_foreign_keys_are_deferred_again(project, set_based):
    with transaction.atomic():
        with BulkWriter(batch_rows=1, set_based_checks=set_based) as bulk:
            add(bulk, bulk.table(Image, IMAGE), image_rows(project, 2))
        if connection.vendor == "postgresql":
            assert session_replication_role() == "origin"  # triggers fire again for what follows
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM pg_constraint WHERE conrelid = 'annotator_sample'::regclass"
                               " AND contype = 'f' AND condeferred")
                assert cursor.fetchone()[0] >= 2
                cursor.execute("INSERT INTO annotator_sample (project_id, image_id, kind, question, emotion, state,"
                               " ordinal, version, error, created_at, updated_at) VALUES"
                               " (%s, 999999999, 'basic', 'q', 'sad', 'imported', 0, 1, '', now(), now())",
                               [project.pk])  # not checked yet: deferred
                cursor.execute("DELETE FROM annotator_sample WHERE image_id = 999999999")
    assert Image.objects.count() == 2


@postgres_only
def test_the_setting_turns_the_set_based_checks_off(project, settings):
    from annotator.bulk import set_based_checks

    assert set_based_checks([Image, Sample])  # the test database's role may
    settings.EISTUDIO_SET_BASED_FK_CHECKS = False
    assert not set_based_checks([Image, Sample])
    with transaction.atomic(), BulkWriter(batch_rows=1) as bulk:
        add(bulk, bulk.table(Image, IMAGE), image_rows(project, 2))
    assert bulk.set_based is False and Image.objects.count() == 2


def reltuples(table):
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
        return cursor.fetchone()[0]


@postgres_only
def test_a_write_that_grows_a_table_refreshes_the_planners_statistics_once_committed(
        project, django_capture_on_commit_callbacks):
    """After a bulk load PostgreSQL plans as if the rows were not there until ANALYZE runs: the writer runs it
    after the commit (a rolled-back import leaves nothing to measure), for the tables it grew by a tenth or more."""
    with (django_capture_on_commit_callbacks(execute=False) as callbacks, transaction.atomic(),
          BulkWriter(batch_rows=20) as bulk):
        add(bulk, bulk.table(Image, IMAGE), image_rows(project, 60))
    rows = Image.objects.count()  # what ANALYZE will count (a small table is read whole)
    assert reltuples("annotator_image") != rows  # not yet: the transaction has not committed
    assert len(callbacks) == 1
    callbacks[0]()
    assert reltuples("annotator_image") == rows

    with (django_capture_on_commit_callbacks(execute=True), transaction.atomic(),
          BulkWriter(batch_rows=20) as bulk):
        add(bulk, bulk.table(Image, IMAGE), image_rows(project, rows // 10 - 1))  # under a tenth: autovacuum's
    assert reltuples("annotator_image") == rows
    with (django_capture_on_commit_callbacks(execute=True), transaction.atomic(),
          BulkWriter(batch_rows=20) as bulk):
        add(bulk, bulk.table(Image, IMAGE), image_rows(project, rows // 10 + 1))  # a tenth of what it knew, and more
    assert reltuples("annotator_image") == Image.objects.count()


# ---------------------------------------------------------------------------------------------------------
# streaming(model): one table's rows into one COPY held open by the calling thread
# ---------------------------------------------------------------------------------------------------------
def open_copy(bulk) -> bool:
    return bulk._stream is not None


def test_streamed_rows_other_tables_rows_and_own_statements_all_arrive(project, set_based, monkeypatch):
    """Samples streamed (before their images, a few at a time), images in batches meanwhile, and an id drawn in
    between: each batch and each statement ends the open COPY first, the next streamed rows open another one."""
    import annotator.bulk as bulk_module

    monkeypatch.setattr(bulk_module, "STREAM_ROWS", 1)
    opened = []
    with transaction.atomic(), BulkWriter(batch_rows=6, set_based_checks=set_based) as bulk:
        samples, images = bulk.table(Sample, SAMPLE), bulk.table(Image, IMAGE)
        rows = image_rows(project, 12)
        with bulk.streaming(Sample):
            for ordinal, (row, pk) in enumerate(zip(rows, reserve_ids(Sample, 12), strict=True)):
                samples.append(sample_row(project, pk, row[0], ordinal))
                bulk.maybe_send()  # written into the COPY (opened again after a batch of images)
                opened.append(open_copy(bulk))
                if ordinal == 7:
                    with bulk.exclusive():
                        assert not open_copy(bulk)
                        assert Project.objects.filter(pk=project.pk).exists()  # a statement of the caller's own
                images.append(row)
                bulk.maybe_send()  # every 6 images: a batch, which ends the COPY
        assert not open_copy(bulk)
        if bulk.postgres:
            assert all(opened)
            assert session_replication_role() == "origin"
    assert Image.objects.count() == Sample.objects.count() == 12
    assert bulk.counts == {Image: 12, Sample: 12}
    assert sorted(Sample.objects.values_list("ordinal", flat=True)) == list(range(12))


@pytest.mark.django_db(transaction=True)  # SQLite checks foreign keys at COMMIT only
def test_a_streamed_reference_to_a_row_not_written_is_refused(project, set_based):
    (image,) = image_rows(project, 1)
    first, second = reserve_ids(Sample, 2)
    key = r"image_id\)=\(1000000000\)" if connection.vendor == "postgresql" else "FOREIGN KEY"
    with pytest.raises(IntegrityError, match=key), transaction.atomic(), \
            BulkWriter(set_based_checks=set_based) as bulk:
        images, samples = bulk.table(Image, IMAGE), bulk.table(Sample, SAMPLE)
        add(bulk, images, [image])
        with bulk.streaming(Sample):
            add(bulk, samples, [sample_row(project, first, image[0], 0), sample_row(project, second, 10**9, 1)])
    assert not Sample.objects.exists()


def test_an_exception_of_the_caller_while_streaming_rolls_back(project, monkeypatch):
    import annotator.bulk as bulk_module

    monkeypatch.setattr(bulk_module, "STREAM_ROWS", 2)
    with pytest.raises(RuntimeError, match="parser failed"), transaction.atomic(), BulkWriter() as bulk:
        images = bulk.table(Image, IMAGE)
        with bulk.streaming(Image):
            add(bulk, images, image_rows(project, 7))  # three COPY writes done, the COPY still open
            assert open_copy(bulk) == bulk.postgres
            raise RuntimeError("parser failed")
    assert not open_copy(bulk)
    assert not Image.objects.exists()  # rolled back, and the connection answers at once


def test_a_row_the_driver_cannot_stream_rolls_back(project, monkeypatch):
    import annotator.bulk as bulk_module

    monkeypatch.setattr(bulk_module, "STREAM_ROWS", 1)
    bad = ("not an id", project.pk, "bad", "", "", None, None)
    with pytest.raises((TypeError, DatabaseError)), transaction.atomic(), BulkWriter() as bulk:
        images = bulk.table(Image, IMAGE)
        with bulk.streaming(Image):
            add(bulk, images, [*image_rows(project, 1), bad])
    assert not Image.objects.exists()


def test_a_constraint_the_server_rejects_while_streaming_is_an_integrity_error(project):
    (row,) = image_rows(project, 1)
    with pytest.raises(IntegrityError), transaction.atomic(), BulkWriter() as bulk:
        images = bulk.table(Image, IMAGE)
        with bulk.streaming(Image):
            add(bulk, images, [row, (row[0] + 10**9, *row[1:])])  # the same (project, dataset_key) twice
    assert not Image.objects.exists()


def test_a_failure_while_streaming_inside_an_outer_transaction_rolls_back_to_its_savepoint(
        project, set_based, monkeypatch):
    import annotator.bulk as bulk_module

    monkeypatch.setattr(bulk_module, "STREAM_ROWS", 1)
    with transaction.atomic():
        Image.objects.create(project=project, dataset_key="kept.png")
        with pytest.raises(RuntimeError), transaction.atomic(), BulkWriter(set_based_checks=set_based) as bulk:
            images = bulk.table(Image, IMAGE)
            with bulk.streaming(Image):
                add(bulk, images, image_rows(project, 3))  # into the open COPY
                assert open_copy(bulk) == bulk.postgres
                raise RuntimeError("stop")
        assert list(Image.objects.values_list("dataset_key", flat=True)) == ["kept.png"]
        if connection.vendor == "postgresql":
            assert session_replication_role() == "origin"
        with BulkWriter(set_based_checks=set_based) as bulk:  # and the next writer streams as well
            images = bulk.table(Image, IMAGE)
            with bulk.streaming(Image):
                images.extend(image_rows(project, 2))
        assert Image.objects.count() == 3
