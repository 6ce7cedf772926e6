"""The FastAPI front end and the `certbound` command line. Never imports torch."""
