"""Schemathesis hooks for Sluice's API run (scripts/api-contract).

Every request gets a fresh Idempotency-Key just before it is sent, as the API
asks of its clients: a key sent again with a different request is (rightly)
refused with 422, and the generator otherwise reuses the same few keys (all
zeros, one letter) across operations and examples.
"""
import uuid

import schemathesis


@schemathesis.hook
def before_call(ctx, case, kwargs):
    if case.method.upper() != "GET":
        case.headers = dict(case.headers or {})
        case.headers["Idempotency-Key"] = str(uuid.uuid4())
