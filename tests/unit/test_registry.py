"""The registry is the one place a dataset's knowledge lives: no code elsewhere branches on a
dataset's name, and every part the other layers loop over is declared for every dataset."""

from __future__ import annotations

import re
from pathlib import Path

from app.datasets import DATASETS

APP = Path(__file__).resolve().parents[2] / "app"
NAMES = "|".join(DATASETS)
BRANCHES = [
    re.compile(rf"(==|!=|\bin)\s*[(\[{{]?\s*\"({NAMES})\""),      # x == "seizures", in {"seizures"}
    re.compile(rf"\"({NAMES})\"\s*(==|!=)"),                    # "seizures" == x
    re.compile(r"\b(dataset|ds)\.name\s*(==|!=|in)\s"),          # dataset.name == ...
    re.compile(r"\.dataset\s*(==|!=)\s*\""),                     # fmt.dataset == "..."
]


def branches_outside_the_registry() -> list[str]:
    found = []
    for path in sorted(APP.rglob("*.py")):
        if path.is_relative_to(APP / "datasets"):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if any(pattern.search(line) for pattern in BRANCHES):
                found.append(f"{path.relative_to(APP.parent)}:{number}: {line.strip()}")
    return found


def test_no_code_outside_the_registry_branches_on_a_datasets_name() -> None:
    assert branches_outside_the_registry() == []


def test_the_patterns_catch_a_branch() -> None:
    assert all(p.search(line) for p, line in zip(BRANCHES, [
        'if dataset == "seizures":', 'if "overdose_deaths" != name:', 'if ds.name in wanted:',
        'if fmt.dataset == "encounters":'], strict=True))


def test_every_dataset_declares_what_every_layer_reads() -> None:
    for dataset in DATASETS.values():
        assert dataset.measures and dataset.dimensions and dataset.families, dataset.name
        assert dataset.fact_columns[0] == "release_id" and dataset.fact_columns[-1] == "is_current"
        assert set(dataset.fact_key) <= set(dataset.table.c.keys()), dataset.name
        assert set(dataset.fact_columns) <= set(dataset.table.c.keys()), dataset.name
        for dims in dataset.rollups:
            assert dataset.rollup_table is not None
            assert set(dataset.rollup_columns(dims)) <= set(dataset.rollup_table.c.keys())
        for family in dataset.families:
            assert family.dimensions <= {d.name for d in dataset.dimensions}, family.key
        for dim in dataset.dimensions:
            assert dim.shape.outputs, (dataset.name, dim.name)
            assert dataset.dimension(dim.name) is dim
            for synonym in dim.synonyms:
                assert dataset.dimension(synonym) is dim
        for measure in dataset.measures:
            assert measure.column is None or measure.column in dataset.table.c, measure.name
