import io
import os
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from PIL import Image as PILImage

from annotator.roles import ANNOTATOR, LEAD, REVIEWER, ensure_role_groups

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # live_server + Playwright in one test

DATA = Path(__file__).parent / "data"
SAMPLE = DATA / "eibench-sample"


@pytest.fixture
def sample_dir() -> Path:
    return SAMPLE


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Every test gets its own media folder and import root."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.VAR_DIR = tmp_path
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
    settings.EISTUDIO_IMPORT_ROOTS = [str(tmp_path / "incoming")]
    # a cache of its own (throttling counters start at zero in every test)
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": str(tmp_path)}}
    (tmp_path / "incoming").mkdir()
    return tmp_path


@pytest.fixture
def eager_celery():
    from config.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield app
    app.conf.task_always_eager = False


def make_image(path: Path, size=(32, 24), color=(200, 120, 40), fmt="PNG") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    PILImage.new("RGB", size, color).save(path, fmt)
    return path


def png_bytes(size=(16, 16)) -> bytes:
    buf = io.BytesIO()
    PILImage.new("RGB", size, (10, 20, 30)).save(buf, "PNG")
    return buf.getvalue()


def _user(django_user_model, name, role=None):
    ensure_role_groups()
    user = django_user_model.objects.create_user(username=name, password="pw-" + name)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


def make_member(user, project, role=None):
    """Make ``user`` a member of ``project`` with ``role`` (default: their site role)."""
    from annotator.actions import do_add_member

    return do_add_member(project, user, role)


def join(project, *users):
    """Make each user a member of ``project`` in their site role; returns the project."""
    for user in users:
        make_member(user, project)
    return project


@pytest.fixture
def lead(db, django_user_model):
    return _user(django_user_model, "lead1", LEAD)


@pytest.fixture
def annotator(db, django_user_model):
    return _user(django_user_model, "ann1", ANNOTATOR)


@pytest.fixture
def reviewer(db, django_user_model):
    return _user(django_user_model, "rev1", REVIEWER)


@pytest.fixture
def no_role(db, django_user_model):
    return _user(django_user_model, "nobody")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"],
    }
