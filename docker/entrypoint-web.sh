#!/bin/sh
# Apply database migrations, then run the container's command (gunicorn by default).
set -e
python manage.py migrate --noinput
exec "$@"
