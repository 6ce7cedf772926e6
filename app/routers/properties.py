"""/properties: upload VNN-LIB properties (plain or gzipped) and read their sizes."""

from app.db.models import Property
from app.routers.uploads import upload_router
from app.services.uploads import property_json, upload_property

router = upload_router("/properties", Property, upload_property, property_json, "property.vnnlib", "property")
