"""/properties: upload VNN-LIB properties (plain or gzipped), read their sizes, delete them."""

from app.db.models import Property
from app.routers.uploads import upload_router
from app.schemas import PropertyOut, PropertyPage
from app.services.uploads import property_json

router = upload_router("/properties", Property, property_json, "property.vnnlib", "property", "properties",
                       PropertyOut, PropertyPage)
