"""Gunicorn's settings for Cellule: `gunicorn -c gunicorn.conf.py wsgi:app`.

The access log names each request by its path alone: query strings carry what people
look up (`GET /api/v1/persons?q=&phone=&email=`: names, phones, emails) and the referrer
the query of the page before, so neither is written (`%(U)s`, not `%(r)s`; no `%(f)s`).
Options given on the command line win over these.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))

accesslog = "-"
# Address, time, method, path without query, protocol, status, size, user agent, duration (µs).
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s "%(a)s" %(D)s'
