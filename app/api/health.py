"""Routes for health (to be built)."""

from fastapi import APIRouter

router = APIRouter(tags=["health"])
