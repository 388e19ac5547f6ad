"""Schemathesis hooks for tests/e2e/test_api_conformance.py (loaded by the CLI through SCHEMATHESIS_HOOKS).

KNOWN_DEFECTS is a temporary exclusion list: failures that another branch is fixing right now. Each entry
names the defect and its branch; remove it once that branch is merged (the run must then stay green
without it)."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import Any

import schemathesis

# What an HTTP header value can carry (RFC 9110 field-vchar, SP and HTAB; obs-text as Latin-1).
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")


def _body_field(case: schemathesis.Case, name: str) -> Any:
    return case.body.get(name) if isinstance(case.body, dict) else None


def _not_a_header_value(value: Any) -> bool:
    return isinstance(value, str) and not _HEADER_VALUE.fullmatch(value)


# (the defect and the branch fixing it, whether a failure is it)
KNOWN_DEFECTS: list[tuple[str, Callable[[Any, schemathesis.Case, schemathesis.Response], bool]]] = [
    (
        "inputs-api: a JSON route answers 500, not 415, to a body sent with a non-JSON Content-Type",
        lambda failure, case, response: failure.code == "ST102" and response.status_code == 500,
    ),
    (
        "inputs-api: PUT /api/integrations/whatsapp answers 500 to an accessToken that cannot be an HTTP "
        "header value (the Graph API call fails to encode it)",
        lambda failure, case, response: (
            case.operation.label == "PUT /api/integrations/whatsapp"
            and response.status_code == 500
            and _not_a_header_value(_body_field(case, "accessToken"))
        ),
    ),
]


@schemathesis.hook
def filter_failure(
    context: schemathesis.HookContext, failure: Any, case: schemathesis.Case, response: schemathesis.Response
) -> bool:
    """Keep every failure but the known defects above (each reported once, so that the run shows it)."""
    for defect, is_defect in KNOWN_DEFECTS:
        if is_defect(failure, case, response):
            if defect not in _reported:
                _reported.add(defect)
                print(
                    f"known defect, not failing the run: {defect} ({case.operation.label})", file=sys.stderr
                )
            return False
    return True


_reported: set[str] = set()
