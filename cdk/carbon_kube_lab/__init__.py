"""The Carbon-Kube EKS lab as an AWS CDK app (Python, aws-cdk-lib)."""
