"""``python -m convgrad``: the same as the ``convgrad`` command."""

from .cli import main

if __name__ == "__main__":
    main()
