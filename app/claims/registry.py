"""The claim registry shipped in seed/claims.json, read once."""

from __future__ import annotations

from functools import lru_cache

from app.claims.spec import ClaimRegistry, ClaimSpec
from app.errors import NotFound
from app.paths import project_dir


@lru_cache
def registry() -> ClaimRegistry:
    """Read and validate seed/claims.json."""
    path = project_dir("seed") / "claims.json"
    return ClaimRegistry.model_validate_json(path.read_text(encoding="utf-8"))


def claim_ids() -> list[str]:
    return [c.id for c in registry().claims]


def find_claim(claim_id: str) -> ClaimSpec:
    """The registered claim with this id, or a 404 listing the valid ids."""
    for claim in registry().claims:
        if claim.id == claim_id:
            return claim
    raise NotFound(f"unknown claim {claim_id!r}", parameter="claim_id", value=claim_id,
                   accepted=claim_ids())


@lru_cache
def _registered_ids() -> frozenset[int]:
    claims = registry().claims
    return frozenset([id(c) for c in claims] + [id(d) for c in claims for d in c.definitions])


def is_registered(spec: object) -> bool:
    """Whether `spec` is one of the registry's claims or definitions (the objects themselves,
    which live as long as the process: an id is never reused while they do). What is worked out
    of a registered claim may be kept; a posted claim's is made for its request and dropped."""
    return id(spec) in _registered_ids()
