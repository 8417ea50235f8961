"""``python -m carbon_kube``: the CLI, for images that have no console-script wrapper."""

from carbon_kube.cli.app import main

main()
