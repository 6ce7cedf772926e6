"""`python -m worker [--gpu N] [--queues gpu,cpu]`: the same as `certbound worker`."""

import sys

from app.cli import cli

cli(["worker", *sys.argv[1:]], prog_name="certbound")
