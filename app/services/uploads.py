"""Model and property uploads: stream to the artifact store, validate, deduplicate."""

from __future__ import annotations

import gzip
import io
from contextlib import contextmanager
from pathlib import PurePath
from typing import Any, BinaryIO, Callable, Iterator, TypeVar

from sqlalchemy import exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Artifact, Model, Property, Token, is_id, isoformat
from app.errors import Invalid, NotFound, TooLargeUpload
from app.services.pages import DEFAULT_LIMIT, newest_first
from app.settings import Settings
from app.storage import ArtifactStore, Ingest, TooLarge
from core.gunzip import is_gzip
from core.spec.limits import DEFAULT_LIMITS, PropertyLimits

Row = TypeVar("Row", Model, Property)


@contextmanager
def _refusals(filename: str, limit: int) -> Iterator[None]:
    """The store's refusals as answers naming the file: too large 413, bad or nested gzip 422."""
    try:
        yield
    except TooLarge as exc:
        raise TooLargeUpload(f"{filename}: {exc}", limit_bytes=limit) from exc
    except gzip.BadGzipFile as exc:
        raise Invalid(f"{filename}: {exc}") from exc


def _store(store: ArtifactStore, source: BinaryIO, limit: int, filename: str) -> tuple[str, int]:
    with _refusals(filename, limit):
        return store.put_stream(source, limit)


class UploadSink:
    """An `Ingest` fed from a request body (`multipart_stream.receive_file`) whose refusals
    name the file the client sent."""

    def __init__(self, ingest: Ingest, default_name: str):
        self.ingest, self.filename = ingest, default_name

    def named(self, filename: str) -> None:
        self.filename = clean_filename(filename, self.filename)

    def write(self, data: bytes) -> None:
        with _refusals(self.filename, self.ingest.limit):
            self.ingest.write(data)

    def finish(self) -> tuple[str, int]:
        with _refusals(self.filename, self.ingest.limit):
            return self.ingest.finish()


def clean_filename(filename: str, default: str) -> str:
    """The name without any client path, at most 200 characters ('.' and '..' are paths)."""
    name = PurePath(filename.replace("\\", "/")).name[:200]
    return default if name in ("", ".", "..") else name


def _existing(session: Session, row_type: type[Row], owner_id: int, sha256: str) -> Row | None:
    query = select(row_type).where(row_type.owner_id == owner_id, row_type.sha256 == sha256)
    return session.scalars(query).first()


def discard_unreferenced(session: Session, store: ArtifactStore, sha256: str) -> None:
    """Remove the stored file `sha256` when no model, property or job artifact (of any
    owner: the store is content-addressed) names it."""
    referenced = session.scalar(select(or_(exists().where(Model.sha256 == sha256),
                                           exists().where(Property.sha256 == sha256),
                                           exists().where(Artifact.sha256 == sha256))))
    if not referenced:
        store.path(sha256).unlink(missing_ok=True)


def _insert(session: Session, row: Row) -> Row:
    """Insert, or return the row a concurrent identical upload inserted first."""
    try:
        with session.begin_nested():
            session.add(row)
        return row
    except IntegrityError:
        found = _existing(session, type(row), row.owner_id, row.sha256)
        if found is None:
            raise
        return found


def model_fields(data: bytes, filename: str) -> dict[str, Any]:
    """The torch-free summary of ONNX bytes, or Invalid naming every problem (among them
    tensors kept in external files and NaN or infinite weights)."""
    from core.model import OnnxError
    from core.model.summary import summarize_onnx

    _refuse_nested_gzip(data, filename)
    try:
        summary = summarize_onnx(data)
    except OnnxError as exc:
        raise Invalid(f"{filename}: not a model certbound can read: {exc}", problems=list(exc.problems)) from exc
    names = ("inputs", "outputs", "operators", "n_params", "opset", "unsupported")
    return {"summary": {name: getattr(summary, name) for name in names}}


def property_fields(data: bytes, filename: str, limits: PropertyLimits = DEFAULT_LIMITS) -> dict[str, Any]:
    """The sizes of a VNN-LIB property, or Invalid with the line and column at fault
    (malformed, or larger than `limits`)."""
    from core.spec import VnnlibError, parse_vnnlib

    _refuse_nested_gzip(data, filename)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Invalid(f"{filename}: not UTF-8 text (byte {exc.start})") from exc
    try:
        prop = parse_vnnlib(text, limits)
    except VnnlibError as exc:
        raise Invalid(f"{filename}: {exc}", line=exc.line, column=exc.column) from exc
    return {"n_inputs": prop.n_inputs, "n_outputs": prop.n_outputs, "n_disjuncts": prop.n_disjuncts}


def _refuse_nested_gzip(data: bytes, filename: str) -> None:
    """Stored bytes are already decompressed once; gzip again (an object stored before the
    store refused nesting) would be inflated without the upload limit."""
    if is_gzip(data):
        raise Invalid(f"{filename}: nested gzip: the decompressed upload is gzip again; compress the file once")


def property_limits(settings: Settings) -> PropertyLimits:
    return PropertyLimits(settings.max_property_asserts, settings.max_property_disjuncts,
                          settings.max_property_comparisons, settings.max_property_variables,
                          settings.max_property_values)


def fields_for(row_type: type[Row], settings: Settings) -> Callable[[bytes, str], dict[str, Any]]:
    """How uploads of `row_type` are validated under `settings`."""
    if row_type is Model:
        return model_fields
    limits = property_limits(settings)
    return lambda data, filename: property_fields(data, filename, limits)


def accept_upload(sessions: sessionmaker[Session], store: ArtifactStore, owner_id: int, filename: str, sha: str,
                  size: int, row_type: type[Row], fields: Callable[[bytes, str], dict[str, Any]]) -> Row:
    """Validate stored bytes and record them for the owner. Each database step has its
    own short session, none is open while the bytes are parsed (seconds for a large model)."""
    with sessions() as session:
        found = _existing(session, row_type, owner_id, sha)
    if found is not None:
        return found
    try:
        values = fields(store.read(sha), filename)
    except Invalid:
        with sessions() as session:
            discard_unreferenced(session, store, sha)
        raise
    with sessions() as session:
        row = _insert(session, row_type(owner_id=owner_id, sha256=sha, filename=filename, size_bytes=size, **values))
        session.commit()
        return row


def _upload(session: Session, store: ArtifactStore, owner: Token, filename: str, source: BinaryIO, limit: int,
            row_type: type[Row], fields: Callable[[bytes, str], dict[str, Any]]) -> Row:
    filename = clean_filename(filename, row_type.__name__.lower())
    sha, size = _store(store, source, limit, filename)
    found = _existing(session, row_type, owner.id, sha)
    if found is not None:
        return found
    try:
        values = fields(store.read(sha), filename)
    except Invalid:
        discard_unreferenced(session, store, sha)
        raise
    return _insert(session, row_type(owner_id=owner.id, sha256=sha, filename=filename, size_bytes=size, **values))


def upload_model(session: Session, store: ArtifactStore, owner: Token, filename: str, source: BinaryIO, limit: int) -> Model:
    """Store and validate an ONNX upload (plain or gzipped); the same bytes give the same row."""
    return _upload(session, store, owner, filename, source, limit, Model, model_fields)


def register_model(session: Session, store: ArtifactStore, owner_id: int, filename: str, data: bytes) -> Model:
    """Store ONNX bytes a job produced (a trained network) as one of the owner's models."""
    owner = session.get(Token, owner_id)
    return _upload(session, store, owner, filename, io.BytesIO(data), len(data), Model, model_fields)


def upload_property(session: Session, store: ArtifactStore, owner: Token, filename: str, source: BinaryIO, limit: int,
                    limits: PropertyLimits = DEFAULT_LIMITS) -> Property:
    """Store and parse a VNN-LIB upload (plain or gzipped); errors carry line and column."""
    return _upload(session, store, owner, filename, source, limit, Property,
                   lambda data, name: property_fields(data, name, limits))


def get_owned(session: Session, row_type: type[Row], owner: Token, object_id: str) -> Row:
    """The owner's model or property with this id; NotFound for absent and foreign ones alike."""
    row = session.get(row_type, object_id) if is_id(object_id) else None
    if row is None or row.owner_id != owner.id:
        raise NotFound(row_type.__name__.lower(), object_id)
    return row


def list_owned(session: Session, row_type: type[Row], owner: Token, limit: int = DEFAULT_LIMIT,
               cursor: str | None = None) -> tuple[list[Row], str | None]:
    """A page of the owner's models or properties, newest first, and the next page's cursor."""
    return newest_first(session, select(row_type).where(row_type.owner_id == owner.id), row_type, limit, cursor)


def model_json(model: Model) -> dict[str, Any]:
    summary = model.summary
    return {"id": model.id, "sha256": model.sha256, "filename": model.filename, "size_bytes": model.size_bytes,
            "inputs": summary["inputs"], "outputs": summary["outputs"], "operators": summary["operators"],
            "n_params": summary["n_params"], "opset": summary.get("opset"),
            "unsupported": summary.get("unsupported", []), "created_at": isoformat(model.created_at)}


def property_json(prop: Property) -> dict[str, Any]:
    return {"id": prop.id, "sha256": prop.sha256, "filename": prop.filename, "size_bytes": prop.size_bytes,
            "n_inputs": prop.n_inputs, "n_outputs": prop.n_outputs, "n_disjuncts": prop.n_disjuncts,
            "created_at": isoformat(prop.created_at)}


def robustness_property(sessions: sessionmaker[Session], store: ArtifactStore, settings: Settings, owner_id: int,
                        request: Any) -> Property:
    """Write the L∞ robustness property `request` (app.schemas.RobustnessRequest) asks for
    and store it as one of the owner's properties, like an upload of that file."""
    from core.spec.robustness import RobustnessError, mnist_test_image, robustness_vnnlib

    try:
        if request.mnist_index is not None:
            pixels, label = mnist_test_image(request.mnist_index)
        else:
            pixels, label = request.pixels, None
        label = request.label if request.label is not None else label
        text = robustness_vnnlib(pixels, request.eps, label, request.n_classes,
                                 (request.valid_min, request.valid_max))
    except RobustnessError as exc:
        raise Invalid(str(exc)) from exc
    filename = clean_filename(request.filename or "", f"robustness-{label}-{request.eps!r}.vnnlib")
    data = text.encode()
    if len(data) > settings.max_upload_bytes:
        raise TooLargeUpload(f"{filename}: the property is {len(data)} bytes, over the upload limit",
                             limit_bytes=settings.max_upload_bytes)
    return accept_upload(sessions, store, owner_id, filename, store.put_bytes(data), len(data), Property,
                         fields_for(Property, settings))
