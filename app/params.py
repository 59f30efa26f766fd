"""Turn raw query-string values into a validated QuerySpec, or an InvalidParameter naming the fault.

The same parser serves every data endpoint, CSV export, comparisons and claim definitions, so a
filter means one thing everywhere. Accepted values come from the catalog (the loaded data).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from app import periods
from app.catalog import AreaInfo, Catalog, PortInfo
from app.datasets import DATASETS, Dataset
from app.errors import InvalidParameter
from app.ingest.normalize import DEMOGRAPHICS, slugify

MAX_LIMIT = 10_000
DEFAULT_LIMIT = 100
RANGE_MESSAGES = {
    "limit": f"limit must be a whole number from 1 to {MAX_LIMIT:,}",
    "offset": "offset must be a whole number, 0 or more",
}

PERIOD_PARAMS_MONTHLY = ("fiscal_year", "calendar_year", "month", "from", "to")
PERIOD_PARAMS_YEARLY = ("year", "from", "to")
PAGING_PARAMS = ("group_by", "sort", "limit", "offset")

COMPONENT_ALIASES = {
    "ofo": "OFO", "office-of-field-operations": "OFO", "field-operations": "OFO",
    "ports-of-entry": "OFO", "port-of-entry": "OFO", "ports": "OFO", "poe": "OFO",
    "usbp": "USBP", "u-s-border-patrol": "USBP", "us-border-patrol": "USBP",
    "border-patrol": "USBP", "between-ports": "USBP", "bp": "USBP",
}
REGION_ALIASES = {
    "southwest": "Southwest Border", "southwest-border": "Southwest Border",
    "southwest-land-border": "Southwest Border", "sw": "Southwest Border",
    "swb": "Southwest Border", "northern": "Northern Border", "northern-border": "Northern Border",
    "northern-land-border": "Northern Border", "coastal-interior": "Coastal/Interior",
    "coastal": "Coastal/Interior", "interior": "Coastal/Interior", "other": "Coastal/Interior",
    "coastal-border": "Coastal/Interior",
}
LAND_FILTER_ALIASES = {"land-only": "Land Only", "land": "Land Only", "other": "Other"}
TITLE_ALIASES = {"8": "Title 8", "t8": "Title 8", "42": "Title 42", "t42": "Title 42"}
NATIONAL = {"us", "usa", "united-states", "national", "nationwide"}

# Overdose-death categories get short slugs; others are the slug of the official name.
CATEGORY_SLUGS = {
    "Total": "total",
    "Synthetic Opioids (primarily fentanyl)": "synthetic-opioids",
}
CATEGORY_ALIASES = {
    "all": "total", "all-drugs": "total", "total-overdose-deaths": "total",
    "fentanyl": "synthetic-opioids", "synthetic-opioids-primarily-fentanyl": "synthetic-opioids",
}


def category_slug(label: str) -> str:
    return CATEGORY_SLUGS.get(label, slugify(label))


@dataclass(frozen=True)
class Period:
    """The time a query covers: every given condition applies (they are ANDed)."""

    fiscal_years: tuple[int, ...] = ()
    calendar_years: tuple[int, ...] = ()
    months: tuple[dt.date, ...] = ()
    start: dt.date | None = None
    end: dt.date | None = None

    def is_bounded(self) -> bool:
        return bool(self.fiscal_years or self.calendar_years or self.months or
                    (self.start and self.end))

    def contains(self, month: dt.date) -> bool:
        if self.fiscal_years and periods.fiscal_year_of(month) not in self.fiscal_years:
            return False
        if self.calendar_years and month.year not in self.calendar_years:
            return False
        if self.months and month not in self.months:
            return False
        if self.start and month < self.start:
            return False
        return not (self.end and month > self.end)

    def bounds(self) -> tuple[dt.date | None, dt.date | None]:
        """First and last month the conditions allow (None where they leave it open)."""
        lows = [dt.date(fy - 1, 10, 1) for fy in self.fiscal_years[:1]]
        lows += [dt.date(y, 1, 1) for y in self.calendar_years[:1]] + list(self.months[:1])
        highs = [dt.date(fy, 9, 1) for fy in self.fiscal_years[-1:]]
        highs += [dt.date(y, 12, 1) for y in self.calendar_years[-1:]] + list(self.months[-1:])
        first = max([*lows, self.start] if self.start else lows, default=None)
        last = min([*highs, self.end] if self.end else highs, default=None)
        return first, last

    def describe(self) -> dict[str, object]:
        out: dict[str, object] = {}
        if self.fiscal_years:
            out["fiscal_year"] = list(self.fiscal_years)
        if self.calendar_years:
            out["calendar_year"] = list(self.calendar_years)
        if self.months:
            out["month"] = [f"{m:%Y-%m}" for m in self.months]
        if self.start:
            out["from"] = f"{self.start:%Y-%m}"
        if self.end:
            out["to"] = f"{self.end:%Y-%m}"
        return out


@dataclass(frozen=True)
class QuerySpec:
    """A validated request for aggregated figures from one dataset."""

    dataset: Dataset
    # dimension -> canonical values used in SQL (area/drug ids, state codes, labels)
    filters: dict[str, tuple] = field(default_factory=dict)
    # dimension -> values as understood, for meta (slugs, codes, labels)
    understood: dict[str, list] = field(default_factory=dict)
    period: Period = field(default_factory=Period)
    years: tuple[int, ...] = ()  # overdose deaths: calendar years (or a from/to range)
    year_from: int | None = None
    year_to: int | None = None
    group_by: tuple[str, ...] = ()
    grain: str | None = None
    sort: tuple[tuple[str, bool], ...] = ()  # (field, descending)
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    source: str | None = None
    # which query-string name carried each dimension (area may come as port or sector)
    via: dict[str, str] = field(default_factory=dict)
    # what the parser read a name as, when it could also mean something else (a caveat each)
    notes: tuple[str, ...] = ()

    @property
    def keys(self) -> tuple[str, ...]:
        """Output key columns: grouped dimensions, then the time grain."""
        return self.group_by + ((self.grain,) if self.grain else ())


def allowed_parameters(dataset: Dataset) -> set[str]:
    names = {d.name for d in dataset.dimensions}
    for d in dataset.dimensions:
        names.update(d.synonyms)
    names.update(PERIOD_PARAMS_YEARLY if dataset.time == "year" else PERIOD_PARAMS_MONTHLY)
    names.update(PAGING_PARAMS)
    if dataset.sources and len(dataset.sources) > 1:
        names.add("source")
    return names


def split_list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def parse_query(dataset_name: str, raw: Mapping[str, str], catalog: Catalog) -> QuerySpec:
    """Validate every parameter of a data request against the registry and the catalog."""
    dataset = DATASETS[dataset_name]
    allowed = allowed_parameters(dataset)
    for name in raw:
        if name not in allowed:
            raise InvalidParameter(
                name, raw[name], f"unknown parameter {name!r} for {dataset.path}",
                sorted(allowed), suggest_for=name,
            )
    filters: dict[str, tuple] = {}
    understood: dict[str, list] = {}
    via: dict[str, str] = {}
    notes: list[str] = []
    for dim in dataset.dimensions:
        given = [(n, raw[n]) for n in (dim.name, *dim.synonyms) if n in raw]
        if len(given) > 1:
            names = " and ".join(n for n, _ in given)
            raise InvalidParameter(given[1][0], given[1][1],
                                   f"give {names} once: they are the same filter")
        if not given:
            continue
        param, value = given[0]
        tokens = split_list(value)
        if not tokens:
            raise InvalidParameter(param, value, f"{param} is empty")
        canonical, shown = _resolve(dataset, dim.name, param, tokens, catalog, notes)
        filters[dim.name] = canonical
        understood[dim.name] = shown
        via[dim.name] = param
    spec_kwargs: dict = {}
    if dataset.time == "year":
        spec_kwargs.update(_parse_years(raw))
    else:
        spec_kwargs["period"] = _parse_period(raw)
    group_by, grain = _parse_group_by(dataset, raw.get("group_by"))
    for token in split_list(raw.get("group_by", "")):
        dim = dataset.dimension(token.lower())
        if dim is not None and token.lower() != dim.name:
            via.setdefault(dim.name, token.lower())  # e.g. group_by=sector: areas as sectors
    if dataset.name == "overdose_deaths":
        _check_published_deaths(filters, group_by, raw)
    sort = _parse_sort(dataset, raw.get("sort"), group_by, grain)
    source = raw.get("source")
    if source is not None:
        keys = [s.key for s in dataset.sources]
        if source not in keys:
            raise InvalidParameter("source", source, "unknown source", keys)
    return QuerySpec(
        dataset=dataset, filters=filters, understood=understood, group_by=group_by, grain=grain,
        sort=sort, limit=_parse_int(raw, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT),
        offset=_parse_int(raw, "offset", 0, 0, 10**9), source=source, via=via,
        notes=tuple(dict.fromkeys(notes)), **spec_kwargs,
    )


# --- dimension values ---------------------------------------------------------------------------

def _resolve(dataset: Dataset, dim: str, param: str, tokens: list[str],
             catalog: Catalog, notes: list[str]) -> tuple[tuple, list]:
    if dim == "drug":
        return _resolve_drugs(param, tokens, catalog)
    if dim == "area":
        return _resolve_areas(param, tokens, catalog, notes)
    if dim == "state":
        return _resolve_states(dataset, param, tokens, catalog)
    if dim == "component":
        return _resolve_fixed(param, tokens, COMPONENT_ALIASES, ["ofo", "usbp"])
    if dim == "region":
        return _resolve_fixed(param, tokens, REGION_ALIASES,
                              ["southwest", "northern", "coastal-interior"])
    if dim == "land_filter":
        return _resolve_fixed(param, tokens, LAND_FILTER_ALIASES, ["land-only", "other"])
    if dim == "category":
        return _resolve_categories(param, tokens, catalog)
    labels = catalog.values.get((dataset.name, dim), [])
    extra: dict[str, str] = {}
    if dim == "demographic":
        extra = {slugify(k): v for k, v in DEMOGRAPHICS.items()}
        extra.update({"uc": "Unaccompanied Children (UC / UAC)",
                      "unaccompanied-children": "Unaccompanied Children (UC / UAC)",
                      "family-units": "Family Unit Members (FMUA)",
                      "family-unit-members": "Family Unit Members (FMUA)"})
    elif dim == "title_of_authority":
        extra = dict(TITLE_ALIASES)
    elif dim == "encounter_type":
        extra = {slugify(label).rstrip("s"): label for label in labels}
    table = {slugify(label): label for label in labels}
    table.update(extra)
    values = []
    for token in tokens:
        key = slugify(token)
        label = table.get(key)
        if label is None:
            # A family's catch-all ("other") is a value of its own in each family: name which.
            buckets = sorted(v for v in labels if slugify(v).startswith(key + "-") and "(" in v)
            if len(buckets) == 1:
                label = buckets[0]
            elif buckets:
                options = [slugify(b) for b in buckets]
                raise InvalidParameter(
                    param, token, f"{token!r} is ambiguous: each release family has its own "
                    f"catch-all bucket ({', '.join(options)}; see /datasets for what each holds)",
                    options)
        if label is None:
            raise InvalidParameter(param, token, f"unknown {dim.replace('_', ' ')} {token!r}",
                                   [slugify(v) for v in labels] or None)
        values.append(label)
    values = list(dict.fromkeys(values))
    return tuple(values), values


def _resolve_fixed(param: str, tokens: list[str], table: dict[str, str],
                   accepted: list[str]) -> tuple[tuple, list]:
    values = []
    for token in tokens:
        value = table.get(slugify(token))
        if value is None:
            raise InvalidParameter(param, token, f"unknown {param.replace('_', ' ')} {token!r}",
                                   accepted, suggest_from=list(table))
        values.append(value)
    values = list(dict.fromkeys(values))
    return tuple(values), values


def _resolve_drugs(param: str, tokens: list[str], catalog: Catalog) -> tuple[tuple, list]:
    index = catalog.drug_spellings
    ids = []
    for token in tokens:
        drug_id = index.get(slugify(token))
        if drug_id is None:
            raise InvalidParameter(param, token, f"unknown drug {token!r}",
                                   [d.slug for d in catalog.drugs], suggest_from=list(index))
        ids.append(drug_id)
    ids = list(dict.fromkeys(ids))
    return tuple(ids), [catalog.drug_by_id[i].slug for i in ids]


def _resolve_areas(param: str, tokens: list[str], catalog: Catalog,
                   notes: list[str]) -> tuple[tuple, list]:
    index = catalog.area_spellings
    ids = []
    for token in tokens:
        key = slugify(token)
        suffixes = {"sector": ("-sector",), "port": ("-field-office",)}.get(
            param, ("-field-office", "-sector"))
        found = index.get(key)
        port = catalog.port_named(key)
        if found is None:
            matches = [index[key + s] for s in suffixes if key + s in index]
            if len(matches) > 1:
                options = [catalog.area_by_id[m].slug for m in matches]
                raise InvalidParameter(
                    param, token,
                    f"{token!r} is ambiguous: it names {' and '.join(options)}", options)
            found = matches[0] if matches else None
        if found is None and port is not None:
            raise _port_is_not_an_area(param, token, port, catalog)
        if found is None:
            pool = [a for a in catalog.areas if param != "sector" or a.kind == "sector"]
            raise InvalidParameter(param, token, f"unknown area of responsibility {token!r}",
                                   [a.slug for a in pool], suggest_from=[a.slug for a in pool])
        area: AreaInfo = catalog.area_by_id[found]
        if param == "sector" and area.kind != "sector":
            raise InvalidParameter(param, token, f"{area.name} is not a Border Patrol sector",
                                   [a.slug for a in catalog.areas if a.kind == "sector"])
        if port is not None and index.get(key) is None:
            office = catalog.area_by_id.get(port.field_office_id)
            within = f"in the {office.name}" if office else "in no field office the data name"
            notes.append(f"{port.name} is also a port of entry ({within}); {param}={token} is "
                         f"read as {area.name}: CBP publishes no figure per port.")
        ids.append(found)
    ids = list(dict.fromkeys(ids))
    return tuple(ids), [catalog.area_by_id[i].slug for i in ids]


def _port_is_not_an_area(param: str, token: str, port: PortInfo,
                         catalog: Catalog) -> InvalidParameter:
    """A port of entry's name: CBP counts ports under their field office, never per port."""
    office = catalog.area_by_id.get(port.field_office_id)
    pool = [a for a in catalog.areas if param != "sector" or a.kind == "sector"]
    where = f"in the {office.name}" if office else "in no field office the data name"
    error = InvalidParameter(
        param, token, f"{port.name} is a port of entry {where}: CBP publishes these figures per "
        "field office (ports of entry) and Border Patrol sector, not per port"
        + (f"; ask for {param}={office.slug} for the whole field office"
           if office and param != "sector" else ""),
        [a.slug for a in pool])
    error.details.pop("did_you_mean", None)
    if office and param != "sector":
        error.details["did_you_mean"] = office.slug
    error.details["port_of_entry"] = {"name": port.name, "slug": port.slug,
                                      "field_office": office.slug if office else None}
    return error


def _resolve_states(dataset: Dataset, param: str, tokens: list[str],
                    catalog: Catalog) -> tuple[tuple, list]:
    by_name = {slugify(name): code for code, name in catalog.states.items()}
    codes: list[str | None] = []
    for token in tokens:
        key = slugify(token)
        if dataset.name == "overdose_deaths" and key in NATIONAL:
            codes.append(None)
            continue
        code = token.strip().upper() if token.strip().upper() in catalog.states else by_name.get(key)
        if code is None:
            accepted = sorted(catalog.states)
            if dataset.name == "overdose_deaths":
                accepted = ["US", *accepted]
            raise InvalidParameter(param, token, f"unknown state {token!r}", accepted)
        codes.append(code)
    codes = list(dict.fromkeys(codes))
    return tuple(codes), [c or "US" for c in codes]


def _resolve_categories(param: str, tokens: list[str], catalog: Catalog) -> tuple[tuple, list]:
    labels = catalog.values.get(("overdose_deaths", "category"), [])
    table = {category_slug(label): label for label in labels}
    for label in labels:
        table.setdefault(slugify(label), label)
    values = []
    for token in tokens:
        key = CATEGORY_ALIASES.get(slugify(token), slugify(token))
        label = table.get(key)
        if label is None:
            raise InvalidParameter(param, token, f"unknown overdose-death category {token!r}",
                                   sorted({category_slug(v) for v in labels}))
        values.append(label)
    values = list(dict.fromkeys(values))
    return tuple(values), [category_slug(v) for v in values]


# --- time ---------------------------------------------------------------------------------------

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^\d{4}$")


YEAR_RANGE = (1900, 2100)


def parse_month(param: str, value: str) -> dt.date:
    match = _MONTH.match(value.strip())
    if (not match or not 1 <= int(match.group(2)) <= 12
            or not YEAR_RANGE[0] <= int(match.group(1)) <= YEAR_RANGE[1]):
        raise InvalidParameter(param, value, f"{param} must be a month written YYYY-MM between "
                               f"{YEAR_RANGE[0]}-01 and {YEAR_RANGE[1]}-12, e.g. 2021-10")
    return dt.date(int(match.group(1)), int(match.group(2)), 1)


def _parse_year_list(param: str, value: str) -> tuple[int, ...]:
    years = []
    for token in split_list(value):
        # FY2021, as CBP writes a fiscal year, is the fiscal year 2021.
        digits = token[2:].strip() if param == "fiscal_year" and token[:2].upper() == "FY" else token
        if not _YEAR.match(digits) or not YEAR_RANGE[0] <= int(digits) <= YEAR_RANGE[1]:
            written = " (FY2021 is accepted too)" if param == "fiscal_year" else ""
            raise InvalidParameter(param, token, f"{param} must be a 4-digit year from {YEAR_RANGE[0]} to "
                                   f"{YEAR_RANGE[1]}{written} (or a comma list)")
        years.append(int(digits))
    if not years:
        raise InvalidParameter(param, value, f"{param} is empty")
    return tuple(sorted(set(years)))


def _parse_period(raw: Mapping[str, str]) -> Period:
    start = parse_month("from", raw["from"]) if "from" in raw else None
    end = parse_month("to", raw["to"]) if "to" in raw else None
    if start and end and start > end:
        raise InvalidParameter("from", raw["from"], f"from ({raw['from']}) is after to ({raw['to']})")
    months = ()
    if "month" in raw:
        months = tuple(sorted({parse_month("month", m) for m in split_list(raw["month"])}))
        if not months:
            raise InvalidParameter("month", raw["month"], "month is empty")
    period = Period(
        fiscal_years=_parse_year_list("fiscal_year", raw["fiscal_year"]) if "fiscal_year" in raw else (),
        calendar_years=(_parse_year_list("calendar_year", raw["calendar_year"])
                        if "calendar_year" in raw else ()),
        months=months, start=start, end=end,
    )
    given = [name for name in PERIOD_PARAMS_MONTHLY if name in raw]
    if len(given) > 1 and not any(period.contains(m) for m in periods.span(*period.bounds())):
        raise InvalidParameter(
            given[-1], raw[given[-1]],
            f"{' and '.join(f'{n}={raw[n]}' for n in given)} have no month in common")
    return period


def _parse_years(raw: Mapping[str, str]) -> dict:
    out: dict = {}
    if "year" in raw:
        out["years"] = _parse_year_list("year", raw["year"])
    for name, key in (("from", "year_from"), ("to", "year_to")):
        if name in raw:
            value = raw[name].strip()
            if not _YEAR.match(value) or not YEAR_RANGE[0] <= int(value) <= YEAR_RANGE[1]:
                raise InvalidParameter(name, value, f"{name} must be a 4-digit year from {YEAR_RANGE[0]} "
                                       f"to {YEAR_RANGE[1]} for overdose deaths")
            out[key] = int(value)
    if "year_from" in out and "year_to" in out and out["year_from"] > out["year_to"]:
        raise InvalidParameter("from", raw["from"], f"from ({raw['from']}) is after to ({raw['to']})")
    return out


# --- shape --------------------------------------------------------------------------------------

def _parse_group_by(dataset: Dataset, value: str | None) -> tuple[tuple[str, ...], str | None]:
    if value is None:
        return (), None
    dims: list[str] = []
    grain = None
    tokens = split_list(value)
    if not tokens:
        raise InvalidParameter("group_by", value, "group_by is empty", _group_choices(dataset))
    for token in tokens:
        name = token.lower()
        if name in dataset.grains:
            if grain is not None and grain != name:
                error = InvalidParameter(
                    "group_by", token, f"group_by takes one time grain, and {grain} and {name} "
                    "are both grains: keep one (the other dimensions may stay)",
                    list(dataset.grains))
                error.details.pop("did_you_mean", None)
                raise error
            grain = name
            continue
        dim = dataset.dimension(name)
        if dim is None:
            raise InvalidParameter("group_by", token, f"cannot group {dataset.path} by {token!r}",
                                   _group_choices(dataset))
        if dim.name not in dims:
            dims.append(dim.name)
    return tuple(dims), grain


def _group_choices(dataset: Dataset) -> list[str]:
    names = [d.name for d in dataset.dimensions]
    for d in dataset.dimensions:
        names.extend(d.synonyms)
    return names + list(dataset.grains)


def _check_published_deaths(filters: dict[str, tuple], group_by: tuple[str, ...],
                            raw: Mapping[str, str]) -> None:
    """States publish total deaths for both sexes only; categories and sex are national."""
    # Cells that contain each other must not be added up: the national figure includes every
    # state's, and a death involving two drugs counts in both categories.
    chosen_states = filters.get("state", ())
    if None in chosen_states and len(chosen_states) > 1 and "state" not in group_by:
        raise InvalidParameter(
            "state", raw.get("state"), "the national figure (US) already includes every state: "
            "ask for US or for states, or add group_by=state to see them side by side")
    if len(filters.get("category", ())) > 1 and "category" not in group_by:
        raise InvalidParameter(
            "category", raw.get("category"), "drug categories overlap (a death involving two "
            "drugs counts in both), so they cannot be added up: ask for one, or add "
            "group_by=category")
    states = [s for s in chosen_states if s is not None]
    by_state = bool(states) or ("state" in group_by and "state" not in filters)
    if not by_state:
        return
    for dim, default in (("category", "Total"), ("sex", "all")):
        values = filters.get(dim)
        if (values and any(v != default for v in values)) or (dim in group_by and values is None):
            param = dim if dim in raw else "group_by"
            raise InvalidParameter(
                param, raw.get(param), f"overdose deaths by state are published for the total of "
                f"all drugs and both sexes only; {dim} breakdowns are national (state=US)",
                [default.lower()] if values else None)


def _parse_sort(dataset: Dataset, value: str | None, group_by: tuple[str, ...],
                grain: str | None) -> tuple[tuple[str, bool], ...]:
    keys = list(group_by) + ([grain] if grain else [])
    if value is None:
        ordered = ([grain] if grain else []) + list(group_by)
        return tuple((k, False) for k in ordered)
    allowed = keys + list(dataset.measure_names)
    out = []
    for token in split_list(value):
        descending = token.startswith("-")
        name = token.lstrip("-+").lower()
        dim = dataset.dimension(name)
        if dim is not None:
            name = dim.name
        if name == "period" and grain:
            name = grain
        if name not in allowed:
            raise InvalidParameter("sort", token, f"cannot sort by {token!r}: sort by a group_by key "
                                   "or a measure, '-' for descending", allowed)
        out.append((name, descending))
    if not out:
        raise InvalidParameter("sort", value, "sort is empty", allowed)
    return tuple(out)


def _parse_int(raw: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    if name not in raw:
        return default
    text = raw[name].strip()
    if not re.fullmatch(r"\d+", text) or not low <= int(text) <= high:
        raise InvalidParameter(name, raw[name], RANGE_MESSAGES[name])
    return int(text)
