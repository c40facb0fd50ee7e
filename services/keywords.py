"""Keyword search over the vacancies' normalised search text.

A query's words must all occur, as substrings, in the search column (name
and snippets, case-folded with ё read as е). Matches are read from the
database and cached per word for the data version, so a word costs one scan
however many selections repeat it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict

import numpy as np
from sqlalchemy import Text
from sqlalchemy import cast
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.db import is_sqlite
from services.schema import Vacancy

logger = logging.getLogger(__name__)

WORD_CACHE_SIZE = 64


class KeywordIndex:
    """Rows of one dataset's vacancies matching keyword queries."""

    def __init__(self, ids: np.ndarray) -> None:
        self.ids = ids
        self.words: OrderedDict[str, np.ndarray] = OrderedDict()
        self.lock = threading.Lock()

    def find_rows(self, session: Session, words: tuple[str, ...]) -> np.ndarray:
        """Sorted row positions of vacancies whose search text holds every word."""
        found = None
        for word in sorted(set(words), key=len, reverse=True):
            rows = self._word_rows(session, word)
            found = rows if found is None else np.intersect1d(found, rows)
            if found.size == 0:
                break
        return found if found is not None else np.arange(self.ids.size)

    def _word_rows(self, session: Session, word: str) -> np.ndarray:
        with self.lock:
            cached = self.words.get(word)
            if cached is not None:
                self.words.move_to_end(word)
                return cached
        started = time.perf_counter()
        rows = self._positions(get_matching_vacancy_ids(session, word))
        logger.debug(
            "Keyword %r: %d vacancies in %.3f s",
            word,
            rows.size,
            time.perf_counter() - started,
        )
        with self.lock:
            self.words[word] = rows
            while len(self.words) > WORD_CACHE_SIZE:
                self.words.popitem(last=False)
        return rows

    def _positions(self, found: np.ndarray) -> np.ndarray:
        if self.ids.size == 0 or found.size == 0:
            return np.zeros(0, dtype=np.int64)
        found = np.sort(found)
        positions = np.minimum(np.searchsorted(self.ids, found), self.ids.size - 1)
        return np.unique(positions[self.ids[positions] == found]).astype(np.int32)


def get_matching_vacancy_ids(session: Session, word: str) -> np.ndarray:
    """Ids of vacancies whose search text contains `word`.

    On PostgreSQL the ids arrive folded into one text, not as a row each:
    hundreds of thousands of row objects would outlive the query in the
    worker's heap.
    """
    condition = Vacancy.search_text.contains(word, autoescape=True)
    if is_sqlite(session.get_bind()):
        ids = session.execute(select(Vacancy.id).where(condition)).scalars().all()
        return np.array(ids, dtype=np.int64)
    folded = select(func.string_agg(cast(Vacancy.id, Text), ",")).where(condition)
    text = session.execute(folded).scalar()
    if not text:
        return np.zeros(0, dtype=np.int64)
    return np.fromstring(text, dtype=np.int64, sep=",")
