"""Auto-teardown: an EventBridge schedule and a Lambda that delete the stack after its lifetime.

A lab left running costs money and emits carbon for nothing. The lifetime counts from the
stack's creation (CloudFormation's CreationTime), not from synth, so a template synthesised
today and deployed next week still lives its full lifetime.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Aws, Duration, Fn, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

HANDLER_SOURCE = Path(__file__).with_name("teardown_handler.py")
CHECK_EVERY = Duration.minutes(15)


class AutoTeardown(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        lifetime_hours: float,
        cloudformation_role_arn: str,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=lambda_.Runtime.PYTHON_3_12,
            handler="index.handler",
            code=lambda_.Code.from_inline(HANDLER_SOURCE.read_text(encoding="utf-8")),
            timeout=Duration.seconds(30),
            memory_size=128,
            description=f"Deletes {stack.stack_name} {lifetime_hours:g} h after it was created",
            environment={
                "STACK_ID": Aws.STACK_ID,
                "LIFETIME_HOURS": f"{lifetime_hours:g}",
                "CFN_ROLE_ARN": cloudformation_role_arn,
            },
            log_group=logs.LogGroup(self, "Logs", retention=logs.RetentionDays.ONE_WEEK),
        )
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["cloudformation:DescribeStacks", "cloudformation:DeleteStack"],
                resources=[Aws.STACK_ID],
            )
        )
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[cloudformation_role_arn],
                conditions={
                    "StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}
                },
            )
        )
        self.rule = events.Rule(
            self,
            "Schedule",
            schedule=events.Schedule.rate(CHECK_EVERY),
            description=f"Checks every 15 min whether {stack.stack_name} has outlived its lifetime",
            targets=[targets.LambdaFunction(self.function)],
        )


def bootstrap_execution_role_arn(qualifier: str) -> str:
    """The CDK bootstrap's CloudFormation execution role of this account and region."""
    return Fn.sub(
        "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/cdk-"
        + qualifier
        + "-cfn-exec-role-${AWS::AccountId}-${AWS::Region}"
    )
