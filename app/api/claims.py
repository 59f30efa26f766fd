"""Routes for claims (to be built)."""

from fastapi import APIRouter

router = APIRouter(tags=["claims"])
