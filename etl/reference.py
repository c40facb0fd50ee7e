"""hh.ru reference data: the area tree, professional roles, dictionaries.

The refresh fetches them first, plans with them in memory, and saves them in
its final write, so a failed refresh leaves the stored reference untouched.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from services.schema import Area
from services.schema import CurrencyRate
from services.schema import EnumLabel
from services.schema import ProfessionalRole
from services.schema import RoleCategory
from services.schema import RoleCategoryLink

logger = logging.getLogger(__name__)

# `/dictionaries` keys whose entries label the enum ids stored on vacancies.
ENUM_DICTIONARY_KINDS = (
    "experience",
    "employment",
    "schedule",
    "employment_form",
    "work_format",
    "salary_range_mode",
    "salary_range_frequency",
)


def upsert_rows(session: Session, model, rows: list[dict], keys: Sequence[str]):
    """Insert `rows` into `model`'s table, updating the non-key columns on conflict."""
    if not rows:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(model)
    updated = {
        column: statement.excluded[column] for column in rows[0] if column not in keys
    }
    if updated:
        statement = statement.on_conflict_do_update(index_elements=keys, set_=updated)
    else:
        statement = statement.on_conflict_do_nothing(index_elements=keys)
    session.execute(statement, rows)


# --- areas ------------------------------------------------------------------------


def iter_area_nodes(
    areas_json: Iterable[Mapping],
) -> Iterator[tuple[int, str, int | None]]:
    """Yield (id, name, parent_id) for every node of an `/areas` tree."""
    stack = list(areas_json)
    while stack:
        node = stack.pop()
        parent = node.get("parent_id")
        yield int(node["id"]), node.get("name") or "", int(parent) if parent else None
        stack.extend(node.get("areas") or ())


def area_children(areas_json: Iterable[Mapping]) -> dict[int, list[int]]:
    """Map each area id to its child ids, in the order `/areas` lists them."""
    children: dict[int, list[int]] = {}
    stack = list(areas_json)
    while stack:
        node = stack.pop()
        kids = node.get("areas") or []
        children[int(node["id"])] = [int(kid["id"]) for kid in kids]
        stack.extend(kids)
    return children


def area_descendants(
    children: Mapping[int, Sequence[int]], roots: Iterable[int]
) -> set[int]:
    """The given areas and every area below them."""
    found: set[int] = set()
    stack = list(roots)
    while stack:
        area_id = stack.pop()
        if area_id in found:
            continue
        found.add(area_id)
        stack.extend(children.get(area_id, ()))
    return found


def save_areas(session: Session, areas_json: Iterable[Mapping], now: datetime) -> int:
    """Upsert the tree, writing only changed nodes; nodes gone from it turn stale.

    Returns the number of rows written.
    """
    stored = {
        row.id: (row.name, row.parent_id, row.stale)
        for row in session.execute(
            select(Area.id, Area.name, Area.parent_id, Area.stale)
        )
    }
    changed = []
    seen = set()
    for area_id, name, parent_id in iter_area_nodes(areas_json):
        seen.add(area_id)
        if stored.get(area_id) != (name, parent_id, False):
            changed.append(
                {
                    "id": area_id,
                    "name": name,
                    "parent_id": parent_id,
                    "stale": False,
                    "updated_at": now,
                }
            )
    upsert_rows(session, Area, changed, ["id"])

    vanished = [
        area_id for area_id, row in stored.items() if area_id not in seen and not row[2]
    ]
    if vanished:
        session.execute(
            update(Area).where(Area.id.in_(vanished)).values(stale=True, updated_at=now)
        )
    logger.info("areas saved: %d changed, %d now stale", len(changed), len(vanished))
    return len(changed) + len(vanished)


# --- professional roles -----------------------------------------------------------


def searchable_role_ids(roles_json: Mapping) -> list[int]:
    """Role ids a search may use (not `search_deprecated`), each once, sorted."""
    ids = {
        int(role["id"])
        for category in roles_json.get("categories") or ()
        for role in category.get("roles") or ()
        if not role.get("search_deprecated")
    }
    return sorted(ids)


def read_professional_roles(roles_json: Mapping) -> tuple[dict, dict, set]:
    """Categories {id: name}, roles {id: (name, search_deprecated)} and
    (role_id, category_id) links of a `/professional_roles` answer."""
    categories, roles, links = {}, {}, set()
    for category in roles_json.get("categories") or ():
        category_id = int(category["id"])
        categories[category_id] = category.get("name") or ""
        for role in category.get("roles") or ():
            role_id = int(role["id"])
            roles[role_id] = (
                role.get("name") or "",
                bool(role.get("search_deprecated")),
            )
            links.add((role_id, category_id))
    return categories, roles, links


def get_professional_roles(session: Session) -> tuple[dict, dict, set]:
    """The stored roles in the shape of `read_professional_roles`."""
    categories = {
        row.id: row.name
        for row in session.execute(select(RoleCategory.id, RoleCategory.name))
    }
    roles = {
        row.id: (row.name, row.search_deprecated)
        for row in session.execute(
            select(
                ProfessionalRole.id,
                ProfessionalRole.name,
                ProfessionalRole.search_deprecated,
            )
        )
    }
    links = set(
        session.execute(select(RoleCategoryLink.role_id, RoleCategoryLink.category_id))
    )
    return categories, roles, {tuple(link) for link in links}


def save_professional_roles(session: Session, roles_json: Mapping) -> int:
    """Save roles, categories and their links (a role may sit in several).

    Only rows that changed are written; roles gone from the answer are kept,
    since vacancies still point at them. Returns the number of rows written.
    """
    categories, roles, links = read_professional_roles(roles_json)
    stored_categories, stored_roles, stored_links = get_professional_roles(session)

    changed_categories = [
        {"id": category_id, "name": name}
        for category_id, name in sorted(categories.items())
        if stored_categories.get(category_id) != name
    ]
    changed_roles = [
        {"id": role_id, "name": name, "search_deprecated": deprecated}
        for role_id, (name, deprecated) in sorted(roles.items())
        if stored_roles.get(role_id) != (name, deprecated)
    ]
    upsert_rows(session, RoleCategory, changed_categories, ["id"])
    upsert_rows(session, ProfessionalRole, changed_roles, ["id"])

    added_links = sorted(links - stored_links)
    removed_links = sorted(stored_links - links)
    for role_id, category_id in removed_links:
        session.execute(
            delete(RoleCategoryLink).where(
                RoleCategoryLink.role_id == role_id,
                RoleCategoryLink.category_id == category_id,
            )
        )
    if added_links:
        session.execute(
            RoleCategoryLink.__table__.insert(),
            [{"role_id": role, "category_id": cat} for role, cat in added_links],
        )
    written = len(changed_categories) + len(changed_roles)
    written += len(added_links) + len(removed_links)
    logger.info(
        "professional roles saved: %d of %d roles and %d of %d categories changed",
        len(changed_roles),
        len(roles),
        len(changed_categories),
        len(categories),
    )
    return written


# --- dictionaries ---------------------------------------------------------------


def read_currency_rates(dictionaries: Mapping) -> dict[str, float]:
    """Units per 1 RUR by hh currency code; RUR is always 1, zero rates dropped."""
    rates = {
        entry["code"]: float(entry["rate"])
        for entry in dictionaries.get("currency") or ()
        if entry.get("code") and entry.get("rate")
    }
    if not rates.keys() - {"RUR"}:
        # Without rates every salary in another currency is excluded from this
        # refresh's statistics as unknown_currency; the operator should know why.
        logger.warning(
            "/dictionaries lists no usable currency rates: salaries not in "
            "roubles are excluded as unknown_currency in this refresh"
        )
    rates["RUR"] = 1.0
    return rates


def read_enum_labels(dictionaries: Mapping) -> dict[tuple[str, str], str]:
    """(kind, id) -> name for the enum dictionaries this product stores."""
    labels = {}
    for kind in ENUM_DICTIONARY_KINDS:
        for entry in dictionaries.get(kind) or ():
            if entry.get("id") is not None:
                labels[(kind, str(entry["id"]))] = entry.get("name") or entry["id"]
    return labels


def save_dictionaries(session: Session, dictionaries: Mapping, now: datetime) -> int:
    """Save currency rates (with `fetched_at`) and the enum labels."""
    rates = [
        {
            "code": entry["code"],
            "rate": float(entry["rate"]),
            "name": entry.get("name"),
            "fetched_at": now,
        }
        for entry in dictionaries.get("currency") or ()
        if entry.get("code") and entry.get("rate")
    ]
    upsert_rows(session, CurrencyRate, rates, ["code"])
    save_enum_labels(session, read_enum_labels(dictionaries), replace=True)
    logger.info("dictionaries saved: %d currency rates", len(rates))
    return len(rates)


def save_enum_labels(
    session: Session, labels: Mapping[tuple[str, str], str], replace: bool
) -> None:
    """Store labels; `replace=False` only adds ids not labelled yet (item names)."""
    rows = [
        {"kind": kind, "id": enum_id, "name": name}
        for (kind, enum_id), name in sorted(labels.items())
    ]
    if not rows:
        return
    if replace:
        upsert_rows(session, EnumLabel, rows, ["kind", "id"])
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(EnumLabel).on_conflict_do_nothing(
        index_elements=["kind", "id"]
    )
    session.execute(statement, rows)
