"""Reading a paged list (`{items, next_cursor}`) to its end, as a client would."""

from __future__ import annotations


def every_id(api, path: str, limit: int) -> list[str]:
    """The ids of every item of GET `path`, page by page of `limit`, each page checked to hold no more."""
    seen, cursor = [], None
    while True:
        page = api.get(path, params={"limit": limit, **({"cursor": cursor} if cursor else {})}).json()
        assert len(page["items"]) <= limit
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen
