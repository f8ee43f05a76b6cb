"""What the kiosk and the admin share: the database set-up, the programme's
schedule rules and the sync protocol's record shapes. Neither side's internals."""
from importlib.metadata import PackageNotFoundError, version

try:
    # pyproject.toml holds the one version number; the installed metadata carries it.
    __version__ = version("fitwerk")
except PackageNotFoundError:  # a source tree nobody installed
    __version__ = "unknown"
