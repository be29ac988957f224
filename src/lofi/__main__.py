"""``python -m lofi`` runs the command line."""

from lofi.cli import run

run()
