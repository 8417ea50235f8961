"""The ``carbon-kube`` command line: parse, build settings, call ``run_*``; no domain logic."""
