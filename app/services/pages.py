"""Keyset pagination, newest first, for every list the API serves (jobs, models, properties).

A cursor names the last row of a page by (created_at, id), so rows added meanwhile never
shift a page the way an offset would.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import Session

from app.db.models import is_id
from app.errors import Invalid

Row = TypeVar("Row")
DEFAULT_LIMIT, MAX_LIMIT = 50, 500


def encode_cursor(row: Any) -> str:
    return base64.urlsafe_b64encode(f"{row.created_at.isoformat()}|{row.id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        moment, _, row_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        if not is_id(row_id):
            raise ValueError(row_id)
        return datetime.fromisoformat(moment), row_id
    except ValueError as exc:
        raise Invalid(f"cursor {cursor!r} is not one this server handed out") from exc


def newest_first(session: Session, query: Select, row_type: type[Row], limit: int,
                 cursor: str | None) -> tuple[list[Row], str | None]:
    """One page of `query`'s rows of `row_type`, newest first, after `cursor`; and the
    cursor of the next page (None on the last)."""
    if cursor:
        moment, row_id = decode_cursor(cursor)
        query = query.where(or_(row_type.created_at < moment,
                                and_(row_type.created_at == moment, row_type.id < row_id)))
    rows = list(session.scalars(query.order_by(row_type.created_at.desc(), row_type.id.desc()).limit(limit + 1)))
    next_cursor = encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return rows[:limit], next_cursor
