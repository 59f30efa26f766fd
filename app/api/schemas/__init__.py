"""The typed contract: a pydantic model for every response body, published in /openapi.json.

Handlers keep returning the bytes app/render writes (no validation or serialization per request);
the models only describe them, and tests/test_contract.py checks the two agree.
"""
