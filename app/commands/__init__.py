"""Service commands of the `certbound` CLI; each module defines `register(cli)`."""
