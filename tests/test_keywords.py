"""Keyword postings find exactly the vacancies a LIKE '%word%' scan finds."""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import replace

import numpy as np
import pytest
from sqlalchemy import select

from services.analytics import get_stats
from services.dataset import clear_dataset_cache
from services.dataset import get_dataset
from services.filters import Filters
from services.filters import split_query_words
from services.keywords import KeywordIndex
from services.keywords import _make_postings
from services.keywords import split_chunk_tokens
from services.schema import Vacancy
from tests.test_analytics import SETTINGS
from tests.test_analytics import add_reference_data
from tests.test_analytics import add_vacancy
from tests.test_analytics import publish

pytestmark = pytest.mark.db

NAMES = (
    "Программист C++ (Qt)",
    "Бухгалтер 1С:Предприятие",
    "Ёлочный дизайнер, ЕЛКА",
    "ведущий аналитик данных\tpython",
    "курьер\nпешком",
    "Java/Kotlin разработчик",
    "Менеджер\u00a0по продажам",
    "СТРАССЕ straße",
    "100% удалённо; опыт 1-3 года",
    "C# .NET",
    "",
    "а и в",
)
QUERIES = (
    "c++",
    "c",
    "++",
    "1с:",
    "1с",
    "с:",
    "ёлка",
    "елочный",
    "Е",
    "ЁЛ",
    "python",
    "данных",
    "ных\tpy",
    "курьер пешком",
    "/kotlin",
    "по",
    "продажам",
    "strasse",
    "100%",
    "_",
    "1-3",
    "c#",
    ".net",
    "а",
    "и в",
    "нет такого",
    "%",
    "\\",
)


def get_like_rows(session, ids: np.ndarray, words) -> list[int]:
    """Rows whose search text holds every word, by the database's LIKE."""
    matching = set(ids.tolist())
    for word in words:
        condition = Vacancy.search_text.contains(word, autoescape=True)
        matching &= set(session.execute(select(Vacancy.id).where(condition)).scalars())
    return sorted(int(np.searchsorted(ids, i)) for i in matching)


@pytest.fixture
def session(db_session):
    clear_dataset_cache()
    add_reference_data(db_session)
    for number, name in enumerate(NAMES, start=1):
        add_vacancy(db_session, number * 7, name=name)
    publish(db_session, "v1")
    yield db_session
    clear_dataset_cache()


@pytest.mark.parametrize("query", QUERIES, ids=[repr(q) for q in QUERIES])
def test_postings_equal_like_scan(session, query):
    words = split_query_words(query)
    ids = np.array([number * 7 for number in range(1, len(NAMES) + 1)])

    found = KeywordIndex(ids).find_rows(session, words)

    assert found.tolist() == get_like_rows(session, ids, words)


def test_hand_picked_matches(session):
    ids = np.array([number * 7 for number in range(1, len(NAMES) + 1)])
    index = KeywordIndex(ids)

    def names(query):
        rows = index.find_rows(session, split_query_words(query))
        return [NAMES[row] for row in rows.tolist()]

    assert names("c++") == ["Программист C++ (Qt)"]
    assert names("ёлка") == ["Ёлочный дизайнер, ЕЛКА"]
    assert names("1С:") == ["Бухгалтер 1С:Предприятие"]
    assert names("по продажам") == ["Менеджер\u00a0по продажам"]
    assert names("strasse") == ["СТРАССЕ straße"]


def test_saved_postings_are_mapped_by_the_next_process(session, tmp_path):
    settings = replace(SETTINGS, instance_dir=tmp_path)
    expected = get_stats(session, Filters(q="c++ qt"), settings)
    assert expected["vacancies"] == 1

    clear_dataset_cache()
    dataset = get_dataset(session, settings)
    rows = dataset.keyword_rows(session, ("1с:",))

    assert [NAMES[row] for row in rows.tolist()] == ["Бухгалтер 1С:Предприятие"]
    assert isinstance(dataset.keywords.postings.rows.base, np.memmap)
    assert get_stats(session, Filters(q="c++ qt"), settings) == expected


@pytest.mark.parametrize(
    "texts",
    [
        ["a b a", "", "b\u00a0c", "c"],
        ["x\0y z", "z x"],
        [""],
    ],
    ids=["repeats-and-nbsp", "text-holding-the-marker", "one-empty-text"],
)
def test_chunk_tokens_pair_each_text_with_its_distinct_tokens(texts):
    vocabulary = defaultdict(itertools.count().__next__)
    vocabulary["\0"]
    tokens, positions = split_chunk_tokens(texts, vocabulary)
    names = {number: token for token, number in vocabulary.items()}

    pairs = sorted(
        (int(p), names[int(t)]) for t, p in zip(tokens, positions, strict=True)
    )
    expected = sorted((p, w) for p, text in enumerate(texts) for w in set(text.split()))
    assert pairs == expected
    ordered = list(zip(tokens.tolist(), positions.tolist(), strict=True))
    assert ordered == sorted(ordered)


def test_postings_of_several_chunks_list_each_tokens_rows_in_order():
    chunks = [["a b", "b c"], ["x\0y a", "c b"], ["", "a a", "y"]]
    vocabulary = defaultdict(itertools.count().__next__)
    vocabulary["\0"]
    token_parts, row_parts, first_row = [], [], 0
    for texts in chunks:
        tokens, positions = split_chunk_tokens(texts, vocabulary)
        token_parts.append(tokens)
        row_parts.append((positions + first_row).astype(np.int32))
        first_row += len(texts)
    postings = _make_postings(vocabulary, token_parts, row_parts)

    every_text = [text for texts in chunks for text in texts]
    for token, number in vocabulary.items():
        rows = postings.rows[postings.bounds[number] : postings.bounds[number + 1]]
        expected = [row for row, text in enumerate(every_text) if token in text.split()]
        assert rows.tolist() == expected, token
