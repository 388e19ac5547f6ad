"""Request and response bodies of the management API (they also make its OpenAPI document): one module
per resource, imported with that resource's routes, so a cold start builds only the models it serves."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

# Request bodies' base, shared with the dashboard's forms.
from leadhub.request_models import RequestSchema as RequestSchema


class Schema(BaseModel):
    # Each model's validator and serializer are built when it is first used, not at import: a cold start
    # serves one route and needs one or two of these models, not all of them.
    model_config = ConfigDict(defer_build=True)
