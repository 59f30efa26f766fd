"""How the values users type become the canonical values the data hold, per kind of dimension.

A `Values` resolver turns the tokens of one filter (`drug=meth,fent`) into canonical values (ids,
codes, labels) and the form shown back to users (slugs, codes), or raises an InvalidParameter that
names the parameter, the accepted values and the closest one. Accepted values come from the catalog
(the loaded data and reference lists), passed in as `catalog`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.errors import InvalidParameter
from app.vocabulary import (
    CATEGORY_ALIASES,
    NATIONAL,
    NATIONAL_CODE,
    alias_table,
    category_slug,
    is_catch_all,
    slugify,
)


@dataclass(frozen=True)
class Resolved:
    """Canonical values (for SQL) and the same values as users read them."""

    values: tuple[Any, ...]
    shown: tuple[Any, ...]


@dataclass
class Context:
    """What a resolver may read and record: the catalog, the dataset, the notes it adds."""

    catalog: Any
    dataset: str
    dimension: str
    notes: list[str] = field(default_factory=list)


class Values:
    """Resolve a dimension's tokens; the listing `accepted` is what /datasets shows."""

    def resolve(self, param: str, tokens: list[str], ctx: Context) -> Resolved:
        raise NotImplementedError

    def accepted(self, ctx: Context) -> list[str]:
        raise NotImplementedError

    def show(self, value: Any, catalog: Any) -> Any:
        """One canonical value as users read it."""
        return value

    def implied(self, dim: str, values: tuple[Any, ...], catalog: Any) -> set[Any]:
        """What these values say about another dimension (an area: its component, region)."""
        return set()

    def listing(self, ctx: Context) -> list[Any]:
        """The values /datasets lists for the dimension."""
        return self.accepted(ctx)

    def written(self, value: Any, catalog: Any) -> str:
        """A canonical value as a query string writes it (a slug, a code)."""
        return str(self.show(value, catalog))

    def display_name(self, value: Any, catalog: Any) -> str:
        """A canonical value's name for people (an area's official name, a state's name)."""
        return str(self.show(value, catalog))


def _unique(pairs: list[tuple[Any, Any]]) -> Resolved:
    seen: dict[Any, Any] = {}
    for value, shown in pairs:
        seen.setdefault(value, shown)
    return Resolved(tuple(seen), tuple(seen.values()))


@dataclass(frozen=True)
class Fixed(Values):
    """A fixed vocabulary with aliases (component, region, land filter)."""

    table: dict[str, tuple[str, ...]]
    noun: str

    def resolve(self, param: str, tokens: list[str], ctx: Context) -> Resolved:
        lookup = alias_table(self.table)
        pairs = []
        for token in tokens:
            value = lookup.get(slugify(token))
            if value is None:
                raise InvalidParameter(param, token, f"unknown {self.noun} {token!r}",
                                       self.accepted(ctx), suggest_from=list(lookup))
            pairs.append((value, value))
        return _unique(pairs)

    def accepted(self, ctx: Context) -> list[str]:
        return [spellings[0] for spellings in self.table.values()]

    def listing(self, ctx: Context) -> list[Any]:
        return ctx.catalog.values.get((ctx.dataset, ctx.dimension)) or list(self.table)

    def written(self, value: Any, catalog: Any) -> str:
        return self.table[value][0]


@dataclass(frozen=True)
class Labels(Values):
    """Labels as the data write them (citizenship, demographic, ...), matched by slug or alias.

    Each release family's catch-all ("OTHER (family)") is a value of its own; the bare word asks
    which one is meant. With `shown_as_slug`, responses write the slug instead of the label.
    """

    noun: str
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    slug: Any = slugify  # label -> the slug users type and read
    rewrite: dict[str, str] = field(default_factory=dict)  # a typed slug -> the slug it means
    shown_as_slug: bool = False

    def resolve(self, param: str, tokens: list[str], ctx: Context) -> Resolved:
        labels = self._labels(ctx)
        lookup = {self.slug(label): label for label in labels}
        for label in labels:
            lookup.setdefault(slugify(label), label)
            lookup.setdefault(slugify(label).rstrip("s"), label)  # apprehension(s)
        for label, spellings in self.aliases.items():
            if label in labels:
                for spelling in spellings:
                    lookup.setdefault(spelling, label)
        pairs = []
        for token in tokens:
            key = slugify(token)
            label = lookup.get(self.rewrite.get(key, key))
            if label is None:
                buckets = sorted(v for v in labels if is_catch_all(v) and slugify(v).startswith(key + "-"))
                if len(buckets) == 1:
                    label = buckets[0]
                elif buckets:
                    options = [slugify(b) for b in buckets]
                    raise InvalidParameter(
                        param, token, f"{token!r} is ambiguous: each release family has its own "
                        f"catch-all bucket ({', '.join(options)}; see /datasets for what each "
                        "holds)", options)
            if label is None:
                raise InvalidParameter(param, token, f"unknown {self.noun} {token!r}",
                                       self.accepted(ctx) or None)
            pairs.append((label, self.show(label, None)))
        return _unique(pairs)

    def accepted(self, ctx: Context) -> list[str]:
        return sorted({self.slug(label) for label in self._labels(ctx)})

    def _labels(self, ctx: Context) -> list[str]:
        return ctx.catalog.values.get((ctx.dataset, ctx.dimension), [])

    def listing(self, ctx: Context) -> list[Any]:
        return self.accepted(ctx) if self.shown_as_slug else self._labels(ctx)

    def written(self, value: Any, catalog: Any) -> str:
        return self.slug(value)

    def show(self, value: Any, catalog: Any) -> Any:
        return self.slug(value) if self.shown_as_slug else value


CATEGORIES = Labels("overdose-death category", slug=category_slug, rewrite=CATEGORY_ALIASES,
                    shown_as_slug=True)


@dataclass(frozen=True)
class Drugs(Values):
    """Drug types by slug, CBP's name or an alias (meth, fent, mdma)."""

    def resolve(self, param: str, tokens: list[str], ctx: Context) -> Resolved:
        catalog = ctx.catalog
        pairs = []
        for token in tokens:
            drug_id = catalog.drug_spellings.get(slugify(token))
            if drug_id is None:
                raise InvalidParameter(param, token, f"unknown drug {token!r}", self.accepted(ctx),
                                       suggest_from=list(catalog.drug_spellings))
            pairs.append((drug_id, catalog.drug_by_id[drug_id].slug))
        return _unique(pairs)

    def accepted(self, ctx: Context) -> list[str]:
        return [d.slug for d in ctx.catalog.drugs]

    def show(self, value: Any, catalog: Any) -> Any:
        return catalog.drug_by_id[value].slug

    def display_name(self, value: Any, catalog: Any) -> str:
        return catalog.drug_by_id[value].name


@dataclass(frozen=True)
class States(Values):
    """Two-letter codes or state names; with `national`, US for the nation (canonical None)."""

    national: bool = False

    def resolve(self, param: str, tokens: list[str], ctx: Context) -> Resolved:
        states = ctx.catalog.states
        by_name = {slugify(name): code for code, name in states.items()}
        pairs = []
        for token in tokens:
            key = slugify(token)
            if self.national and key in NATIONAL:
                pairs.append((None, NATIONAL_CODE))
                continue
            code = token.strip().upper() if token.strip().upper() in states else by_name.get(key)
            if code is None:
                raise InvalidParameter(param, token, f"unknown state {token!r}", self.accepted(ctx))
            pairs.append((code, code))
        return _unique(pairs)

    def accepted(self, ctx: Context) -> list[str]:
        codes = sorted(ctx.catalog.states)
        return [NATIONAL_CODE, *codes] if self.national else codes

    def show(self, value: Any, catalog: Any) -> Any:
        return NATIONAL_CODE if value is None else value

    def display_name(self, value: Any, catalog: Any) -> str:
        return "United States" if value is None else catalog.states.get(value, value)


@dataclass(frozen=True)
class Areas(Values):
    """Areas of responsibility by slug, name or alias; a bare place name through the parameter
    (`port`: its field office, `sector`: its sector). A port of entry's own name is refused with
    its field office: CBP publishes no figure per port."""

    suffixes: dict[str, tuple[str, ...]] = field(default_factory=lambda: {
        "sector": ("-sector",), "port": ("-field-office",)})
    default_suffixes: tuple[str, ...] = ("-field-office", "-sector")

    def resolve(self, param: str, tokens: list[str], ctx: Context) -> Resolved:
        catalog = ctx.catalog
        index = catalog.area_spellings
        pairs = []
        for token in tokens:
            key = slugify(token)
            found = index.get(key)
            port = catalog.port_named(key)
            if found is None:
                suffixes = self.suffixes.get(param, self.default_suffixes)
                matches = [index[key + s] for s in suffixes if key + s in index]
                if len(matches) > 1:
                    options = [catalog.area_by_id[m].slug for m in matches]
                    raise InvalidParameter(
                        param, token, f"{token!r} is ambiguous: it names {' and '.join(options)}",
                        options)
                found = matches[0] if matches else None
            if found is None and port is not None:
                raise _port_is_not_an_area(param, token, port, catalog)
            if found is None:
                pool = self._pool(param, catalog)
                raise InvalidParameter(param, token, f"unknown area of responsibility {token!r}",
                                       pool, suggest_from=pool)
            area = catalog.area_by_id[found]
            if param == "sector" and area.kind != "sector":
                raise InvalidParameter(param, token, f"{area.name} is not a Border Patrol sector",
                                       self._pool(param, catalog))
            if port is not None and index.get(key) is None:
                office = catalog.area_by_id.get(port.field_office_id)
                within = f"in the {office.name}" if office else "in no field office the data name"
                ctx.notes.append(f"{port.name} is also a port of entry ({within}); {param}={token} "
                                 f"is read as {area.name}: CBP publishes no figure per port.")
            pairs.append((found, area.slug))
        return _unique(pairs)

    def accepted(self, ctx: Context) -> list[str]:
        return [a.slug for a in ctx.catalog.areas]

    def show(self, value: Any, catalog: Any) -> Any:
        return catalog.area_by_id[value].slug

    def display_name(self, value: Any, catalog: Any) -> str:
        return catalog.area_by_id[value].name

    def implied(self, dim: str, values: tuple[Any, ...], catalog: Any) -> set[Any]:
        if dim not in ("component", "region"):
            return set()
        return {getattr(catalog.area_by_id[v], dim) for v in values}

    @staticmethod
    def _pool(param: str, catalog: Any) -> list[str]:
        return [a.slug for a in catalog.areas if param != "sector" or a.kind == "sector"]


def _port_is_not_an_area(param: str, token: str, port: Any, catalog: Any) -> InvalidParameter:
    office = catalog.area_by_id.get(port.field_office_id)
    pool = Areas._pool(param, catalog)
    where = f"in the {office.name}" if office else "in no field office the data name"
    error = InvalidParameter(
        param, token, f"{port.name} is a port of entry {where}: CBP publishes these figures per "
        "field office (ports of entry) and Border Patrol sector, not per port"
        + (f"; ask for {param}={office.slug} for the whole field office"
           if office and param != "sector" else ""),
        pool)
    error.details.pop("did_you_mean", None)
    if office and param != "sector":
        error.details["did_you_mean"] = office.slug
    error.details["port_of_entry"] = {"name": port.name, "slug": port.slug,
                                      "field_office": office.slug if office else None}
    return error
