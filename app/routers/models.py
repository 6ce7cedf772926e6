"""/models: upload ONNX networks (plain or gzipped), read their summaries, delete them."""

from app.db.models import Model
from app.routers.uploads import upload_router
from app.schemas import ModelOut, ModelPage
from app.services.uploads import model_json

router = upload_router("/models", Model, model_json, "model.onnx", "model", "models", ModelOut, ModelPage)
