"""The article's claims: registry, wording rules and live evaluation through app.compare."""
