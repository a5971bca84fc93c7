use serde_json::json;

use super::*;

/// One update per setting, each changing only that one.
fn each_single_change() -> Vec<ServiceUpdate> {
    let update = || ServiceUpdate::new("acme_web");
    vec![
        ServiceUpdate {
            desired_count: Some(0),
            ..update()
        },
        ServiceUpdate {
            task_definition: Some(TaskDefinitionRef::Registered("acme_web".into())),
            ..update()
        },
        ServiceUpdate {
            network: Some(NetworkSpec {
                subnets: vec!["subnet-1".into()],
                security_groups: Vec::new(),
                assign_public_ip: false,
            }),
            ..update()
        },
        ServiceUpdate {
            load_balancers: Some(Vec::new()),
            ..update()
        },
        ServiceUpdate {
            health_check_grace_period: Some(30),
            ..update()
        },
        ServiceUpdate {
            deployment: Some(DeploymentSpec::default()),
            ..update()
        },
        ServiceUpdate {
            capacity_provider_strategy: Some(Vec::new()),
            ..update()
        },
        ServiceUpdate {
            enable_execute_command: Some(false),
            ..update()
        },
        ServiceUpdate {
            force_new_deployment: true,
            ..update()
        },
    ]
}

#[test]
fn an_update_changes_anything_only_when_some_setting_or_a_deployment_is_asked_for() {
    assert!(!ServiceUpdate::new("acme_web").changes_anything());
    for update in each_single_change() {
        assert!(update.changes_anything(), "{update:?}");
    }
}

/// The plan's JSON keeps the shape the struct variant had: the variant's
/// tag beside snake_case fields, the capacity and exec left out when
/// unchanged.
#[test]
fn an_update_serializes_as_the_struct_variant_did() {
    let scale_down = Action::UpdateService(ServiceUpdate {
        desired_count: Some(0),
        ..ServiceUpdate::new("acme_web")
    });
    assert_eq!(
        serde_json::to_value(&scale_down).expect("json"),
        json!({
            "action": "updateService",
            "name": "acme_web",
            "desired_count": 0,
            "task_definition": null,
            "network": null,
            "load_balancers": null,
            "health_check_grace_period": null,
            "deployment": null,
            "force_new_deployment": false,
        })
    );
    let exec_on = Action::new_deployment("acme_web", None, Some(true));
    let json = serde_json::to_value(&exec_on).expect("json");
    assert_eq!(json["enable_execute_command"], json!(true));
    assert_eq!(json["force_new_deployment"], json!(true));
    assert!(json.get("capacity_provider_strategy").is_none());
}
