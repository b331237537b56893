"""``python -m vigilnet``: the same as the ``vigilnet`` command."""

from vigilnet.cli import main

if __name__ == "__main__":
    main()
