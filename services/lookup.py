"""Options for the filters: areas, employers and professional roles by name.

Searches are case-insensitive substring matches with ё read as е, answered
from the in-memory dataset so that hundreds of thousands of employers stay
fast; results are ordered by open vacancies, the largest first.
"""

from __future__ import annotations

import re

import numpy as np
from flask import has_app_context
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.dataset import Dataset
from services.dataset import get_dataset
from services.filters import normalise_text
from services.runtime import current_settings
from services.schema import Area
from services.schema import Employer
from services.schema import ProfessionalRole
from services.schema import RoleCategory
from services.schema import RoleCategoryLink
from services.schema import Vacancy

SEARCH_LIMIT = 20
# Names are joined into one text so one regular-expression scan finds them all.
NAME_SEPARATOR = "\n"


def search_areas(session: Session, q: str, limit: int = SEARCH_LIMIT) -> list[dict]:
    """Areas whose name holds `q`, by open vacancies in them and below them."""
    dataset = _get_lookup_dataset(session)
    open_counts = _open_area_counts(dataset)
    matches = _matching_codes(dataset, "areas", q)
    best = matches[np.lexsort((matches, -open_counts[matches]))][:limit]
    parents = dataset.area_parents
    items = []
    for code in best:
        area_id = int(dataset.areas.labels[code])
        parent = parents[code]
        parent_id = int(dataset.areas.labels[parent]) if parent >= 0 else None
        items.append(
            {
                "id": area_id,
                "name": dataset.area_names.get(area_id, str(area_id)),
                "parent_name": dataset.area_names.get(parent_id),
                "vacancies": int(open_counts[code]),
            }
        )
    return items


def search_employers(session: Session, q: str, limit: int = SEARCH_LIMIT) -> list[dict]:
    """Named employers whose name holds `q`, by open vacancies."""
    dataset = _get_lookup_dataset(session)
    codes = dataset.employers.codes[~dataset.closed]
    open_counts = np.bincount(
        codes[codes >= 0], minlength=dataset.employers.labels.size
    )
    matches = _matching_codes(dataset, "employers", q)
    best = matches[np.lexsort((matches, -open_counts[matches]))][:limit]
    items = []
    for code in best:
        employer_id = dataset.employers.labels[code]
        items.append(
            {
                "id": employer_id,
                "name": dataset.employer_names[code],
                "parent_name": None,
                "vacancies": int(open_counts[code]),
            }
        )
    return items


def _get_lookup_dataset(session: Session) -> Dataset:
    # Inside the web app, share the snapshot the statistics map; outside it
    # (scripts, tests), a dataset built in memory will do. Search options may
    # come from the previous version while the refresh builds the new one.
    settings = current_settings() if has_app_context() else None
    return get_dataset(session, settings, previous_allowed=True)


def _open_area_counts(dataset: Dataset) -> np.ndarray:
    """Open vacancies per area code, each area counting its sub-areas too."""
    size = dataset.areas.labels.size
    own = np.bincount(dataset.areas.codes[~dataset.closed], minlength=size)
    totals = own.copy()
    parents = dataset.area_parents
    carried = own.copy()
    # Each pass lifts the counts one level up the tree.
    for _ in range(32):
        has_parent = (parents >= 0) & (carried > 0)
        if not has_parent.any():
            break
        lifted = np.bincount(
            parents[has_parent], weights=carried[has_parent], minlength=size
        ).astype(np.int64)
        totals += lifted
        carried = lifted
    return totals


def _matching_codes(dataset: Dataset, kind: str, q: str) -> np.ndarray:
    """Codes of areas or employers whose normalised name contains `q`."""
    text, starts = _name_index(dataset, kind)
    size = starts.size
    needle = normalise_text(q.strip())
    if not needle or NAME_SEPARATOR in needle:
        return np.arange(size)
    found = [match.start() for match in re.finditer(re.escape(needle), text)]
    if not found:
        return np.arange(0)
    return np.unique(np.searchsorted(starts, np.array(found), side="right") - 1)


def _name_index(dataset: Dataset, kind: str) -> tuple[str, np.ndarray]:
    """One normalised text of every name with each name's start, built once."""
    with dataset.lock:
        cached = dataset.name_indexes.get(kind)
        if cached is not None:
            return cached
    if kind == "areas":
        names = [dataset.area_names.get(int(i), "") for i in dataset.areas.labels]
    else:
        names = dataset.employer_names.tolist()
    normalised = [normalise_text(name).replace(NAME_SEPARATOR, " ") for name in names]
    lengths = np.array([len(name) + 1 for name in normalised], dtype=np.int64)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)
    built = (NAME_SEPARATOR.join(normalised), starts)
    with dataset.lock:
        dataset.name_indexes[kind] = built
    return built


def get_area_names(session: Session, ids) -> dict[int, str]:
    """Names of the given area ids; unknown ids are left out."""
    ids = [int(i) for i in ids]
    if not ids:
        return {}
    rows = session.execute(select(Area.id, Area.name).where(Area.id.in_(ids)))
    return {key: name for key, name in rows}


def get_employer_names(session: Session, ids) -> dict[str, str]:
    """Names of the given employer ids, from vacancies when the table lacks one."""
    ids = [str(i) for i in ids]
    if not ids:
        return {}
    rows = session.execute(
        select(Employer.id, Employer.name).where(Employer.id.in_(ids))
    )
    names = {key: name for key, name in rows}
    missing = [i for i in ids if i not in names]
    if missing:
        rows = session.execute(
            select(Vacancy.employer_id, Vacancy.employer_name)
            .where(Vacancy.employer_id.in_(missing))
            .distinct()
        )
        for employer_id, name in rows:
            names.setdefault(employer_id, name or employer_id)
    return names


def get_role_options(session: Session) -> list[dict]:
    """Professional roles grouped by category, both sorted by name."""
    rows = session.execute(
        select(RoleCategory.name, ProfessionalRole.id, ProfessionalRole.name)
        .join(RoleCategoryLink, RoleCategoryLink.category_id == RoleCategory.id)
        .join(ProfessionalRole, ProfessionalRole.id == RoleCategoryLink.role_id)
        .order_by(RoleCategory.name, ProfessionalRole.name, ProfessionalRole.id)
    )
    groups: dict[str, list[dict]] = {}
    for category, role_id, role_name in rows:
        groups.setdefault(category, []).append({"id": role_id, "name": role_name})
    return [{"category": name, "roles": roles} for name, roles in groups.items()]
