"""Energy and emissions: how much power a workload draws and what that emits on a grid.

Pure arithmetic, no I/O. Emissions are the integral of power x intensity over the run (not
intensity at start x energy), exact for piecewise-constant intensity.
"""
