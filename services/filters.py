"""One selection of vacancies, parsed from the URL or API query string.

The page's URL and `GET /api/v1/stats` share these parameters (design §6).
`parse_filters` is strict: it returns every malformed value as a `FilterError`
in the order of the design's table, so the API can answer with the first one
and the page can drop each bad value with a notice.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import fields
from datetime import date

EXPERIENCE_IDS = ("noExperience", "between1And3", "between3And6", "moreThan6")
EMPLOYMENT_FORM_IDS = ("FULL", "PART", "PROJECT", "FLY_IN_FLY_OUT", "SIDE_JOB")
WORK_FORMAT_IDS = ("ON_SITE", "REMOTE", "HYBRID", "FIELD_WORK")
UNKNOWN = "unknown"

STATUSES = ("open", "closed", "all")
BASES = ("net", "gross")
VIEWS = ("mid", "from", "to")

TRUE_WORDS = ("true", "1")
FALSE_WORDS = ("false", "0")

MAX_QUERY_LENGTH = 500

# hh.ru has no vacancies from before 2000; the bounds also keep the Moscow-day
# arithmetic of the publication window clear of the ends of the calendar.
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2100, 12, 31)

_ID = re.compile(r"[0-9]{1,18}")
_ENUM_VALUE = re.compile(r"[A-Za-z_]{1,40}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

# The order of design §6's table: errors are reported in this order.
PARAMETER_ORDER = (
    "area",
    "exclude_area",
    "employer",
    "experience",
    "role",
    "employment_form",
    "work_format",
    "q",
    "published_from",
    "published_to",
    "only_with_salary",
    "status",
    "accredited_it",
    "trusted",
    "basis",
    "view",
)
KNOWN_ENUMS = {
    "experience": EXPERIENCE_IDS,
    "employment_form": EMPLOYMENT_FORM_IDS,
    "work_format": WORK_FORMAT_IDS,
}


def normalise_text(text: str) -> str:
    """Case-fold and spell ё as е, the form the vacancies' search column keeps."""
    return text.casefold().replace("ё", "е")


def split_query_words(q: str) -> tuple[str, ...]:
    """The normalised words of a keyword query; each must occur in a vacancy."""
    return tuple(normalise_text(q).split())


@dataclass(frozen=True)
class Filters:
    """One selection of vacancies; field names are the parameter names of §6."""

    area: tuple[int, ...] = ()
    exclude_area: tuple[int, ...] = ()
    employer: tuple[str, ...] = ()
    experience: tuple[str, ...] = ()
    role: tuple[int, ...] = ()
    employment_form: tuple[str, ...] = ()
    work_format: tuple[str, ...] = ()
    q: str = ""
    published_from: date | None = None
    published_to: date | None = None
    only_with_salary: bool = False
    status: str = "open"
    accredited_it: bool = False
    trusted: bool = False
    basis: str = "net"
    view: str = "mid"

    def to_query(self, prefix: str = "") -> list[tuple[str, str]]:
        """The selection as query pairs, normalised, defaults left out."""
        pairs: list[tuple[str, str]] = []
        defaults = Filters()
        for name in PARAMETER_ORDER:
            value = getattr(self, name)
            if value == getattr(defaults, name):
                continue
            if isinstance(value, tuple):
                pairs.extend((prefix + name, str(item)) for item in value)
            elif isinstance(value, bool):
                pairs.append((prefix + name, "true" if value else "false"))
            elif isinstance(value, date):
                pairs.append((prefix + name, value.isoformat()))
            else:
                pairs.append((prefix + name, str(value)))
        return pairs

    def echo(self) -> dict:
        """Every parameter with its normalised value: the API's `filters` object."""
        echoed: dict = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, date):
                value = value.isoformat()
            echoed[item.name] = value
        return echoed


@dataclass(frozen=True)
class FilterError:
    """A malformed parameter value; `message` is English, for API clients."""

    param: str
    value: str
    message: str


def parse_filters(
    params: Mapping, prefix: str = ""
) -> tuple[Filters, list[FilterError]]:
    """Parse query parameters into a selection and the list of malformed values.

    Empty values count as absent, unknown names are ignored, and a bad value
    leaves its parameter at the default. `prefix="vs_"` reads the page's
    comparison selection.
    """
    parser = _Parser(params, prefix)
    values = {
        "area": parser.ids("area"),
        "exclude_area": parser.ids("exclude_area"),
        "employer": parser.employer_ids("employer"),
        "experience": parser.enums("experience"),
        "role": parser.ids("role"),
        "employment_form": parser.enums("employment_form"),
        "work_format": parser.enums("work_format"),
        "q": parser.keywords("q"),
        "published_from": parser.day("published_from"),
        "published_to": parser.day("published_to"),
        "only_with_salary": parser.flag("only_with_salary"),
        "status": parser.choice("status", STATUSES),
        "accredited_it": parser.flag("accredited_it"),
        "trusted": parser.flag("trusted"),
        "basis": parser.choice("basis", BASES),
        "view": parser.choice("view", VIEWS),
    }
    parser.check_publication_window(values)
    present = {name: value for name, value in values.items() if value is not None}
    return Filters(**present), parser.errors


class _Parser:
    """Reads one parameter at a time and collects the errors it meets."""

    def __init__(self, params: Mapping, prefix: str) -> None:
        self.params = params
        self.prefix = prefix
        self.errors: list[FilterError] = []

    def raw_values(self, name: str) -> list[str]:
        key = self.prefix + name
        if hasattr(self.params, "getlist"):
            raw = self.params.getlist(key)
        else:
            raw = self.params.get(key, [])
            if isinstance(raw, str):
                raw = [raw]
        return [value for value in raw if value is not None and value.strip()]

    def fail(self, name: str, value: str, message: str) -> None:
        self.errors.append(FilterError(self.prefix + name, value, message))

    def single_value(self, name: str) -> str | None:
        values = self.raw_values(name)
        if not values:
            return None
        if len(values) > 1:
            self.fail(
                name,
                values[1],
                f"{self.prefix + name} is given {len(values)} times; give it once",
            )
            return None
        return values[0].strip()

    def ids(self, name: str) -> tuple[int, ...] | None:
        accepted = []
        for value in self.raw_values(name):
            if _ID.fullmatch(value.strip()):
                accepted.append(int(value))
            else:
                self.fail(name, value, f"{value!r} is not a numeric hh.ru id")
        return tuple(sorted(set(accepted))) if accepted else None

    def employer_ids(self, name: str) -> tuple[str, ...] | None:
        ids = self.ids(name)
        return tuple(str(value) for value in ids) if ids else None

    def enums(self, name: str) -> tuple[str, ...] | None:
        known = KNOWN_ENUMS[name]
        accepted = set()
        for value in self.raw_values(name):
            value = value.strip()
            if value in known or value == UNKNOWN or _ENUM_VALUE.fullmatch(value):
                accepted.add(value)
            else:
                listed = ", ".join((*known, UNKNOWN))
                self.fail(name, value, f"{value!r} is not one of {listed}")
        if not accepted:
            return None
        rank = {value: index for index, value in enumerate((*known, UNKNOWN))}
        return tuple(sorted(accepted, key=lambda value: (rank.get(value, 99), value)))

    def keywords(self, name: str) -> str | None:
        value = self.single_value(name)
        if value is None:
            return None
        if len(value) > MAX_QUERY_LENGTH:
            self.fail(
                name,
                value,
                f"the keywords are {len(value)} characters long; "
                f"the limit is {MAX_QUERY_LENGTH}",
            )
            return None
        return " ".join(value.split())

    def day(self, name: str) -> date | None:
        value = self.single_value(name)
        if value is None:
            return None
        try:
            if not _DATE.fullmatch(value):
                raise ValueError(value)
            day = date.fromisoformat(value)
        except ValueError:
            self.fail(name, value, f"{value!r} is not a date in the form YYYY-MM-DD")
            return None
        if not EARLIEST_DAY <= day <= LATEST_DAY:
            self.fail(
                name,
                value,
                f"{value!r} is outside {EARLIEST_DAY.isoformat()}"
                f" .. {LATEST_DAY.isoformat()}",
            )
            return None
        return day

    def flag(self, name: str) -> bool | None:
        value = self.single_value(name)
        if value is None:
            return None
        if value.lower() in TRUE_WORDS:
            return True
        if value.lower() in FALSE_WORDS:
            return False
        self.fail(name, value, f"{value!r} is not a boolean; use true or false")
        return None

    def choice(self, name: str, allowed: tuple[str, ...]) -> str | None:
        value = self.single_value(name)
        if value is None:
            return None
        if value.lower() in allowed:
            return value.lower()
        self.fail(name, value, f"{value!r} is not one of {', '.join(allowed)}")
        return None

    def check_publication_window(self, values: dict) -> None:
        start, end = values["published_from"], values["published_to"]
        if start is None or end is None or start <= end:
            return
        values["published_from"] = None
        error = FilterError(
            self.prefix + "published_from",
            start.isoformat(),
            f"published_from {start.isoformat()} is after "
            f"published_to {end.isoformat()}",
        )
        # The window error belongs to published_from: keep the table order.
        position = next(
            (
                index
                for index, item in enumerate(self.errors)
                if _rank(item.param, self.prefix) > _rank("published_from", "")
            ),
            len(self.errors),
        )
        self.errors.insert(position, error)


def _rank(param: str, prefix: str) -> int:
    return PARAMETER_ORDER.index(param.removeprefix(prefix))
