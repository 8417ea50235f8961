"""The lab stack: EKS with Karpenter, Prometheus/Grafana, Carbon-Kube and sample jobs.

Also: the VPC, the Spark and Flink operators, an S3 bucket for exported metrics, and the
auto-teardown.

Charts from public repositories are pinned by version here; the kubectl handler pulls them at
deploy time, so ``cdk synth`` needs no network. The carbon-kube chart is the repository's own
(charts/carbon-kube), shipped as an S3 asset.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, Environment, RemovalPolicy, Stack, Tags
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_eks as eks
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sqs as sqs
from aws_cdk.lambda_layer_kubectl_v34 import KubectlV34Layer
from constructs import Construct

from carbon_kube_lab.manifests import (
    MONITORING_NAMESPACE,
    dashboard_configmaps,
    load_examples,
    point_flink_state_at,
)
from carbon_kube_lab.settings import LabSettings
from carbon_kube_lab.teardown import AutoTeardown, bootstrap_execution_role_arn

# Pinned chart versions (deploy time only; synth does not fetch them). How each was checked
# against public material, and what is still unverified: cdk/README.md, "Pinned charts".
KARPENTER_CHART = ("oci://public.ecr.aws/karpenter/karpenter", "karpenter", "1.8.1")
PROMETHEUS_CHART = (
    "https://prometheus-community.github.io/helm-charts",
    "kube-prometheus-stack",
    "92.1.0",
)
SPARK_OPERATOR_CHART = ("https://kubeflow.github.io/spark-operator", "spark-operator", "2.5.1")
FLINK_OPERATOR_CHART = (
    "https://archive.apache.org/dist/flink/flink-kubernetes-operator-1.12.1/",
    "flink-kubernetes-operator",
    "1.12.1",
)
METRICS_EXPORT_IMAGE = "public.ecr.aws/aws-cli/aws-cli:2.22.0"
# kube-prometheus-stack's fullnameOverride, so the Prometheus service name is known here.
PROMETHEUS_NAME = "kps"
KARPENTER_NAMESPACE = "karpenter"
SAMPLE_NAMESPACE = "default"
DISCOVERY_TAG = "karpenter.sh/discovery"


class CarbonKubeLabStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, settings: LabSettings) -> None:
        super().__init__(
            scope,
            construct_id,
            env=Environment(account=settings.account, region=settings.region),
            description="Carbon-Kube EKS lab: carbon-aware batch scheduling with Karpenter, "
            "Prometheus/Grafana and sample Spark/Flink jobs (auto-teardown).",
        )
        self.settings = settings
        # The VPC checks its zones against the stack's, which would otherwise be a synth-time
        # lookup: answering it from settings keeps `cdk synth` offline and deterministic.
        self.node.set_context(
            f"availability-zones:account={settings.account}:region={settings.region}",
            list(settings.availability_zones),
        )
        self.vpc = self._vpc()
        self.cluster = self._cluster()
        self.metrics_bucket = self._metrics_bucket()
        karpenter = self._karpenter()
        monitoring = self._monitoring()
        carbon_kube = self._carbon_kube(after=[karpenter, monitoring])
        if settings.sample_jobs:
            self._sample_jobs(after=carbon_kube)
        if settings.lifetime_hours > 0:
            self.teardown: AutoTeardown | None = AutoTeardown(
                self,
                "AutoTeardown",
                lifetime_hours=settings.lifetime_hours,
                cloudformation_role_arn=settings.teardown_role_arn
                or bootstrap_execution_role_arn(settings.bootstrap_qualifier),
            )
        else:
            self.teardown = None
        CfnOutput(self, "EksClusterName", value=self.cluster.cluster_name)
        CfnOutput(self, "MetricsBucketName", value=self.metrics_bucket.bucket_name)
        CfnOutput(
            self,
            "Lifetime",
            value=f"{settings.lifetime_hours:g} h after creation"
            if settings.lifetime_hours > 0
            else "kept until deleted by hand",
        )

    # -- network and cluster ------------------------------------------------------------------

    def _vpc(self) -> ec2.Vpc:
        vpc = ec2.Vpc(
            self,
            "Vpc",
            availability_zones=list(self.settings.availability_zones),
            nat_gateways=1,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24
                ),
                ec2.SubnetConfiguration(
                    name="private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=19
                ),
            ],
        )
        for subnet in vpc.private_subnets:
            Tags.of(subnet).add(DISCOVERY_TAG, self.settings.cluster_name)
        return vpc

    def _cluster(self) -> eks.Cluster:
        settings = self.settings
        cluster = eks.Cluster(
            self,
            "Cluster",
            cluster_name=settings.cluster_name,
            version=eks.KubernetesVersion.V1_34,
            kubectl_layer=KubectlV34Layer(self, "KubectlLayer"),
            vpc=self.vpc,
            vpc_subnets=[ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)],
            default_capacity=0,
            authentication_mode=eks.AuthenticationMode.API_AND_CONFIG_MAP,
            endpoint_access=eks.EndpointAccess.PUBLIC_AND_PRIVATE,
            cluster_logging=[eks.ClusterLoggingTypes.API, eks.ClusterLoggingTypes.AUDIT],
        )
        # System nodes run the controllers; Karpenter provisions everything else.
        cluster.add_nodegroup_capacity(
            "System",
            instance_types=[ec2.InstanceType(settings.system_node_instance_type)],
            min_size=settings.system_nodes,
            desired_size=settings.system_nodes,
            max_size=settings.system_nodes + 1,
            subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            labels={"carbon-kube.io/pool": "system"},
        )
        Tags.of(cluster.cluster_security_group).add(DISCOVERY_TAG, settings.cluster_name)
        return cluster

    def _metrics_bucket(self) -> s3.Bucket:
        return s3.Bucket(
            self,
            "MetricsBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            # The lab is disposable: its teardown must not fail on a non-empty bucket.
            removal_policy=RemovalPolicy.DESTROY,
            auto_delete_objects=True,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(30))],
        )

    def _namespace(self, construct_id: str, name: str) -> eks.KubernetesManifest:
        return self.cluster.add_manifest(
            construct_id, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        )

    # -- Karpenter ----------------------------------------------------------------------------

    def _karpenter(self) -> eks.HelmChart:
        cluster, name = self.cluster, self.settings.cluster_name
        node_role = iam.Role(
            self,
            "KarpenterNodeRole",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(policy)
                for policy in (
                    "AmazonEKSWorkerNodePolicy",
                    "AmazonEKS_CNI_Policy",
                    "AmazonEC2ContainerRegistryReadOnly",
                    "AmazonSSMManagedInstanceCore",
                )
            ],
        )
        eks.AccessEntry(
            self,
            "KarpenterNodeAccess",
            cluster=cluster,
            principal=node_role.role_arn,
            access_policies=[],
            access_entry_type=eks.AccessEntryType.EC2_LINUX,
        )
        queue = sqs.Queue(
            self,
            "KarpenterInterruptions",
            retention_period=Duration.minutes(5),
            enforce_ssl=True,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
        )
        for rule_id, source, detail_type in (
            ("SpotInterruption", "aws.ec2", "EC2 Spot Instance Interruption Warning"),
            ("Rebalance", "aws.ec2", "EC2 Instance Rebalance Recommendation"),
            ("InstanceState", "aws.ec2", "EC2 Instance State-change Notification"),
            ("ScheduledChange", "aws.health", "AWS Health Event"),
        ):
            events.Rule(
                self,
                f"Karpenter{rule_id}",
                event_pattern=events.EventPattern(source=[source], detail_type=[detail_type]),
                targets=[targets.SqsQueue(queue)],
            )
        namespace = self._namespace("KarpenterNamespace", KARPENTER_NAMESPACE)
        account = cluster.add_service_account(
            "KarpenterServiceAccount", name="karpenter", namespace=KARPENTER_NAMESPACE
        )
        account.node.add_dependency(namespace)
        _grant_karpenter_controller(account.role, node_role, queue, cluster, name, self.region)
        repository, chart_name, version = KARPENTER_CHART
        chart = cluster.add_helm_chart(
            "Karpenter",
            repository=repository,
            chart=chart_name,
            version=version,
            release="karpenter",
            namespace=KARPENTER_NAMESPACE,
            create_namespace=False,
            wait=True,
            values={
                "settings": {"clusterName": name, "interruptionQueue": queue.queue_name},
                "serviceAccount": {"create": False, "name": "karpenter"},
                "controller": {"resources": {"requests": {"cpu": "250m", "memory": "512Mi"}}},
                "nodeSelector": {"carbon-kube.io/pool": "system"},
            },
        )
        chart.node.add_dependency(account)
        pools = cluster.add_manifest(
            "KarpenterNodePools", _node_class(node_role.role_name, name), *_node_pools()
        )
        pools.node.add_dependency(chart)
        return chart

    # -- Prometheus, Grafana, dashboards, metrics export --------------------------------------

    def _monitoring(self) -> eks.HelmChart:
        namespace = self._namespace("MonitoringNamespace", MONITORING_NAMESPACE)
        repository, chart_name, version = PROMETHEUS_CHART
        chart = self.cluster.add_helm_chart(
            "KubePrometheusStack",
            repository=repository,
            chart=chart_name,
            version=version,
            release="kube-prometheus-stack",
            namespace=MONITORING_NAMESPACE,
            create_namespace=False,
            wait=True,
            timeout=Duration.minutes(15),
            values=_prometheus_values(),
        )
        chart.node.add_dependency(namespace)
        dashboards = dashboard_configmaps(self.settings.dashboards_dir)
        # One custom resource per dashboard keeps each request small (a Lambda payload) and
        # lets CloudFormation update one dashboard without touching the others.
        for configmap in dashboards:
            name = configmap["metadata"]["name"]
            manifest = self.cluster.add_manifest(f"Dashboard-{name}", configmap)
            manifest.node.add_dependency(namespace)
        self.dashboard_count = len(dashboards)
        self._metrics_export(after=chart)
        return chart

    def _metrics_export(self, after: Construct) -> None:
        """An hourly CronJob copies every carbon_kube_* series (last 24 h) to the bucket."""
        account = self.cluster.add_service_account(
            "MetricsExportServiceAccount", name="metrics-export", namespace=MONITORING_NAMESPACE
        )
        account.node.add_dependency(after)
        self.metrics_bucket.grant_put(account, "metrics/*")
        prometheus = f"http://{PROMETHEUS_NAME}-prometheus.{MONITORING_NAMESPACE}:9090"
        script = (
            "set -eu; now=$(date -u +%Y-%m-%dT%H:%M:%SZ); "
            f"curl -fsS -G '{prometheus}/api/v1/query' "
            "--data-urlencode 'query={__name__=~\"carbon_kube_.*\"}[24h]' -o /tmp/metrics.json; "
            'aws s3 cp /tmp/metrics.json "s3://$BUCKET/metrics/$now.json"'
        )
        cron = self.cluster.add_manifest(
            "MetricsExport",
            {
                "apiVersion": "batch/v1",
                "kind": "CronJob",
                "metadata": {
                    "name": "carbon-kube-metrics-export",
                    "namespace": MONITORING_NAMESPACE,
                },
                "spec": {
                    "schedule": "17 * * * *",
                    "concurrencyPolicy": "Forbid",
                    "jobTemplate": {
                        "spec": {
                            "backoffLimit": 1,
                            "template": {
                                "spec": {
                                    "serviceAccountName": "metrics-export",
                                    "restartPolicy": "Never",
                                    "containers": [
                                        {
                                            "name": "export",
                                            "image": METRICS_EXPORT_IMAGE,
                                            "command": ["sh", "-c", script],
                                            "env": [
                                                {
                                                    "name": "BUCKET",
                                                    "value": self.metrics_bucket.bucket_name,
                                                }
                                            ],
                                            "securityContext": {
                                                "allowPrivilegeEscalation": False,
                                                "runAsNonRoot": True,
                                                "runAsUser": 65532,
                                            },
                                        }
                                    ],
                                }
                            },
                        }
                    },
                },
            },
        )
        cron.node.add_dependency(account)

    # -- Carbon-Kube --------------------------------------------------------------------------

    def _carbon_kube(self, after: list[Construct]) -> eks.HelmChart:
        asset = s3_assets.Asset(self, "CarbonKubeChartAsset", path=str(self.settings.chart_dir))
        chart = self.cluster.add_helm_chart(
            "CarbonKube",
            chart_asset=asset,
            release="carbon-kube",
            namespace="carbon-kube",
            create_namespace=True,
            # The webhook must answer before the sample jobs arrive, or they run unheld
            # (failurePolicy: Ignore admits them as they are).
            wait=True,
            values=self.settings.carbon_kube.helm_values(),
        )
        for dependency in after:
            chart.node.add_dependency(dependency)
        return chart

    # -- Spark and Flink operators and the sample jobs ----------------------------------------

    def _sample_jobs(self, after: Construct) -> None:
        operators = []
        for construct_id, (repository, chart_name, version), namespace, values in (
            (
                "SparkOperator",
                SPARK_OPERATOR_CHART,
                "spark-operator",
                {"spark": {"jobNamespaces": [SAMPLE_NAMESPACE]}},
            ),
            (
                "FlinkOperator",
                FLINK_OPERATOR_CHART,
                "flink-operator",
                # No webhook: it needs cert-manager, which the lab does not install.
                {
                    "webhook": {"create": False},
                    "watchNamespaces": [SAMPLE_NAMESPACE],
                    "jobServiceAccount": {"create": False},
                },
            ),
        ):
            operators.append(
                self.cluster.add_helm_chart(
                    construct_id,
                    repository=repository,
                    chart=chart_name,
                    version=version,
                    release=chart_name,
                    namespace=namespace,
                    create_namespace=True,
                    wait=True,
                    values=values,
                )
            )
        # Flink's savepoints (what makes pausing safe) go to the lab's bucket, via IRSA.
        flink_account = self.cluster.add_service_account(
            "FlinkServiceAccount", name="flink", namespace=SAMPLE_NAMESPACE
        )
        self.metrics_bucket.grant_read_write(flink_account, "flink/*")
        examples = load_examples(self.settings.examples_dir, SAMPLE_NAMESPACE)
        point_flink_state_at(examples, f"s3://{self.metrics_bucket.bucket_name}")
        jobs = self.cluster.add_manifest("SampleJobs", *examples)
        for dependency in (*operators, flink_account, after):
            jobs.node.add_dependency(dependency)


def _grant_karpenter_controller(
    role: iam.IRole,
    node_role: iam.Role,
    queue: sqs.Queue,
    cluster: eks.Cluster,
    cluster_name: str,
    region: str,
) -> None:
    """Grant what the Karpenter controller needs, and little more.

    It launches and terminates its own nodes (deletion only of instances tagged by this
    cluster's NodePools), reads prices and AMIs, manages the instance profiles of
    ``node_role`` and reads its interruption queue.
    """
    statements = [
        iam.PolicyStatement(
            actions=[
                "ec2:CreateFleet",
                "ec2:CreateLaunchTemplate",
                "ec2:CreateTags",
                "ec2:RunInstances",
                "ec2:DescribeAvailabilityZones",
                "ec2:DescribeImages",
                "ec2:DescribeInstances",
                "ec2:DescribeInstanceTypeOfferings",
                "ec2:DescribeInstanceTypes",
                "ec2:DescribeLaunchTemplates",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSpotPriceHistory",
                "ec2:DescribeSubnets",
                "pricing:GetProducts",
                "ssm:GetParameter",
            ],
            resources=["*"],
            conditions={"StringEquals": {"aws:RequestedRegion": region}},
        ),
        iam.PolicyStatement(
            actions=["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
            resources=["*"],
            conditions={
                "StringEquals": {f"aws:ResourceTag/kubernetes.io/cluster/{cluster_name}": "owned"},
                "StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"},
            },
        ),
        iam.PolicyStatement(actions=["iam:PassRole"], resources=[node_role.role_arn]),
        iam.PolicyStatement(
            actions=[
                "iam:AddRoleToInstanceProfile",
                "iam:CreateInstanceProfile",
                "iam:DeleteInstanceProfile",
                "iam:GetInstanceProfile",
                "iam:ListInstanceProfiles",
                "iam:RemoveRoleFromInstanceProfile",
                "iam:TagInstanceProfile",
            ],
            resources=["*"],
        ),
        iam.PolicyStatement(actions=["eks:DescribeCluster"], resources=[cluster.cluster_arn]),
        iam.PolicyStatement(
            actions=["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"],
            resources=[queue.queue_arn],
        ),
    ]
    for statement in statements:
        role.add_to_principal_policy(statement)


def _node_class(node_role_name: str, cluster_name: str) -> dict[str, Any]:
    discovery = [{"tags": {DISCOVERY_TAG: cluster_name}}]
    return {
        "apiVersion": "karpenter.k8s.aws/v1",
        "kind": "EC2NodeClass",
        "metadata": {"name": "default"},
        "spec": {
            "role": node_role_name,
            "amiSelectorTerms": [{"alias": "al2023@latest"}],
            "subnetSelectorTerms": discovery,
            "securityGroupSelectorTerms": discovery,
        },
    }


def _node_pools() -> list[dict[str, Any]]:
    """Arm (Graviton) and x86 pools; Carbon-Kube's controller steers their weights.

    Arm starts preferred: at equal intensity, energy-efficient nodes emit less per job (the
    hardware lever), and its weight is what the controller adjusts.
    """
    pools = []
    for name, arch, weight in (("arm64", "arm64", 60), ("amd64", "amd64", 40)):
        pools.append(
            {
                "apiVersion": "karpenter.sh/v1",
                "kind": "NodePool",
                "metadata": {"name": f"batch-{name}"},
                "spec": {
                    "weight": weight,
                    "template": {
                        "metadata": {"labels": {"carbon-kube.io/pool": f"batch-{name}"}},
                        "spec": {
                            "nodeClassRef": {
                                "group": "karpenter.k8s.aws",
                                "kind": "EC2NodeClass",
                                "name": "default",
                            },
                            "requirements": [
                                {"key": "kubernetes.io/arch", "operator": "In", "values": [arch]},
                                {
                                    "key": "karpenter.sh/capacity-type",
                                    "operator": "In",
                                    "values": ["spot", "on-demand"],
                                },
                                {
                                    "key": "karpenter.k8s.aws/instance-category",
                                    "operator": "In",
                                    "values": ["c", "m", "r"],
                                },
                            ],
                        },
                    },
                    "limits": {"cpu": "64"},
                    "disruption": {
                        "consolidationPolicy": "WhenEmptyOrUnderutilized",
                        "consolidateAfter": "1m",
                    },
                },
            }
        )
    return pools


def _prometheus_values() -> dict[str, Any]:
    return {
        "fullnameOverride": PROMETHEUS_NAME,
        "grafana": {
            # Empty: the Grafana chart generates a random admin password into a Secret in the
            # cluster (read it with kubectl), instead of the stack's well-known default.
            "adminPassword": "",
            "sidecar": {
                "dashboards": {
                    "enabled": True,
                    "label": "grafana_dashboard",
                    "labelValue": "1",
                    "searchNamespace": "ALL",
                }
            },
        },
        "prometheus": {
            "prometheusSpec": {
                "retention": "7d",
                "serviceMonitorSelectorNilUsesHelmValues": False,
                "podMonitorSelectorNilUsesHelmValues": False,
                "ruleSelectorNilUsesHelmValues": False,
                # The carbon-kube chart annotates its pods (prometheus.podAnnotations).
                "additionalScrapeConfigs": [
                    {
                        "job_name": "carbon-kube-pods",
                        "kubernetes_sd_configs": [{"role": "pod"}],
                        "relabel_configs": [
                            {
                                "source_labels": [
                                    "__meta_kubernetes_pod_annotation_prometheus_io_scrape"
                                ],
                                "regex": "true",
                                "action": "keep",
                            },
                            {
                                "source_labels": [
                                    "__address__",
                                    "__meta_kubernetes_pod_annotation_prometheus_io_port",
                                ],
                                "regex": "([^:]+)(?::\\d+)?;(\\d+)",
                                "replacement": "$1:$2",
                                "target_label": "__address__",
                            },
                            {
                                "source_labels": ["__meta_kubernetes_namespace"],
                                "target_label": "namespace",
                            },
                            {
                                "source_labels": ["__meta_kubernetes_pod_name"],
                                "target_label": "pod",
                            },
                        ],
                    }
                ],
            }
        },
    }
