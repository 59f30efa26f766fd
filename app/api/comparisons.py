"""Routes for comparisons (to be built)."""

from fastapi import APIRouter

router = APIRouter(tags=["comparisons"])
