"""``python -m playpipe`` runs the ``playpipe`` command."""

from playpipe.cli import main

main()
