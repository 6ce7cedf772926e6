"""One router per resource; app.main mounts them under /api/v1."""
