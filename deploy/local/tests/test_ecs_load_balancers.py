"""The ECS service <-> target group link, with boto3 against emulator.py.

The grace period on CreateService is emulated (moto drops it); the rest is
moto 5.2.5's own behaviour, pinned down here so a moto upgrade that breaks
it is noticed.
"""

from __future__ import annotations

import itertools

_clusters = itertools.count()

TG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/{}/0123456789abcdef"


def cluster_with_task(ecs) -> str:
    name = f"lb-{next(_clusters)}"
    ecs.create_cluster(clusterName=name)
    ecs.register_task_definition(family="web", containerDefinitions=[{
        "name": "web", "image": "nginx", "memory": 128,
        "portMappings": [{"containerPort": 8080}]}])
    return name


def describe(ecs, cluster: str, service: str) -> dict:
    (found,) = ecs.describe_services(cluster=cluster, services=[service])["services"]
    return found


def link(name: str) -> list[dict]:
    return [{"targetGroupArn": TG.format(name), "containerName": "web", "containerPort": 8080}]


def test_create_service_keeps_load_balancers_and_grace_period(emulator):
    ecs = emulator.client("ecs")
    cluster = cluster_with_task(ecs)
    created = ecs.create_service(cluster=cluster, serviceName="web", taskDefinition="web",
                                 desiredCount=1, loadBalancers=link("web"),
                                 healthCheckGracePeriodSeconds=60)["service"]
    assert created["loadBalancers"] == link("web")  # moto
    assert created["healthCheckGracePeriodSeconds"] == 60  # emulated
    described = describe(ecs, cluster, "web")
    assert described["loadBalancers"] == link("web")
    assert described["healthCheckGracePeriodSeconds"] == 60

    plain = ecs.create_service(cluster=cluster, serviceName="worker", taskDefinition="web",
                               desiredCount=1)["service"]
    assert plain["loadBalancers"] == [] and "healthCheckGracePeriodSeconds" not in plain


def test_update_service_changes_and_removes_the_link(emulator):  # moto
    ecs = emulator.client("ecs")
    cluster = cluster_with_task(ecs)
    ecs.create_service(cluster=cluster, serviceName="web", taskDefinition="web", desiredCount=1,
                       loadBalancers=link("web"), healthCheckGracePeriodSeconds=60)

    updated = ecs.update_service(cluster=cluster, service="web", loadBalancers=link("web-v2"),
                                 healthCheckGracePeriodSeconds=120)["service"]
    assert updated["loadBalancers"] == link("web-v2")
    assert updated["healthCheckGracePeriodSeconds"] == 120
    assert describe(ecs, cluster, "web")["loadBalancers"] == link("web-v2")

    ecs.update_service(cluster=cluster, service="web", desiredCount=2)  # leaves both alone
    described = describe(ecs, cluster, "web")
    assert described["loadBalancers"] == link("web-v2")
    assert described["healthCheckGracePeriodSeconds"] == 120

    ecs.update_service(cluster=cluster, service="web", loadBalancers=[])
    assert describe(ecs, cluster, "web")["loadBalancers"] == []
