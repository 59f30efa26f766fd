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

OPENAPI_TAGS = [
    {"name": "data", "description": "Aggregated official figures: filter, group, sort, page, CSV."},
    {"name": "reference", "description": "Drugs, areas, releases (data versions), datasets and "
     "the article's port-level seizure events."},
    {"name": "comparisons", "description": "Ratios computed from the data: shares, "
     "seizures vs encounters, ports vs between ports, change between periods."},
    {"name": "claims", "description": "The news article's claims, checked live against the data."},
    {"name": "health", "description": "Liveness and readiness probes."},
]
