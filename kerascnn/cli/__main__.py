"""``python -m kerascnn.cli`` runs the ``kerascnn`` command line."""

from kerascnn.cli import main

if __name__ == "__main__":  # pragma: no cover
    main()
