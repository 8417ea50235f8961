"""The controller: releases held workloads, labels nodes, weighs Karpenter NodePools (kopf).

Pure decisions (``releasing``, ``workloads``, ``nodes``, ``nodepools``, ``leadership``) are
separate from the kopf wiring (``handlers``) and the process entry point (``running``).
"""
