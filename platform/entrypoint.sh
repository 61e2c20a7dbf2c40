#!/bin/sh
# Process entry point of the container image: consultio web|worker|beat|migrate|manage ...
set -e
case "${1:-web}" in
  web)
    exec uvicorn config.asgi:application --host 0.0.0.0 --port "${PORT:-8000}" \
      --workers "${WEB_CONCURRENCY:-2}" --proxy-headers --forwarded-allow-ips "*" ;;
  worker)
    exec celery -A config worker -l "${LOG_LEVEL:-info}" --concurrency "${CELERY_CONCURRENCY:-2}" ;;
  beat)
    exec celery -A config beat -l "${LOG_LEVEL:-info}" --schedule /tmp/celerybeat-schedule ;;
  migrate)
    exec python manage.py migrate --noinput ;;
  manage)
    shift; exec python manage.py "$@" ;;
  *)
    exec "$@" ;;
esac
