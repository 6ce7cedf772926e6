"""/models: upload ONNX networks (plain or gzipped) and read their summaries."""

from app.db.models import Model
from app.routers.uploads import upload_router
from app.services.uploads import model_json, upload_model

router = upload_router("/models", Model, upload_model, model_json, "model.onnx", "model")
