"""Search terms kept on the server so that URLs carry no personal data (DESIGN §8).

The active search pushes `?s=<key>` into the address bar instead of `?q=<name>`:
the key is an HMAC of the user and the terms, the terms sit in Redis for the
length of a working session. If Redis is down the search still works, only
the address bar does not follow it.
"""

import hashlib
import hmac
import json
import logging

from flask import current_app
from redis.exceptions import RedisError

from cellule.redis_conn import get_redis

log = logging.getLogger(__name__)

TTL_SECONDS = 8 * 3600
_PREFIX = "cellule:contacts:search:"


def save_query(user, query):
    """Store the terms; return their key, or None when Redis is unavailable."""
    secret = current_app.config["SECRET_KEY"].encode()
    key = hmac.new(secret, f"{user.id}\0{query}".encode(), hashlib.sha256).hexdigest()[:24]
    try:
        get_redis().set(
            _PREFIX + key, json.dumps({"user": user.id, "q": query}), ex=TTL_SECONDS
        )
    except RedisError:
        log.warning("saved search: Redis unavailable")
        return None
    return key


def load_query(user, key):
    """Return the terms stored under `key` for this user, or "" when unknown."""
    if not key or len(key) != 24 or not key.isalnum():
        return ""
    try:
        raw = get_redis().get(_PREFIX + key)
    except RedisError:
        log.warning("saved search: Redis unavailable")
        return ""
    if not raw:
        return ""
    try:
        data = json.loads(raw)
    except ValueError:
        return ""
    return data.get("q", "") if data.get("user") == user.id else ""
