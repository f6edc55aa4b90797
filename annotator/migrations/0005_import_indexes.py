"""Indexes an import fills for nothing: each of these costs every imported row an index entry.

* ``image.project_id`` and ``sample.project_id`` alone: the unique constraints ``image_unique_key_per_project``
  (project, dataset_key) and ``sample_unique_ordinal`` (project, kind, ordinal) start with the project and serve
  every lookup by project.
* ``trigger.parent_id``: set only on triggers derived from another (an annotator's edit of a model trigger);
  imported and model triggers have none, so the full index held mostly NULLs. It becomes partial.

Only the indexes change in the database. Django's ``AlterField`` for ``db_index=False`` would also drop and
re-add each foreign key constraint, re-checking every row of the table under an exclusive lock, for nothing:
so the field changes are state only, and the indexes are dropped by name (Django's names for them, the same on
PostgreSQL and SQLite).
"""
import django.db.models.deletion
from django.db import migrations, models

OLD_INDEXES = [  # (name, table, column): as 0001_initial made them
    ("annotator_image_project_id_2b07e960", "annotator_image", "project_id"),
    ("annotator_sample_project_id_36bb2314", "annotator_sample", "project_id"),
    ("annotator_trigger_parent_id_0fc9d537", "annotator_trigger", "parent_id"),
]


class Migration(migrations.Migration):

    dependencies = [
        ("annotator", "0004_project_members"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="image",
                    name="project",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT,
                                            related_name="images", to="annotator.project"),
                ),
                migrations.AlterField(
                    model_name="sample",
                    name="project",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT,
                                            related_name="samples", to="annotator.project"),
                ),
                migrations.AlterField(
                    model_name="trigger",
                    name="parent",
                    field=models.ForeignKey(
                        blank=True, db_index=False,
                        help_text="The trigger this one was derived from (provenance back to the model's proposal).",
                        null=True, on_delete=django.db.models.deletion.PROTECT, related_name="children",
                        to="annotator.trigger"),
                ),
            ],
            database_operations=[
                migrations.RunSQL(f'DROP INDEX IF EXISTS "{name}"', f'CREATE INDEX "{name}" ON "{table}" ("{column}")')
                for name, table, column in OLD_INDEXES
            ],
        ),
        migrations.AddIndex(
            model_name="trigger",
            index=models.Index(condition=models.Q(("parent__isnull", False)), fields=["parent"], name="trigger_parent"),
        ),
    ]
