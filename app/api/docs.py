"""The API description shown at /docs: what the data are and how to read them."""

API_DESCRIPTION = """
borderstats serves official US border statistics as JSON and CSV, with the release each figure
came from. Every figure is computed from the stored official files at request time; nothing is
typed in by hand.

## About the data

**Sources.**
- *Drug seizures*: U.S. Customs and Border Protection (CBP), "Nationwide Drug Seizures"
  (cbp.gov/newsroom/stats/drug-seizure-statistics). Pounds seized and number of seizure events
  by month, area of responsibility, drug, component and region.
- *Encounters*: CBP "Southwest Land Border Encounters" and "Nationwide Encounters" (by state, by
  area of responsibility), and the DHS Office of Homeland Security Statistics (OHSS) monthly
  Border Patrol series by sector (ohss.dhs.gov/khsm/cbp-encounters).
- *Overdose deaths*: CDC National Center for Health Statistics (NCHS): national deaths by drug
  category and sex (as published by NIDA from CDC WONDER) and the "Drug Overdose Mortality by
  State" table; NCHS Data Briefs 492 and 522 for the 2022 and 2023 national totals.

**Fiscal year.** CBP and DHS count by federal fiscal year: FY2021 runs from 1 October 2020 to
30 September 2021. Every monthly endpoint accepts `fiscal_year` and `calendar_year`, and
`group_by` grains `fiscal_year`, `fiscal_quarter` (Q1 = October-December), `calendar_year`,
`quarter` and `month`. The running fiscal year is partial (e.g. FY2026 holds October-December
2025); rows carry `period_complete` and responses list caveats.

**Ports of entry vs Border Patrol.** CBP has two uniformed components. The *Office of Field
Operations* (OFO, `component=ofo`) staffs the ports of entry, organised in *field offices* (San
Diego, Tucson, El Paso, Laredo on the southwest border). *U.S. Border Patrol* (USBP,
`component=usbp`) works between the ports, organised in *sectors* (San Diego, El Centro, Yuma,
Tucson, El Paso, Big Bend, Del Rio, Laredo, Rio Grande Valley). "El Paso" is both a field office
and a sector; the API asks which one you mean.

**States.** Seizures are reported by area of responsibility, not by state. A seizure's state is
its area's: the El Paso field office and sector cover west Texas and New Mexico together, Yuma
covers Arizona and part of California. Encounters by state come from CBP's by-state release.

**Rounding and revisions.** The OHSS sector series rounds each month to the nearest 10. CBP
re-publishes overlapping windows and revises earlier months: for every month the release covering
the latest period is used, older values are kept as revisions (see `/releases`). Overdose deaths
for 2021 and earlier are NCHS final counts; encounters of the running fiscal year are
provisional.

**Encounters are events, not people**: one person encountered twice counts twice.

## Conventions
- Filters take comma lists, case-insensitive slugs, official names or aliases (`meth`, `rgv`).
- `group_by` takes dimensions and one time grain; without it the answer is one total row.
- Responses are `{"data": [...], "meta": {...}}`; `meta` holds the filters as understood, units,
  the releases behind the figures, coverage, caveats, total row count and the next-page link.
- Errors are `{"error": {"code", "message", "parameter", "value", "accepted", "did_you_mean"}}`
  with HTTP 422 for bad input and 503 while the database is unreachable.
- Every GET has an ETag that changes when data are loaded; send `If-None-Match` for a 304.
"""

COMPARISONS_TAG = """Ratios computed from the data: a part as a share of a base (seizures,
encounters), groups of states' share of seizures beside their share of encounters, ports of entry
vs Border Patrol, and change between two periods. Every figure is the same query as the data
endpoint it names (`request`), with its filters and releases.

- A share is **sum(part) / sum(base)**, never a mean of ratios. The part is counted within the
  base: numerator = common filters + `base_*` (or `base`) + `part_*`; denominator = common + base.
- Part and base come from **one release family** (encounters have several): the one that carries
  the dimensions of both, named in `meta.sources`; a combination no family answers is a 422.
- A zero base gives a **null share** with `share_note`; a period without data gives null figures.
- Rows are the whole part (`member=total`) then each member of the part (each area of
  `part_area=a,b`; for seizures, a state stands for its areas). `format=csv` gives the same rows.
"""

CLAIMS_TAG = """The article's claims (New York Post, June 2022), checked live against the data, and
claims you submit in the same form (`POST /claims/verify`).

Wording rules: **"more than X"** (`>`) strictly greater; **"less than X"** (`<`) strictly less;
`>=` / `<=` inclusive; **"nearly X"**: at most X and within the relative `tolerance` below it
(default 5 %); **"about / roughly X"**: |value - X| <= tolerance * X (default 10 %).
**approximately**: the wording fails but the value rounded half up to the claim's `precision`
equals X (89.96 % for "more than 90 %" at precision 1 % -> 90 %; 89.4 % -> not supported).
Verdicts: supported, approximately, not supported, depends on definition, no data. Overall: the
primary definition's verdict when every alternative with data agrees, else "depends on
definition"; "no data" when the primary has no data for its whole period, never a guess.
"""

OPENAPI_TAGS = [
    {"name": "data", "description": "Aggregated official figures: filter, group, sort, page, CSV."},
    {"name": "reference", "description": "Drugs, areas, releases (data versions), datasets and "
     "the article's port-level seizure events."},
    {"name": "comparisons", "description": COMPARISONS_TAG},
    {"name": "claims", "description": CLAIMS_TAG},
    {"name": "health", "description": "Liveness and readiness probes."},
]
