"""Persistence: ORM models, engines and sessions, and schema migrations."""

from app.db.models import (
    Artifact as Artifact,
    Base as Base,
    Job as Job,
    JobEvent as JobEvent,
    Model as Model,
    Property as Property,
    Token as Token,
    WorkerBeat as WorkerBeat,
    utcnow as utcnow,
)
from app.db.session import get_engine as get_engine, session_factory as session_factory, session_scope as session_scope
