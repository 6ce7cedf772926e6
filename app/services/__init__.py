"""What the service does, independent of HTTP: uploads, jobs, health, the reaper.

Routers (and, later, the dashboard) call these with a database session and an owner.
"""
