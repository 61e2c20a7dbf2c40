from functools import cache

import redis
from django.conf import settings


@cache
def _client_for(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)


def redis_client() -> redis.Redis:
    """The shared Redis connection pool for the configured ``REDIS_URL``."""
    return _client_for(settings.REDIS_URL)
