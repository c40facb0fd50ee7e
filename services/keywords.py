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

import itertools
import logging
import queue
import re
import threading
import time
from collections import OrderedDict
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session

from services import snapshot
from services.db import is_sqlite

logger = logging.getLogger(__name__)

WORD_CACHE_SIZE = 64
TEXT_CHUNK = 25_000
# Chunks of texts fetched ahead of the one being split (PostgreSQL).
READ_AHEAD = 2
TOKEN_SEPARATOR = b"\n"
# A token no search text holds: PostgreSQL text cannot contain NUL.
TEXT_END = "\0"
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
    """Vacancies of one dataset matching keyword queries.

    `store` is the folder the postings are saved in and mapped from, and
    `instance_dir` the instance folder whose build lock guards writing
    them; without them the postings stay in this process. Each word's
    matches are cached as packed bits (an eighth of a byte per vacancy).
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

    def find_mask(self, session: Session, words: tuple[str, ...]) -> np.ndarray:
        """Per vacancy: does its search text hold every word?"""
        found = np.ones(self.ids.size, dtype=bool)
        for word in sorted(set(words), key=len, reverse=True):
            found &= self._word_mask(session, word)
        return found

    def find_rows(self, session: Session, words: tuple[str, ...]) -> np.ndarray:
        """Sorted row positions of vacancies whose search text holds every word."""
        return np.flatnonzero(self.find_mask(session, words))

    def ensure_postings(self, session: Session) -> None:
        """Map or build the postings now, so no query waits for them later."""
        with self.lock:
            if self.postings is None:
                self.postings = self._get_postings(session)

    def _word_mask(self, session: Session, word: str) -> np.ndarray:
        with self.lock:
            packed = self.words.get(word)
            if packed is not None:
                self.words.move_to_end(word)
                return np.unpackbits(packed, count=self.ids.size).view(bool)
            if self.postings is None:
                self.postings = self._get_postings(session)
            postings = self.postings
        started = time.perf_counter()
        member = find_word_members(postings, word, self.ids.size)
        logger.debug(
            "Keyword %r: %d vacancies in %.3f s",
            word,
            np.count_nonzero(member),
            time.perf_counter() - started,
        )
        with self.lock:
            self.words[word] = np.packbits(member)
            while len(self.words) > WORD_CACHE_SIZE:
                self.words.popitem(last=False)
        return member

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


def find_word_members(postings: TokenPostings, word: str, size: int) -> np.ndarray:
    """Per vacancy: has it a token containing `word` (a word without whitespace)?"""
    needle = re.compile(re.escape(word.encode("utf-8")))
    found = [
        match.start() for match in needle.finditer(memoryview(postings.vocabulary))
    ]
    member = np.zeros(size, dtype=bool)
    if not found:
        return member
    tokens = np.unique(np.searchsorted(postings.starts, found, side="right") - 1)
    bounds = postings.bounds
    if tokens.size <= FEW_TOKENS:
        for token in tokens.tolist():
            member[postings.rows[bounds[token] : bounds[token + 1]]] = True
    else:
        chosen = np.zeros(postings.starts.size, dtype=bool)
        chosen[tokens] = True
        member[postings.rows[np.repeat(chosen, np.diff(bounds))]] = True
    return member


# --- building the postings -------------------------------------------------------


def compute_token_postings(session: Session, ids: np.ndarray) -> TokenPostings:
    """Distinct tokens of every vacancy's search text and their postings.

    Tokens are split exactly as `str.split()` splits a query and numbered
    on first sight; each vacancy lists each of its tokens once.
    """
    started = time.perf_counter()
    vocabulary: defaultdict[str, int] = defaultdict(itertools.count().__next__)
    vocabulary[TEXT_END]  # token 0 marks where a vacancy's text ends
    token_parts, row_parts = [], []
    for chunk_ids, texts in get_search_texts(session):
        rows, found = locate_ids(ids, chunk_ids)
        tokens, positions = split_chunk_tokens(texts, vocabulary)
        if not found.all():
            kept = found[positions]
            tokens, positions = tokens[kept], positions[kept]
        token_parts.append(tokens)
        row_parts.append(rows[positions].astype(np.int32))
    postings = _make_postings(vocabulary, token_parts, row_parts)
    logger.info(
        "Keyword postings: %d tokens, %d postings for %d vacancies in %.2f s",
        postings.starts.size,
        postings.rows.size,
        ids.size,
        time.perf_counter() - started,
    )
    return postings


def split_chunk_tokens(texts: list[str], vocabulary) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (token number, text position) pairs of a chunk of texts,
    ordered by token, then position.

    The texts are split in one call, joined by a marker token that no text
    holds; a text that holds it is split on its own.
    """
    joined = f" {TEXT_END} ".join(texts)
    if joined.count(TEXT_END) != max(len(texts) - 1, 0):
        return _split_texts_one_by_one(texts, vocabulary)
    words = joined.split()
    numbers = np.fromiter(
        map(vocabulary.__getitem__, words), dtype=np.int64, count=len(words)
    )
    ends = numbers == 0
    positions = np.cumsum(ends)
    kept = ~ends
    # Token number in the high bits, text position in the low ones.
    shift = max(len(texts), 1).bit_length()
    pairs = np.sort((numbers[kept] << shift) | positions[kept])
    # Sorting and dropping repeats beats np.unique's hash table here.
    pairs = pairs[np.concatenate(([True], pairs[1:] != pairs[:-1]))[: pairs.size]]
    tokens = (pairs >> shift).astype(np.int32)
    return tokens, pairs & ((1 << shift) - 1)


def _split_texts_one_by_one(texts: list[str], vocabulary):
    tokens, positions = [], []
    for position, text in enumerate(texts):
        numbers = sorted({vocabulary[word] for word in text.split()})
        tokens.extend(numbers)
        positions.extend([position] * len(numbers))
    tokens = np.array(tokens, dtype=np.int32)
    positions = np.array(positions, dtype=np.int64)
    by_token = np.lexsort((positions, tokens))
    return tokens[by_token], positions[by_token]


def _make_postings(vocabulary, token_parts, row_parts) -> TokenPostings:
    """Postings from each chunk's (token, row) pairs, sorted by token then row.

    Chunks come in row order, so a token's rows are its rows of the first
    chunk, then of the second, and so on: each chunk's runs are copied to
    where its token's rows continue, with no sort over all the postings.
    """
    counts = np.zeros(len(vocabulary), dtype=np.int64)
    for tokens in token_parts:
        counts += np.bincount(tokens, minlength=counts.size)
    bounds = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    rows = np.empty(int(bounds[-1]), dtype=np.int32)
    filled = bounds[:-1].copy()
    for tokens, chunk_rows in zip(token_parts, row_parts, strict=True):
        _place_chunk_rows(tokens, chunk_rows, rows, filled)
    encoded = [token.encode("utf-8") + TOKEN_SEPARATOR for token in vocabulary]
    lengths = np.fromiter((len(t) for t in encoded), dtype=np.int64, count=len(encoded))
    return TokenPostings(
        vocabulary=np.frombuffer(b"".join(encoded), dtype=np.uint8),
        starts=np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64),
        bounds=bounds,
        rows=rows,
    )


def _place_chunk_rows(tokens, chunk_rows, rows, filled) -> None:
    """Copy a chunk's rows (sorted by token) after each token's rows so far."""
    if tokens.size == 0:
        return
    run_starts = np.flatnonzero(np.concatenate(([True], tokens[1:] != tokens[:-1])))
    run_tokens = tokens[run_starts]
    run_lengths = np.diff(np.append(run_starts, tokens.size))
    shift = np.repeat(filled[run_tokens] - run_starts, run_lengths)
    rows[np.arange(tokens.size) + shift] = chunk_rows
    filled[run_tokens] += run_lengths


def locate_ids(ids: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of `wanted` ids in the sorted `ids`, and which of them exist."""
    if ids.size == 0:
        return np.zeros(wanted.size, dtype=np.int64), np.zeros(wanted.size, bool)
    rows = np.minimum(np.searchsorted(ids, wanted), ids.size - 1)
    return rows, ids[rows] == wanted


def get_search_texts(session: Session):
    """Yield (ids, search texts) of every vacancy in id order, a chunk at a time.

    PostgreSQL sends each chunk as two values: the ids in binary and the
    texts as one UTF-8 byte string.
    """
    connection = session.connection().connection.driver_connection
    if is_sqlite(session.get_bind()):
        # sqlite3 connections refuse use from another thread.
        yield from _iterate_chunks(_get_sqlite_text_chunk, connection)
    else:
        yield from read_ahead(_iterate_chunks(_get_postgres_text_chunk, connection))


def _iterate_chunks(get_chunk, connection):
    after = -(2**63)
    while True:
        chunk_ids, texts = get_chunk(connection, after)
        if chunk_ids.size == 0:
            return
        yield chunk_ids, texts
        after = int(chunk_ids.max())


def read_ahead(items: Iterator) -> Iterator:
    """Yield from `items`, producing the next one on a thread meanwhile.

    The database prepares and sends the next chunk of texts while this
    thread splits the current one. An error of the producer is raised here.
    """
    ready: queue.Queue = queue.Queue(maxsize=READ_AHEAD)
    stop = threading.Event()

    def offer(message) -> bool:
        while not stop.is_set():
            try:
                ready.put(message, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not offer(("item", item)):
                    return
            offer(("done", None))
        except BaseException as error:  # handed to the consumer, who raises it
            offer(("error", error))

    producer = threading.Thread(target=produce, name="read-ahead", daemon=True)
    producer.start()
    try:
        while True:
            kind, value = ready.get()
            if kind == "done":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        producer.join()


def _get_sqlite_text_chunk(connection, after: int):
    rows = connection.execute(
        "SELECT id, coalesce(search_text, '') FROM vacancies"
        " WHERE id > ? ORDER BY id LIMIT ?",
        (after, TEXT_CHUNK),
    ).fetchall()
    chunk_ids = np.array([row[0] for row in rows], dtype=np.int64)
    return chunk_ids, [row[1] for row in rows]


def _get_postgres_text_chunk(connection, after: int):
    # PostgreSQL text never holds NUL, so it can end each text.
    sql = (
        "SELECT string_agg(int8send(id), ''),"
        " string_agg(convert_to(text, 'UTF8') || '\\x00'::bytea, '')"
        " FROM (SELECT id, coalesce(search_text, '') AS text FROM vacancies"
        " WHERE id > %s ORDER BY id LIMIT %s) AS picked"
    )
    row = connection.execute(sql, (after, TEXT_CHUNK), binary=True).fetchone()
    if row[0] is None:
        return np.zeros(0, dtype=np.int64), []
    chunk_ids = np.frombuffer(row[0], dtype=">i8").astype(np.int64)
    texts = bytes(row[1]).decode("utf-8").split(TEXT_END)[:-1]
    return chunk_ids, texts
