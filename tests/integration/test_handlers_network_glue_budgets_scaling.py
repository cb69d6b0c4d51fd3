"""EC2/VPC, Glue, Budgets and Application Auto Scaling handlers against the real moto server, through the
embedded engine; every result is checked independently with boto3.

The network test deploys what a secure MLOps VPC looks like: private subnets in two AZs (no public IPs),
a private route table, an S3 gateway endpoint and SageMaker API/runtime interface endpoints in a
security group that admits 443 from the VPC CIDR only, flow logs to CloudWatch Logs, and a default
security group with no rules at all.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from mlplatform.engine.embedded.deployment import Deployment
from mlplatform.engine.model import Action
from tests.integration.harness import CONVENTIONS, client, deploy, destroy, provider

pytestmark = pytest.mark.integration

CIDR = "10.42.0.0/16"


def _ok(deployment: Deployment) -> None:
    assert not deployment.broken, [s.error for s in deployment.steps if s.error]


def _noop(program: Any, previous: Deployment) -> Deployment:
    """A second deploy of the same program: every custom resource SAME and not a single API call."""
    again = deploy(program, previous.records)
    _ok(again)
    assert {c.action for c in again.plan() if c.custom} == {Action.SAME}
    assert again.counter.mutating == 0 and again.counter.total == 0, again.counter.by_operation
    return again


def _changed(deployment: Deployment) -> dict[str, Action]:
    return {c.name: c.action for c in deployment.plan() if c.custom and c.action is not Action.SAME}


def _tags(items: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in items or [] if t["Key"] != CONVENTIONS.urn_tag}


# ---- network ---------------------------------------------------------------------------------------------


def _network(endpoint: str, *, team: str = "ml", admin_cidr: str = "10.42.0.0/24") -> None:
    opts = pulumi.ResourceOptions(provider=provider(endpoint))
    tags = {"managed-by": "mlplatform", "team": team}
    vpc = aws.ec2.Vpc(
        "vpc",
        cidr_block=CIDR,
        enable_dns_hostnames=True,
        enable_dns_support=True,
        instance_tenancy="default",
        tags=tags,
        opts=opts,
    )
    # Explicit empty rule lists, as the network component sets them: the rules are optional+computed, so only an
    # explicit [] (not an omitted list) removes a rule added outside mlplatform.
    aws.ec2.DefaultSecurityGroup(
        "default-sg", vpc_id=vpc.id, ingress=[], egress=[], tags={"Name": "deny-all"}, opts=opts
    )
    table = aws.ec2.RouteTable("private", vpc_id=vpc.id, tags=tags, opts=opts)
    subnets = []
    for index, zone in enumerate(("us-east-1a", "us-east-1b")):
        subnet = aws.ec2.Subnet(
            f"private-{zone}",
            vpc_id=vpc.id,
            cidr_block=f"10.42.{index + 1}.0/24",
            availability_zone=zone,
            map_public_ip_on_launch=False,
            tags=tags,
            opts=opts,
        )
        aws.ec2.RouteTableAssociation(f"private-{zone}", subnet_id=subnet.id, route_table_id=table.id, opts=opts)
        subnets.append(subnet)
    endpoints_sg = aws.ec2.SecurityGroup(
        "endpoints",
        name="mlp-net-endpoints",
        description="VPC endpoints",
        vpc_id=vpc.id,
        revoke_rules_on_delete=True,
        tags=tags,
        opts=opts,
    )
    aws.vpc.SecurityGroupIngressRule(
        "https-in",
        security_group_id=endpoints_sg.id,
        ip_protocol="tcp",
        from_port=443,
        to_port=443,
        cidr_ipv4=CIDR,
        description="HTTPS from the VPC",
        tags={"rule": "https"},
        opts=opts,
    )
    aws.vpc.SecurityGroupEgressRule(
        "https-out",
        security_group_id=endpoints_sg.id,
        ip_protocol="tcp",
        from_port=443,
        to_port=443,
        cidr_ipv4=CIDR,
        opts=opts,
    )
    # A second group with inline rules (the older style some programs use).
    aws.ec2.SecurityGroup(
        "admin",
        description="admin access",
        vpc_id=vpc.id,
        tags=tags,
        ingress=[
            {"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": [admin_cidr], "description": "ssh"}
        ],
        egress=[{"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": [CIDR]}],
        opts=opts,
    )
    aws.ec2.VpcEndpoint(
        "s3",
        vpc_id=vpc.id,
        service_name="com.amazonaws.us-east-1.s3",
        vpc_endpoint_type="Gateway",
        route_table_ids=[table.id],
        tags=tags,
        opts=opts,
    )
    for service in ("sagemaker.api", "sagemaker.runtime"):
        aws.ec2.VpcEndpoint(
            service,
            vpc_id=vpc.id,
            service_name=f"com.amazonaws.us-east-1.{service}",
            vpc_endpoint_type="Interface",
            private_dns_enabled=True,
            subnet_ids=[s.id for s in subnets],
            security_group_ids=[endpoints_sg.id],
            policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sagemaker:*", "Resource": "*"}],
                }
            ),
            tags=tags,
            opts=opts,
        )
    aws.ec2.FlowLog(
        "flow-log",
        vpc_id=vpc.id,
        traffic_type="ALL",
        log_destination_type="cloud-watch-logs",
        log_destination="arn:aws:logs:us-east-1:123456789012:log-group:/mlp-net/flow-logs",
        iam_role_arn="arn:aws:iam::123456789012:role/mlp-net-flow-logs",
        max_aggregation_interval=60,
        tags=tags,
        opts=opts,
    )
    pulumi.export("vpc_id", vpc.id)
    pulumi.export("default_sg", vpc.default_security_group_id)
    pulumi.export("main_table", vpc.main_route_table_id)


def test_secure_vpc(endpoint: str) -> None:
    ec2 = client(endpoint, "ec2")
    program = lambda: _network(endpoint)  # noqa: E731
    first = deploy(program)
    _ok(first)
    vpc_id = first.stack_outputs["vpc_id"]
    vpc = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]
    assert vpc["CidrBlock"] == CIDR and _tags(vpc["Tags"]) == {"managed-by": "mlplatform", "team": "ml"}
    # The URN is recorded under the key the engine was given (the harness's), no key of the engine's own.
    urn_tags = {t["Key"]: t["Value"] for t in vpc["Tags"] if t["Key"].endswith(":urn")}
    (vpc_urn,) = [urn for urn, record in first.records.items() if record.type == "aws:ec2/vpc:Vpc"]
    assert urn_tags == {CONVENTIONS.urn_tag: vpc_urn}
    assert ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute="enableDnsHostnames")["EnableDnsHostnames"]["Value"]
    assert first.stack_outputs["main_table"].startswith("rtb-")

    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    assert sorted(s["AvailabilityZone"] for s in subnets) == ["us-east-1a", "us-east-1b"]
    assert not any(s["MapPublicIpOnLaunch"] for s in subnets)
    tables = ec2.describe_route_tables(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "association.main", "Values": ["false"]}]
    )["RouteTables"]
    private = [t for t in tables if _tags(t["Tags"]).get("managed-by")]
    assert len(private) == 1
    assert sorted(a["SubnetId"] for a in private[0]["Associations"]) == sorted(s["SubnetId"] for s in subnets)

    # The default group allows nothing (moto's default group starts with allow-all egress) and is tagged.
    default = ec2.describe_security_groups(GroupIds=[first.stack_outputs["default_sg"]])["SecurityGroups"][0]
    assert default["IpPermissions"] == [] and default["IpPermissionsEgress"] == []
    assert _tags(default["Tags"]) == {"Name": "deny-all"}

    groups = {
        g["GroupName"]: g
        for g in ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["SecurityGroups"]
    }
    sg = groups["mlp-net-endpoints"]
    assert sg["IpPermissions"] == [
        {
            "IpProtocol": "tcp",
            "FromPort": 443,
            "ToPort": 443,
            "UserIdGroupPairs": [],
            "IpRanges": [{"CidrIp": CIDR, "Description": "HTTPS from the VPC"}],
            "Ipv6Ranges": [],
            "PrefixListIds": [],
        }
    ]
    # AWS's allow-all egress was removed on create; only the explicit 443 egress rule is left.
    assert [(p["IpProtocol"], p["IpRanges"]) for p in sg["IpPermissionsEgress"]] == [("tcp", [{"CidrIp": CIDR}])]
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [sg["GroupId"]]}])
    ingress = [r for r in rules["SecurityGroupRules"] if not r["IsEgress"]]
    assert _tags(ingress[0]["Tags"]) == {"rule": "https"}
    admin = next(g for name, g in groups.items() if name.startswith("admin-"))
    assert [(p["FromPort"], p["IpRanges"]) for p in admin["IpPermissions"]] == [
        (22, [{"CidrIp": "10.42.0.0/24", "Description": "ssh"}])
    ]
    assert [(p["IpProtocol"], p["IpRanges"]) for p in admin["IpPermissionsEgress"]] == [("-1", [{"CidrIp": CIDR}])]

    endpoints = {
        e["ServiceName"]: e
        for e in ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["VpcEndpoints"]
    }
    assert set(endpoints) == {f"com.amazonaws.us-east-1.{s}" for s in ("s3", "sagemaker.api", "sagemaker.runtime")}
    gateway = endpoints["com.amazonaws.us-east-1.s3"]
    assert gateway["VpcEndpointType"] == "Gateway" and gateway["RouteTableIds"] == [private[0]["RouteTableId"]]
    api = endpoints["com.amazonaws.us-east-1.sagemaker.api"]
    assert api["VpcEndpointType"] == "Interface" and api["PrivateDnsEnabled"] is True
    assert sorted(api["SubnetIds"]) == sorted(s["SubnetId"] for s in subnets)
    assert [g["GroupId"] for g in api["Groups"]] == [sg["GroupId"]]
    assert json.loads(api["PolicyDocument"])["Statement"][0]["Action"] == "sagemaker:*"

    flows = ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [vpc_id]}])["FlowLogs"]
    assert len(flows) == 1 and flows[0]["TrafficType"] == "ALL" and flows[0]["MaxAggregationInterval"] == 60
    assert flows[0]["LogDestinationType"] == "cloud-watch-logs" and _tags(flows[0]["Tags"])["team"] == "ml"

    second = _noop(program, first)

    # Refresh with nothing changed: every read matches the inputs (no false drift), nothing is applied.
    refreshed = deploy(program, second.records, refresh=True)
    _ok(refreshed)
    assert _changed(refreshed) == {}, [(c.name, c.detail) for c in refreshed.plan() if c.detail]
    assert refreshed.counter.mutating == 0

    # Drift: someone opens the default group and the endpoints group; refresh sees it and up repairs it.
    ec2.authorize_security_group_ingress(
        GroupId=default["GroupId"], IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    )
    https_in = next(r["SecurityGroupRuleId"] for r in ingress)
    ec2.modify_security_group_rules(
        GroupId=sg["GroupId"],
        SecurityGroupRules=[
            {
                "SecurityGroupRuleId": https_in,
                "SecurityGroupRule": {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIpv4": "0.0.0.0/0"},
            }
        ],
    )
    ec2.modify_subnet_attribute(SubnetId=subnets[0]["SubnetId"], MapPublicIpOnLaunch={"Value": True})
    repaired = deploy(program, refreshed.records, refresh=True)
    _ok(repaired)
    assert _changed(repaired) == {
        "default-sg": Action.UPDATE,
        "https-in": Action.UPDATE,
        f"private-{subnets[0]['AvailabilityZone']}": Action.UPDATE,
    }
    default = ec2.describe_security_groups(GroupIds=[default["GroupId"]])["SecurityGroups"][0]
    assert default["IpPermissions"] == [] and default["IpPermissionsEgress"] == []
    rule = ec2.describe_security_group_rules(SecurityGroupRuleIds=[https_in])["SecurityGroupRules"][0]
    assert rule["CidrIpv4"] == CIDR and rule["Description"] == "HTTPS from the VPC"
    assert not ec2.describe_subnets(SubnetIds=[subnets[0]["SubnetId"]])["Subnets"][0]["MapPublicIpOnLaunch"]

    # Updates in place: tags everywhere, and the admin group's inline ingress CIDR.
    updated = deploy(lambda: _network(endpoint, team="platform", admin_cidr="10.42.9.0/24"), repaired.records)
    _ok(updated)
    changed = _changed(updated)
    assert set(changed.values()) == {Action.UPDATE}
    assert {"vpc", "private", "admin", "endpoints", "s3", "sagemaker.api", "flow-log"} <= set(changed)
    assert _tags(ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]["Tags"])["team"] == "platform"
    admin = ec2.describe_security_groups(GroupIds=[admin["GroupId"]])["SecurityGroups"][0]
    assert [p["IpRanges"] for p in admin["IpPermissions"]] == [[{"CidrIp": "10.42.9.0/24", "Description": "ssh"}]]
    flow = ec2.describe_flow_logs(FlowLogIds=[flows[0]["FlowLogId"]])["FlowLogs"][0]
    assert _tags(flow["Tags"])["team"] == "platform"
    _noop(lambda: _network(endpoint, team="platform", admin_cidr="10.42.9.0/24"), updated)

    gone = destroy(updated.records)
    assert not gone.records, [s.error for s in gone.steps if s.error]
    assert not ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Vpcs"]
    assert not ec2.describe_flow_logs(FlowLogIds=[flows[0]["FlowLogId"]])["FlowLogs"]
    live_endpoints = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["VpcEndpoints"]
    assert all(e["State"].lower() == "deleted" for e in live_endpoints)


# ---- glue ----------------------------------------------------------------------------------------------


def _glue(endpoint: str, *, description: str = "feature tables") -> None:
    opts = pulumi.ResourceOptions(provider=provider(endpoint))
    key = "arn:aws:kms:us-east-1:123456789012:key/mlp-glue"
    aws.glue.CatalogDatabase(
        "features", name="mlp_glue_features", description=description, tags={"managed-by": "mlplatform"}, opts=opts
    )
    aws.glue.DataCatalogEncryptionSettings(
        "catalog-encryption",
        data_catalog_encryption_settings={
            "encryption_at_rest": {"catalog_encryption_mode": "SSE-KMS", "sse_aws_kms_key_id": key},
            "connection_password_encryption": {"return_connection_password_encrypted": True, "aws_kms_key_id": key},
        },
        opts=opts,
    )


def test_glue_database_and_catalog_encryption(endpoint: str) -> None:
    glue = client(endpoint, "glue")
    arn = "arn:aws:glue:us-east-1:123456789012:database/mlp_glue_features"
    first = deploy(lambda: _glue(endpoint))
    _ok(first)
    database = glue.get_database(Name="mlp_glue_features")["Database"]
    assert database["Description"] == "feature tables"
    assert glue.get_tags(ResourceArn=arn)["Tags"] == {"managed-by": "mlplatform"}
    settings = glue.get_data_catalog_encryption_settings()["DataCatalogEncryptionSettings"]
    assert settings["EncryptionAtRest"]["CatalogEncryptionMode"] == "SSE-KMS"
    assert settings["ConnectionPasswordEncryption"]["ReturnConnectionPasswordEncrypted"] is True
    records = {r.type: r for r in first.records.values()}
    database_record = records["aws:glue/catalogDatabase:CatalogDatabase"]
    assert database_record.outputs["arn"] == arn

    second = _noop(lambda: _glue(endpoint), first)
    refreshed = deploy(lambda: _glue(endpoint), second.records, refresh=True)
    _ok(refreshed)
    assert _changed(refreshed) == {}

    # Drift on both: description and tags changed, catalog encryption switched off behind mlplatform's back.
    glue.update_database(Name="mlp_glue_features", DatabaseInput={"Name": "mlp_glue_features", "Description": "x"})
    glue.tag_resource(ResourceArn=arn, TagsToAdd={"rogue": "1"})
    glue.put_data_catalog_encryption_settings(
        DataCatalogEncryptionSettings={
            "EncryptionAtRest": {"CatalogEncryptionMode": "DISABLED"},
            "ConnectionPasswordEncryption": {"ReturnConnectionPasswordEncrypted": False},
        }
    )
    repaired = deploy(lambda: _glue(endpoint), refreshed.records, refresh=True)
    _ok(repaired)
    assert _changed(repaired) == {"features": Action.UPDATE, "catalog-encryption": Action.UPDATE}
    assert glue.get_database(Name="mlp_glue_features")["Database"]["Description"] == "feature tables"
    assert glue.get_tags(ResourceArn=arn)["Tags"] == {"managed-by": "mlplatform"}
    settings = glue.get_data_catalog_encryption_settings()["DataCatalogEncryptionSettings"]
    assert settings["EncryptionAtRest"]["CatalogEncryptionMode"] == "SSE-KMS"

    updated = deploy(lambda: _glue(endpoint, description="features v2"), repaired.records)
    _ok(updated)
    assert _changed(updated) == {"features": Action.UPDATE}
    assert glue.get_database(Name="mlp_glue_features")["Database"]["Description"] == "features v2"

    gone = destroy(updated.records)
    assert not gone.records, [s.error for s in gone.steps if s.error]
    assert "mlp_glue_features" not in [d["Name"] for d in glue.get_databases()["DatabaseList"]]
    settings = glue.get_data_catalog_encryption_settings()["DataCatalogEncryptionSettings"]
    assert settings["EncryptionAtRest"]["CatalogEncryptionMode"] == "DISABLED"
    assert settings["ConnectionPasswordEncryption"]["ReturnConnectionPasswordEncrypted"] is False


# ---- budgets -------------------------------------------------------------------------------------------


def _budget(endpoint: str, *, thresholds: tuple[float, ...] = (80.0,)) -> None:
    opts = pulumi.ResourceOptions(provider=provider(endpoint))
    aws.budgets.Budget(
        "monthly",
        name="mlp-budget-monthly",
        budget_type="COST",
        limit_amount="500",
        limit_unit="USD",
        time_unit="MONTHLY",
        account_id="123456789012",
        notifications=[
            {
                "comparison_operator": "GREATER_THAN",
                "threshold": t,
                "threshold_type": "PERCENTAGE",
                "notification_type": "ACTUAL",
                "subscriber_email_addresses": ["ml-team@example.com"],
            }
            for t in thresholds
        ],
        opts=opts,
    )


def _notifications(budgets: Any, name: str = "mlp-budget-monthly") -> list[tuple[str, float]]:
    answer = budgets.describe_notifications_for_budget(AccountId="123456789012", BudgetName=name)
    return sorted((n["NotificationType"], n["Threshold"]) for n in answer["Notifications"])


def test_budget(endpoint: str) -> None:
    budgets = client(endpoint, "budgets")
    first = deploy(lambda: _budget(endpoint))
    _ok(first)
    budget = budgets.describe_budget(AccountId="123456789012", BudgetName="mlp-budget-monthly")["Budget"]
    assert float(budget["BudgetLimit"]["Amount"]) == 500 and budget["BudgetLimit"]["Unit"] == "USD"
    assert budget["TimeUnit"] == "MONTHLY" and budget["BudgetType"] == "COST"
    assert _notifications(budgets) == [("ACTUAL", 80.0)]
    assert [r.id for r in first.records.values() if r.type == "aws:budgets/budget:Budget"] == [
        "123456789012:mlp-budget-monthly"
    ]

    second = _noop(lambda: _budget(endpoint), first)

    # Update in place: a second notification is added with CreateNotification, the first one is kept.
    updated = deploy(lambda: _budget(endpoint, thresholds=(80.0, 100.0)), second.records)
    _ok(updated)
    assert _changed(updated) == {"monthly": Action.UPDATE}
    assert _notifications(budgets) == [("ACTUAL", 80.0), ("ACTUAL", 100.0)]
    back = deploy(lambda: _budget(endpoint), updated.records)
    _ok(back)
    assert _notifications(budgets) == [("ACTUAL", 80.0)]

    gone = destroy(back.records)
    assert not gone.records, [s.error for s in gone.steps if s.error]
    names = [b["BudgetName"] for b in budgets.describe_budgets(AccountId="123456789012").get("Budgets", [])]
    assert "mlp-budget-monthly" not in names


def test_budget_refresh_repairs_a_deleted_notification(endpoint: str) -> None:
    # With the notification gone, reading the budget needs no DescribeSubscribersForNotification call.
    budgets = client(endpoint, "budgets")
    program = lambda: _budget(endpoint, thresholds=(90.0,))  # noqa: E731
    first = deploy(program)
    _ok(first)
    try:
        budgets.delete_notification(
            AccountId="123456789012",
            BudgetName="mlp-budget-monthly",
            Notification={
                "NotificationType": "ACTUAL",
                "ComparisonOperator": "GREATER_THAN",
                "Threshold": 90.0,
                "ThresholdType": "PERCENTAGE",
            },
        )
        repaired = deploy(program, first.records, refresh=True)
        _ok(repaired)
        assert _changed(repaired) == {"monthly": Action.UPDATE}
        assert _notifications(budgets) == [("ACTUAL", 90.0)]
    finally:
        destroy(first.records)


def test_budget_refresh_without_drift(endpoint: str) -> None:
    budgets = client(endpoint, "budgets")
    program = lambda: _budget(endpoint, thresholds=(95.0,))  # noqa: E731
    first = deploy(program)
    _ok(first)
    try:
        refreshed = deploy(program, first.records, refresh=True)
        _ok(refreshed)
        assert _changed(refreshed) == {}
        assert refreshed.counter.mutating == 0, refreshed.counter.by_operation
        # The refresh read the subscribers: an unchanged notification is not taken on trust.
        assert refreshed.counter.by_operation.get("budgets:DescribeSubscribersForNotification") == 1

        # The same notification with another subscriber (set behind the engine's back) is drift, and repaired.
        notification = {"NotificationType": "ACTUAL", "ComparisonOperator": "GREATER_THAN", "Threshold": 95.0,
                        "ThresholdType": "PERCENTAGE"}  # fmt: skip
        key = {"AccountId": "123456789012", "BudgetName": "mlp-budget-monthly", "Notification": notification}
        budgets.delete_notification(**key)
        budgets.create_notification(**key, Subscribers=[{"SubscriptionType": "EMAIL", "Address": "x@example.com"}])
        repaired = deploy(program, refreshed.records, refresh=True)
        _ok(repaired)
        assert _changed(repaired) == {"monthly": Action.UPDATE}
        subscribers = budgets.describe_subscribers_for_notification(**key)["Subscribers"]
        assert subscribers == [{"SubscriptionType": "EMAIL", "Address": "ml-team@example.com"}]
    finally:
        destroy(first.records)


# The shape the platform's monitoring component deploys (mlplatform/components/monitoring.py): a monthly COST
# budget filtered to the environment's cost-allocation tag, ACTUAL and FORECASTED alerts at a percentage of the
# limit sent to the platform's SNS topic, and the platform's tags.
ENV_BUDGET = "mlp-budget-platform-monthly"


def _platform_budget(endpoint: str, *, env: str = "dev", limit: str = "250.00", team: str = "ml") -> None:
    opts = pulumi.ResourceOptions(provider=provider(endpoint))
    topic = aws.sns.Topic("alarms", name="mlp-budget-alarms", opts=opts)
    aws.budgets.Budget(
        "platform-budget",
        name=ENV_BUDGET,
        budget_type="COST",
        limit_amount=limit,
        limit_unit="USD",
        time_unit="MONTHLY",
        cost_filters=[{"name": "TagKeyValue", "values": [f"user:mlplatform:env${env}"]}],
        notifications=[
            {
                "comparison_operator": "GREATER_THAN",
                "threshold": 80,
                "threshold_type": "PERCENTAGE",
                "notification_type": kind,
                "subscriber_sns_topic_arns": [topic.arn],
                "subscriber_email_addresses": None,
            }
            for kind in ("ACTUAL", "FORECASTED")
        ],
        tags={"mlplatform:env": env, "team": team},
        opts=opts,
    )


def test_budget_as_the_monitoring_component_deploys_it(endpoint: str) -> None:
    budgets = client(endpoint, "budgets")
    arn = f"arn:aws:budgets::123456789012:budget/{ENV_BUDGET}"

    def live() -> dict[str, Any]:
        budget = budgets.describe_budget(AccountId="123456789012", BudgetName=ENV_BUDGET)["Budget"]
        subscribers = {}
        for notification in budgets.describe_notifications_for_budget(AccountId="123456789012", BudgetName=ENV_BUDGET)[
            "Notifications"
        ]:
            answer = budgets.describe_subscribers_for_notification(
                AccountId="123456789012", BudgetName=ENV_BUDGET, Notification=notification
            )
            key = (notification["NotificationType"], notification["Threshold"], notification.get("ThresholdType"))
            subscribers[key] = [(s["SubscriptionType"], s["Address"]) for s in answer["Subscribers"]]
        return {
            "limit": float(budget["BudgetLimit"]["Amount"]),
            "filters": budget.get("CostFilters"),
            "notifications": subscribers,
            "tags": _tags(budgets.list_tags_for_resource(ResourceARN=arn)["ResourceTags"]),
        }

    first = deploy(lambda: _platform_budget(endpoint))
    _ok(first)
    topic = next(r for r in first.records.values() if r.type == "aws:sns/topic:Topic").outputs["arn"]
    record = next(r for r in first.records.values() if r.type == "aws:budgets/budget:Budget")
    assert record.id == f"123456789012:{ENV_BUDGET}" and record.outputs["arn"] == arn
    assert live() == {
        "limit": 250.0,
        "filters": {"TagKeyValue": ["user:mlplatform:env$dev"]},
        "notifications": {
            ("ACTUAL", 80.0, "PERCENTAGE"): [("SNS", topic)],
            ("FORECASTED", 80.0, "PERCENTAGE"): [("SNS", topic)],
        },
        "tags": {"mlplatform:env": "dev", "team": "ml"},
    }

    second = _noop(lambda: _platform_budget(endpoint), first)
    refreshed = deploy(lambda: _platform_budget(endpoint), second.records, refresh=True)
    _ok(refreshed)
    assert _changed(refreshed) == {} and refreshed.counter.mutating == 0, refreshed.counter.by_operation

    # Update in place (UpdateBudget, TagResource): new limit, the filter moved to another environment, a tag.
    program = lambda: _platform_budget(endpoint, env="prod", limit="900.00", team="data")  # noqa: E731
    updated = deploy(program, refreshed.records)
    _ok(updated)
    assert _changed(updated) == {"platform-budget": Action.UPDATE}
    assert "budgets:UpdateBudget" in updated.counter.by_operation
    assert "budgets:DeleteBudget" not in updated.counter.by_operation
    assert "budgets:CreateNotification" not in updated.counter.by_operation  # notifications untouched
    state = live()
    assert (state["limit"], state["filters"]) == (900.0, {"TagKeyValue": ["user:mlplatform:env$prod"]})
    assert state["tags"] == {"mlplatform:env": "prod", "team": "data"} and len(state["notifications"]) == 2

    # Drift behind the engine's back: the filter removed, a tag added, the FORECASTED alert deleted.
    budgets.update_budget(
        AccountId="123456789012",
        NewBudget={"BudgetName": ENV_BUDGET, "BudgetType": "COST", "TimeUnit": "MONTHLY",
                   "BudgetLimit": {"Amount": "900.0", "Unit": "USD"}},
    )  # fmt: skip
    budgets.tag_resource(ResourceARN=arn, ResourceTags=[{"Key": "owner", "Value": "someone"}])
    budgets.delete_notification(
        AccountId="123456789012", BudgetName=ENV_BUDGET,
        Notification={"NotificationType": "FORECASTED", "ComparisonOperator": "GREATER_THAN", "Threshold": 80.0,
                      "ThresholdType": "PERCENTAGE"},
    )  # fmt: skip
    repaired = deploy(program, updated.records, refresh=True)
    _ok(repaired)
    assert _changed(repaired) == {"platform-budget": Action.UPDATE}
    state = live()
    assert state["filters"] == {"TagKeyValue": ["user:mlplatform:env$prod"]}
    assert state["tags"] == {"mlplatform:env": "prod", "team": "data"}
    assert state["notifications"] == {
        ("ACTUAL", 80.0, "PERCENTAGE"): [("SNS", topic)],
        ("FORECASTED", 80.0, "PERCENTAGE"): [("SNS", topic)],
    }
    again = deploy(program, repaired.records, refresh=True)
    _ok(again)
    assert _changed(again) == {}

    gone = destroy(again.records)
    assert not gone.records, [s.error for s in gone.steps if s.error]
    names = [b["BudgetName"] for b in budgets.describe_budgets(AccountId="123456789012").get("Budgets", [])]
    assert ENV_BUDGET not in names


# ---- application auto scaling ----------------------------------------------------------------------------


def _scaling(endpoint: str, *, max_capacity: int = 4, target_value: float = 70.0, team: str = "ml") -> None:
    opts = pulumi.ResourceOptions(provider=provider(endpoint))
    # moto validates only the namespace and dimension enums, not that the endpoint exists, so a fake
    # endpoint's variant serves as the resource. Tagged like the serving component's target.
    target = aws.appautoscaling.Target(
        "variant",
        service_namespace="sagemaker",
        resource_id="endpoint/mlp-scaling-ep/variant/AllTraffic",
        scalable_dimension="sagemaker:variant:DesiredInstanceCount",
        min_capacity=1,
        max_capacity=max_capacity,
        role_arn="arn:aws:iam::123456789012:role/mlp-scaling",
        tags={"mlplatform:env": "dev", "team": team},
        opts=opts,
    )
    aws.appautoscaling.Policy(
        "invocations",
        name="mlp-scaling-invocations",
        policy_type="TargetTrackingScaling",
        resource_id=target.resource_id,
        scalable_dimension=target.scalable_dimension,
        service_namespace=target.service_namespace,
        target_tracking_scaling_policy_configuration={
            "target_value": target_value,
            "predefined_metric_specification": {"predefined_metric_type": "SageMakerVariantInvocationsPerInstance"},
            "scale_in_cooldown": 300,
            "scale_out_cooldown": 60,
        },
        opts=opts,
    )


def test_scaling_target_and_policy(endpoint: str) -> None:
    scaling = client(endpoint, "application-autoscaling")
    resource = "endpoint/mlp-scaling-ep/variant/AllTraffic"

    def target() -> dict[str, Any]:
        found = scaling.describe_scalable_targets(ServiceNamespace="sagemaker", ResourceIds=[resource])
        return found["ScalableTargets"][0] if found["ScalableTargets"] else {}

    def policy() -> dict[str, Any]:
        found = scaling.describe_scaling_policies(
            ServiceNamespace="sagemaker", ResourceId=resource, PolicyNames=["mlp-scaling-invocations"]
        )
        return found["ScalingPolicies"][0] if found["ScalingPolicies"] else {}

    first = deploy(lambda: _scaling(endpoint))
    _ok(first)
    assert (target()["MinCapacity"], target()["MaxCapacity"]) == (1, 4)
    config = policy()["TargetTrackingScalingPolicyConfiguration"]
    assert config["TargetValue"] == 70.0 and config["ScaleInCooldown"] == 300 and config["ScaleOutCooldown"] == 60
    assert config["PredefinedMetricSpecification"] == {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}
    records = {r.type: r for r in first.records.values()}
    assert records["aws:appautoscaling/target:Target"].id == resource
    arn = target()["ScalableTargetARN"]
    assert records["aws:appautoscaling/target:Target"].outputs["arn"] == arn

    def tags() -> dict[str, str]:
        return dict(scaling.list_tags_for_resource(ResourceARN=arn)["Tags"])

    assert tags() == {"mlplatform:env": "dev", "team": "ml"}
    assert records["aws:appautoscaling/policy:Policy"].outputs["arn"] == policy()["PolicyARN"]

    second = _noop(lambda: _scaling(endpoint), first)
    refreshed = deploy(lambda: _scaling(endpoint), second.records, refresh=True)
    _ok(refreshed)
    assert _changed(refreshed) == {}

    # Drift: capacity, a tag and the policy's target changed outside mlplatform.
    scaling.untag_resource(ResourceARN=arn, TagKeys=["team"])
    scaling.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=resource,
        ScalableDimension="sagemaker:variant:DesiredInstanceCount",
        MaxCapacity=9,
    )
    scaling.put_scaling_policy(
        PolicyName="mlp-scaling-invocations",
        ServiceNamespace="sagemaker",
        ResourceId=resource,
        ScalableDimension="sagemaker:variant:DesiredInstanceCount",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 10.0,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
        },
    )
    repaired = deploy(lambda: _scaling(endpoint), refreshed.records, refresh=True)
    _ok(repaired)
    assert _changed(repaired) == {"variant": Action.UPDATE, "invocations": Action.UPDATE}
    assert target()["MaxCapacity"] == 4 and policy()["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 70
    assert tags() == {"mlplatform:env": "dev", "team": "ml"}

    updated = deploy(lambda: _scaling(endpoint, max_capacity=6, target_value=100.0, team="data"), repaired.records)
    _ok(updated)
    assert _changed(updated) == {"variant": Action.UPDATE, "invocations": Action.UPDATE}
    assert target()["MaxCapacity"] == 6 and target()["ScalableTargetARN"] == arn  # updated, not replaced
    assert tags() == {"mlplatform:env": "dev", "team": "data"}
    assert policy()["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 100.0

    gone = destroy(updated.records)
    assert not gone.records, [s.error for s in gone.steps if s.error]
    assert target() == {} and policy() == {}
