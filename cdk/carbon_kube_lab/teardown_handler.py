"""Lambda: delete the lab's stack once it is older than its lifetime (inline code, <4 KiB).

Runs every 15 minutes from an EventBridge rule. Deleting passes the CDK bootstrap's
CloudFormation execution role, so this function needs no rights on the stack's resources,
only DescribeStacks/DeleteStack on its own stack and PassRole on that role. A stack already
being deleted, or mid-update, is left alone until the next run.
"""

import os
from datetime import UTC, datetime, timedelta


def decide(stack, lifetime, now):
    """'delete' when the stack has outlived ``lifetime``, else why not."""
    status = stack["StackStatus"]
    if status.startswith("DELETE_"):
        return "already " + status
    if status.endswith("_IN_PROGRESS"):
        return "busy: " + status
    age = now - stack["CreationTime"]
    if age < lifetime:
        return "keep: {} of {} used".format(str(age).split(".")[0], lifetime)
    return "delete"


def handler(event, context, cloudformation=None, now=None):
    if cloudformation is None:
        import boto3

        cloudformation = boto3.client("cloudformation")
    stack_id = os.environ["STACK_ID"]
    lifetime = timedelta(hours=float(os.environ["LIFETIME_HOURS"]))
    stack = cloudformation.describe_stacks(StackName=stack_id)["Stacks"][0]
    verdict = decide(stack, lifetime, now or datetime.now(UTC))
    if verdict == "delete":
        cloudformation.delete_stack(StackName=stack_id, RoleARN=os.environ["CFN_ROLE_ARN"])
    print("carbon-kube lab teardown:", stack["StackName"], verdict)
    return verdict
