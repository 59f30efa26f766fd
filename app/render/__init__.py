"""Presentation: meta blocks, documents and the renderers that write them (JSON, CSV, NDJSON)."""
