"""/properties: upload VNN-LIB properties (plain or gzipped) or make robustness ones, read their
sizes, delete them."""

from typing import Any

from fastapi import Request

from app.db.models import Property
from app.dependencies import OwnerDep, SettingsDep, StoreDep
from app.openapi_errors import errors
from app.routers.uploads import upload_router
from app.schemas import PropertyOut, PropertyPage, RobustnessRequest
from app.services.uploads import property_json, robustness_property

router = upload_router("/properties", Property, property_json, "property.vnnlib", "property", "properties",
                       PropertyOut, PropertyPage)


@router.post("/robustness", status_code=201, summary="Make a robustness property", response_model=PropertyOut,
             responses=errors(413, 422))
def make_robustness(body: RobustnessRequest, request: Request, owner: OwnerDep, store: StoreDep,
                    settings: SettingsDep) -> dict[str, Any]:
    """Write the L∞ robustness property of an image (`pixels`, or `mnist_index` of the
    server's MNIST copy), `eps` and `label` as VNN-LIB (docs/vnnlib.md, "Robustness
    properties") and keep it as one of your properties, as if uploaded."""
    return property_json(robustness_property(request.app.state.sessions, store, settings, owner.id, body))
