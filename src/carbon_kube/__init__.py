"""Carbon-Kube: carbon-aware scheduling for Kubernetes batch and big-data work.

The package is layered (see ``pyproject.toml``'s import-linter contracts): ``domain`` and
``energy`` hold the vocabulary and the physics, ``policy`` the pure decisions, ``providers`` and
``forecasting`` the carbon signal, and the adapters (``sim``, ``lab``, later the operator,
webhook and extender) call the same decision core. ``cli`` only parses and dispatches.

The version is written once, in ``pyproject.toml``; ``__version__`` reads it from the installed
package's metadata, and a unit test holds the Helm chart's ``version``/``appVersion`` equal
to it.
"""

from importlib import metadata

try:
    __version__ = metadata.version("carbon-kube")
except metadata.PackageNotFoundError:  # pragma: no cover - a source tree never installed
    # Not a second version: a marker that says "not installed", never mistaken for a release.
    __version__ = "0+unknown"

__all__ = ["__version__"]
