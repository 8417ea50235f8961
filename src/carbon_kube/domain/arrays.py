"""The numpy array types every layer passes around, named once.

Columns of jobs, intensity values and time indices are one-dimensional numpy arrays of a fixed
dtype; naming the dtype in the type (``FloatArray`` for float64, ``IntArray`` for int64,
``BoolArray`` for masks) lets mypy catch a float column passed where indices are expected.
This module only names types: no functions, no numpy calls at import beyond the aliases.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

__all__ = ["BoolArray", "FloatArray", "IntArray"]
