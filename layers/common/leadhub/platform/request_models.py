"""The base of request bodies that the management API and the dashboard's forms both validate (pydantic):
each capability declares its bodies in its own `request_models`, one model per change, so both refuse the
same input with the same words. (The API's other bodies are in its schemas/.)"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class RequestSchema(BaseModel):
    # Validators are built on first use, not at import (a cold start needs one or two models); unknown
    # fields are refused; strings are stripped.
    model_config = ConfigDict(defer_build=True, extra="forbid", str_strip_whitespace=True)
