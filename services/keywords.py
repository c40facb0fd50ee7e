"""Keyword search over the vacancies' normalised search text.

A query's words must all occur, as substrings, in the search column (name
and snippets, case-folded with ё read as е). A query word holds no
whitespace, so every occurrence lies inside one whitespace-separated token
of the text: a vacancy matches a word exactly when one of its tokens
contains the word. The index keeps the distinct tokens once, as one UTF-8
text scanned with a regular expression, and per token the rows of the
vacancies that use it (CSR postings). It is built from the database on the
first keyword query of a data version and saved beside the dataset
snapshot, so other workers map it instead of building it again.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from services import snapshot
from services.db import is_sqlite

logger = logging.getLogger(__name__)

WORD_CACHE_SIZE = 64
TEXT_CHUNK = 100_000
TOKEN_SEPARATOR = b"\n"
# Below this many matching tokens, gathering their postings beats a pass
# over every posting.
FEW_TOKENS = 2_000


@dataclass
class TokenPostings:
    """Distinct tokens and, per token, the sorted rows of vacancies using it.

    `vocabulary` is the UTF-8 text of every token, each followed by a
    newline; token `t` starts at byte `starts[t]` and its rows are
    `rows[bounds[t]:bounds[t + 1]]`.
    """

    vocabulary: np.ndarray
    starts: np.ndarray
    bounds: np.ndarray
    rows: np.ndarray


class KeywordIndex:
    """Rows of one dataset's vacancies matching keyword queries.

    `store` is the folder the postings are saved in and mapped from, and
    `instance_dir` the instance folder whose build lock guards writing
    them; without them the postings stay in this process.
    """

    def __init__(
        self,
        ids: np.ndarray,
        version: str | None = None,
        store: Path | None = None,
        instance_dir: Path | None = None,
    ) -> None:
        self.ids = ids
        self.version = version
        self.store = store
        self.instance_dir = instance_dir
        self.postings: TokenPostings | None = None
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
            postings = self.postings
            if postings is None:
                postings = self.postings = self._get_postings(session)
        started = time.perf_counter()
        rows = find_word_rows(postings, word, self.ids.size)
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

    def _get_postings(self, session: Session) -> TokenPostings:
        """The saved postings, or ones built now (and saved when possible)."""
        classes = {"TokenPostings": TokenPostings}
        if self.store is None:
            return compute_token_postings(session, self.ids)
        postings = snapshot.load_snapshot(self.store, classes)
        if postings is not None:
            return postings
        try:
            with snapshot.building_lock(self.instance_dir):
                postings = snapshot.load_snapshot(self.store, classes)
                if postings is not None:
                    return postings
                postings = compute_token_postings(session, self.ids)
                if self._data_unchanged(session):
                    snapshot.save_snapshot(self.store, postings, replace=False)
        except snapshot.SnapshotError:
            logger.exception("Keyword postings of %s kept in memory", self.version)
            return postings or compute_token_postings(session, self.ids)
        return snapshot.load_snapshot(self.store, classes) or postings

    def _data_unchanged(self, session: Session) -> bool:
        # Postings read after a newer write must not be saved under this version.
        from services.state import get_data_info

        return get_data_info(session).version == self.version


def find_word_rows(postings: TokenPostings, word: str, size: int) -> np.ndarray:
    """Sorted rows of vacancies with a token containing `word` (no whitespace)."""
    needle = re.escape(word.encode("utf-8"))
    text = memoryview(postings.vocabulary)
    found = [match.start() for match in re.finditer(needle, text)]
    if not found:
        return np.zeros(0, dtype=np.int32)
    tokens = np.unique(np.searchsorted(postings.starts, found, side="right") - 1)
    member = np.zeros(size, dtype=bool)
    if tokens.size <= FEW_TOKENS:
        bounds = postings.bounds
        for token in tokens.tolist():
            member[postings.rows[bounds[token] : bounds[token + 1]]] = True
    else:
        chosen = np.zeros(postings.starts.size, dtype=bool)
        chosen[tokens] = True
        member[postings.rows[np.repeat(chosen, np.diff(postings.bounds))]] = True
    return np.flatnonzero(member).astype(np.int32)


# --- building the postings -------------------------------------------------------


def compute_token_postings(session: Session, ids: np.ndarray) -> TokenPostings:
    """Tokens of every vacancy's search text and their postings, read in chunks."""
    started = time.perf_counter()
    vocabulary: dict[str, int] = {}
    keys = []
    for chunk_ids, texts in get_search_texts(session):
        rows, found = locate_ids(ids, chunk_ids)
        tokens = pd.Series(texts)[found].str.split().explode().dropna()
        if tokens.empty:
            continue
        codes, labels = pd.factorize(tokens.to_numpy(dtype=object))
        numbers = np.array([vocabulary.setdefault(t, len(vocabulary)) for t in labels])
        token_rows = rows[tokens.index.to_numpy()]
        keys.append(numbers[codes].astype(np.int64) * max(ids.size, 1) + token_rows)
    postings = _make_postings(vocabulary, keys, max(ids.size, 1))
    logger.info(
        "Keyword postings: %d tokens, %d postings for %d vacancies in %.2f s",
        postings.starts.size,
        postings.rows.size,
        ids.size,
        time.perf_counter() - started,
    )
    return postings


def _make_postings(vocabulary: dict, keys: list, size: int) -> TokenPostings:
    # One sorted key per (token, row) pair: sorting groups rows by token.
    merged = np.unique(np.concatenate(keys)) if keys else np.zeros(0, np.int64)
    tokens, rows = np.divmod(merged, size)
    counts = np.bincount(tokens, minlength=len(vocabulary))
    encoded = [token.encode("utf-8") + TOKEN_SEPARATOR for token in vocabulary]
    lengths = np.fromiter((len(t) for t in encoded), dtype=np.int64, count=len(encoded))
    return TokenPostings(
        vocabulary=np.frombuffer(b"".join(encoded), dtype=np.uint8),
        starts=np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64),
        bounds=np.concatenate(([0], np.cumsum(counts))).astype(np.int64),
        rows=rows.astype(np.int32),
    )


def locate_ids(ids: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the sorted `wanted` ids in the sorted `ids`, and which exist."""
    if ids.size == 0:
        return np.zeros(wanted.size, dtype=np.int64), np.zeros(wanted.size, bool)
    rows = np.minimum(np.searchsorted(ids, wanted), ids.size - 1)
    return rows, ids[rows] == wanted


def get_search_texts(session: Session):
    """Yield (ids, search texts) of every vacancy in id order, a chunk at a time.

    PostgreSQL sends each chunk as three values: ids and text lengths in
    binary, and the texts as one UTF-8 byte string.
    """
    connection = session.connection().connection.driver_connection
    after = -(2**63)
    while True:
        if is_sqlite(session.get_bind()):
            rows = connection.execute(
                "SELECT id, coalesce(search_text, '') FROM vacancies"
                " WHERE id > ? ORDER BY id LIMIT ?",
                (after, TEXT_CHUNK),
            ).fetchall()
            if not rows:
                return
            chunk_ids = np.array([row[0] for row in rows], dtype=np.int64)
            texts = [row[1] for row in rows]
        else:
            chunk_ids, texts = _get_postgres_text_chunk(connection, after)
            if chunk_ids.size == 0:
                return
        yield chunk_ids, texts
        after = int(chunk_ids[-1])


def _get_postgres_text_chunk(connection, after: int):
    sql = (
        "SELECT string_agg(int8send(id), '' ORDER BY id),"
        " string_agg(int4send(octet_length(text)), '' ORDER BY id),"
        " string_agg(convert_to(text, 'UTF8'), '' ORDER BY id)"
        " FROM (SELECT id, coalesce(search_text, '') AS text FROM vacancies"
        " WHERE id > %s ORDER BY id LIMIT %s) AS picked"
    )
    row = connection.execute(sql, (after, TEXT_CHUNK), binary=True).fetchone()
    if row[0] is None:
        return np.zeros(0, dtype=np.int64), []
    chunk_ids = np.frombuffer(row[0], dtype=">i8").astype(np.int64)
    ends = np.cumsum(np.frombuffer(row[1], dtype=">i4").astype(np.int64))
    blob = bytes(row[2] or b"")
    starts = np.concatenate(([0], ends[:-1]))
    texts = [
        blob[a:b].decode("utf-8")
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True)
    ]
    return chunk_ids, texts
