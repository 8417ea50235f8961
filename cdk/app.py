"""The Carbon-Kube EKS lab: ``cdk synth`` / ``cdk deploy`` entry point (see README.md).

Everything configurable comes from CDK context (cdk.json defaults, ``-c key=value`` overrides);
account and region from ``-c account=... -c region=...`` or the CLI's CDK_DEFAULT_* variables.
"""

from __future__ import annotations

import aws_cdk as cdk
from carbon_kube_lab.settings import read_settings
from carbon_kube_lab.stack import CarbonKubeLabStack

app = cdk.App()
settings = read_settings(app.node)
CarbonKubeLabStack(app, "CarbonKubeLab", settings=settings)
app.synth()
