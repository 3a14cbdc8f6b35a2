"""``python -m convgrad``: the same as the ``convgrad`` command."""

import sys

try:
    from .cli import main
except ModuleNotFoundError as err:  # run from a source tree whose dependencies were never installed
    print(
        f"error: convgrad needs {err.name!r}, which is not installed: run `pip install .` in the convgrad folder",
        file=sys.stderr,
    )
    sys.exit(2)

if __name__ == "__main__":
    main()
