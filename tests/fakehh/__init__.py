"""A fake hh.ru API for tests and benchmarks (see `tests/fakehh/server.py`)."""

from tests.fakehh.server import FakeHH
from tests.fakehh.server import Faults
from tests.fakehh.server import RequestLog
from tests.fakehh.store import ItemStore
from tests.fakehh.store import load_shared_store

__all__ = ["FakeHH", "Faults", "ItemStore", "RequestLog", "load_shared_store"]
