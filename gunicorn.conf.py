"""Gunicorn's settings for Cellule: `gunicorn -c gunicorn.conf.py wsgi:app`.

The access log names each request by its path alone: query strings carry what people
look up (`GET /api/v1/persons?q=&phone=&email=`: names, phones, emails) and the referrer
the query of the page before, so neither is written (`%(U)s`, not `%(r)s`; no `%(f)s`).
Options given on the command line win over these.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
# Threaded workers: a request waiting for PostgreSQL or Redis leaves its process's CPU to
# another request, and connections stay open between calls (the sync worker closes each
# one). Measured on this machine kind (issue 17): 81 -> 177 list requests/s at concurrency
# 1, about 1 ms less per sequential call. The application is thread-safe: a database
# session and a Redis client per application context.
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# Keep an idle client connection open this long (seconds): a desk's browser or an
# integration calling again reuses it instead of a new TCP (and, behind the proxy, TLS) setup.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))

accesslog = "-"
# Address, time, method, path without query, protocol, status, size, user agent, duration (µs).
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s "%(a)s" %(D)s'
