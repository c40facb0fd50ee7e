"""gunicorn settings for tests/test_gunicorn_workers.py.

The access log names the worker's pid on every line, so a test can see which
worker answered without any header in the product; a test's own Redis key
prefix is set in the master before the workers fork.
"""

import os

import auth.ratelimit

accesslog = os.environ["TEST_ACCESS_LOG"]
access_log_format = "%(p)s %(m)s %(U)s %(s)s"
preload_app = False

if os.environ.get("TEST_REDIS_PREFIX"):
    auth.ratelimit.REDIS_PREFIX = os.environ["TEST_REDIS_PREFIX"]
