"""``python -m dosewatch`` runs the command line."""

from .cli import run

run()
