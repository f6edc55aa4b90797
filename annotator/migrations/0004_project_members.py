import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("annotator", "0003_held_lease_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ProjectMember",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("role", models.CharField(choices=[("lead", "lead"), ("reviewer", "reviewer"),
                                                   ("annotator", "annotator")], max_length=10)),
                ("added_at", models.DateTimeField(auto_now_add=True)),
                ("added_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                               related_name="+", to=settings.AUTH_USER_MODEL)),
                ("project", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="members",
                                              to="annotator.project")),
                ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                           related_name="project_memberships", to=settings.AUTH_USER_MODEL)),
            ],
            options={
                "ordering": ["project", "role", "user"],
                "indexes": [models.Index(fields=["user", "project"], name="annotator_p_user_id_b2803b_idx")],
                "constraints": [models.UniqueConstraint(fields=("project", "user"), name="project_member_unique")],
            },
        ),
    ]
