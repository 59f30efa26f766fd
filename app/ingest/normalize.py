"""Turn the official files' spellings into the project's canonical values.

Every function raises ValueError with a message fit for a user; the reader adds file, line and
column.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Iterable
from difflib import SequenceMatcher

from app.vocabulary import slugify, spelling_index  # noqa: F401 (the ingest's names for them)

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
MONTH_NUMBER = {abbr: i + 1 for i, abbr in enumerate(MONTHS)}
MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)
_FULL_MONTH = {name.upper(): i + 1 for i, name in enumerate(MONTH_NAMES)}

COMPONENTS = {
    "OFFICE OF FIELD OPERATIONS": "OFO",
    "OFO": "OFO",
    "U.S. BORDER PATROL": "USBP",
    "US BORDER PATROL": "USBP",
    "USBP": "USBP",
}

REGIONS = {
    "SOUTHWEST BORDER": "Southwest Border",
    "SOUTHWEST LAND BORDER": "Southwest Border",
    "NORTHERN BORDER": "Northern Border",
    "NORTHERN LAND BORDER": "Northern Border",
    "COASTAL/INTERIOR": "Coastal/Interior",
    "COASTAL BORDER": "Coastal/Interior",
    "OTHER": "Coastal/Interior",
}

LAND_FILTERS = {"LAND ONLY": "Land Only", "OTHER": "Other"}

DEMOGRAPHICS = {
    "ACCOMPANIED MINORS": "Accompanied Minors",
    "FMUA": "Family Unit Members (FMUA)",
    "SINGLE ADULTS": "Single Adults",
    "UC / SINGLE MINORS": "Unaccompanied Children (UC / UAC)",
    "UAC": "Unaccompanied Children (UC / UAC)",
    "UC": "Unaccompanied Children (UC / UAC)",
}

TITLES = {"TITLE 8": "Title 8", "TITLE 42": "Title 42"}

ENCOUNTER_TYPES = {
    "APPREHENSIONS": "Apprehensions",
    "EXPULSIONS": "Expulsions",
    "INADMISSIBLES": "Inadmissibles",
}

_SPACES = re.compile(r"\s+")


def squash(text: str) -> str:
    """Trim and collapse inner white space."""
    return _SPACES.sub(" ", text).strip()


def lookup(table: dict[str, str], raw: str, what: str) -> str:
    """Map a spelling to its canonical value, or say which spellings are known."""
    value = table.get(squash(raw).upper())
    if value is None:
        known = ", ".join(sorted({v for v in table.values()}))
        raise ValueError(f"unknown {what} {shown(raw)}; expected one of: {known}")
    return value


# The earliest years a file may hold: CBP's and DHS's published series start after FY2000; CDC's
# national mortality files by cause start in 1968. The latest is set by the date (app/ingest/plausible.py).
EARLIEST_FISCAL_YEAR = 1990
EARLIEST_CALENDAR_YEAR = 1968


def fiscal_year(raw: str) -> int:
    """`2021` or `2026 (FYTD)` -> the fiscal year as an integer."""
    text = squash(str(raw))
    match = re.fullmatch(r"(\d{4})(?:\.0)?(?:\s*\(FYTD\))?", text, flags=re.IGNORECASE)
    if not match:
        raise ValueError(f"fiscal year {shown(raw)} is not a 4-digit year (optionally '(FYTD)')")
    year = int(match.group(1))
    if year < EARLIEST_FISCAL_YEAR:
        raise ValueError(f"fiscal year {year} is before {EARLIEST_FISCAL_YEAR}, earlier than any "
                         "published series")
    return year


def calendar_year(raw: str) -> int:
    """`2021` -> 2021."""
    text = squash(str(raw))
    if not re.fullmatch(r"\d{4}(\.0)?", text):
        raise ValueError(f"year {shown(raw)} is not a 4-digit year")
    year = int(float(text))
    if year < EARLIEST_CALENDAR_YEAR:
        raise ValueError(f"year {year} is before {EARLIEST_CALENDAR_YEAR}, the first year of CDC's "
                         "national mortality files by cause")
    return year


def fiscal_month_start(fy: int, month: int) -> dt.date:
    """First day of calendar `month` inside fiscal year `fy` (Oct-Dec belong to fy-1)."""
    return dt.date(fy - 1 if month >= 10 else fy, month, 1)


def month_abbreviation(raw: str) -> int:
    """`OCT` or `October` (any case) -> 10."""
    text = squash(raw).upper()
    if text in MONTH_NUMBER:
        return MONTH_NUMBER[text]
    if text in _FULL_MONTH:
        return _FULL_MONTH[text]
    raise ValueError(f"month {shown(raw)} is not a month abbreviation (JAN ... DEC)")


def ohss_month(raw: str) -> int:
    """`01 October` (position in the fiscal year, then the name) -> 10."""
    match = re.fullmatch(r"(\d{1,2})\s+([A-Za-z]+)", squash(str(raw)))
    if not match or match.group(2).upper() not in _FULL_MONTH:
        raise ValueError(f"month {shown(raw)} is not of the form '01 October'")
    month = _FULL_MONTH[match.group(2).upper()]
    position = int(match.group(1))
    if (month - 10) % 12 + 1 != position:
        raise ValueError(f"month {shown(raw)}: position {position} does not match {match.group(2)}")
    return month


def count(raw: str | int | float) -> int:
    """`9584`, `9584.0`, `"1,670"` -> an integer; anything fractional or negative is an error."""
    if isinstance(raw, bool):
        raise ValueError(f"count {shown(raw)} is not a number")
    if isinstance(raw, int):
        value = raw
    else:
        text = _without_thousands_separators(raw, "count")
        if not text:
            raise ValueError("count is empty")
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"count {shown(raw)} is not a number") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError(f"count {shown(raw)} is not a finite number")
        if not number.is_integer():
            raise ValueError(f"count {shown(raw)} is not a whole number")
        value = int(number)
    if value < 0:
        raise ValueError(f"count {shown(raw)} is negative")
    return value


_GROUPED = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")


def _without_thousands_separators(raw: object, what: str) -> str:
    """`1,670` -> `1670`; a comma anywhere else (a decimal comma such as `4,5`) is an error."""
    text = squash(str(raw))
    if "," not in text:
        return text
    if not _GROUPED.fullmatch(text):
        raise ValueError(f"{what} {shown(raw)} has a comma that is not a thousands separator")
    return text.replace(",", "")


def quantity(raw: str | float) -> float:
    """A non-negative decimal quantity (lbs, rates)."""
    text = _without_thousands_separators(raw, "quantity")
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"quantity {shown(raw)} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")) or value < 0:
        raise ValueError(f"quantity {shown(raw)} is not a non-negative finite number")
    return value


def state_code(raw: str, known: Collection[str] | None = None) -> str:
    """A 2-letter postal code; with `known`, one of those (else the closest is named)."""
    code = squash(raw).upper()
    if not re.fullmatch(r"[A-Z]{2}", code):
        raise ValueError(f"state {shown(raw)} is not a 2-letter postal code")
    if known is not None and code not in known:
        raise ValueError(f"unknown state code {shown(raw)}; did you mean {closest(code, known)!r}? "
                         "(run with --allow-new-areas to accept codes seed/states.json lacks)")
    return code


def closest(value: str, known: Iterable[str]) -> str:
    """The known value most like `value` (difflib's ratio; a tie goes to the first in order)."""
    return max(sorted(known), key=lambda k: SequenceMatcher(None, value, k).ratio())


def at_most(value: int | float, limit: int | float, what: str) -> int | float:
    """Refuse a measure above its plausible maximum per row (see MEASURE_LIMITS)."""
    if value > limit:
        raise ValueError(f"{what} {value:,} is above {limit:,}, the most one row can plausibly hold "
                         "(see 'Loading newer files' in README.md)")
    return value


# Plausible maxima per row, about ten times (or more) the largest value in any official file:
# seizure events 1,925, pounds 69,515, encounters 97,661, deaths 106,699 (US 2021), rate 90.9.
MAX_EVENTS = 100_000
MAX_POUNDS = 10_000_000  # more than ten times a whole year's nationwide seizures of every drug
MAX_ENCOUNTERS = 1_000_000  # more than three times the largest monthly Southwest total
MAX_DEATHS = 1_000_000
MAX_RATE = 1_000.0  # per 100,000: one person in a hundred a year


def shown(raw: object, limit: int = 40) -> str:
    """repr() of a file's value for a message, cut to `limit` characters (a field may be huge)."""
    text = str(raw)
    if len(text) <= limit:
        return repr(text) if isinstance(raw, str) else repr(raw)
    return repr(text[:limit]) + f"... ({len(text):,} characters)"


def citizenship(raw: str) -> str:
    """Citizenship as CBP writes it in its largest files: upper case."""
    text = squash(raw).upper()
    if not text:
        raise ValueError("citizenship is empty")
    return fits(text, CITIZENSHIP_LENGTH, "citizenship")


# Longest values the tables hold (app/models.py); a longer value is refused at parse time.
CITIZENSHIP_LENGTH = 64
AREA_NAME_LENGTH = 64  # area.slug holds 64
AREA_ABBREVIATION_LENGTH = 32
DRUG_NAME_LENGTH = 32  # drug.slug holds 32
CATEGORY_LENGTH = 80


def fits(text: str, limit: int, what: str) -> str:
    if len(text) > limit:
        raise ValueError(f"{what} is {len(text):,} characters long; at most {limit} are accepted")
    return text


def title_case_area(raw: str) -> str:
    """`SAN DIEGO FIELD OFFICE` -> `San Diego Field Office`."""
    return " ".join(word.capitalize() for word in squash(raw).split(" "))
