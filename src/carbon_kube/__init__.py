"""Carbon-Kube: carbon-aware scheduling for Kubernetes batch and big-data work.

The package is layered (see ``pyproject.toml``'s import-linter contracts): ``domain`` and
``energy`` hold the vocabulary and the physics, ``policy`` the pure decisions, ``providers`` and
``forecasting`` the carbon signal, and the adapters (``sim``, ``lab``, later the operator,
webhook and extender) call the same decision core. ``cli`` only parses and dispatches.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
