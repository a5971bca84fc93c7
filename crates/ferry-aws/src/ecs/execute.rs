//! The executor of ECS actions, recording each write's answer in the cache.

use aws_sdk_ecs::operation::create_service::builders::CreateServiceFluentBuilder;
use aws_sdk_ecs::operation::update_service::builders::UpdateServiceFluentBuilder;

use super::requests::*;
use super::task_definition;
use super::*;
use crate::resolve::Resolve;

impl Ecs {
    /// Records the service a write's response returned.
    pub(super) fn record(
        &self,
        seq: crate::cache::Seq,
        service: Option<&ecs::Service>,
        tags: Option<&BTreeMap<String, String>>,
    ) {
        let Some(service) = service else {
            return;
        };
        match cacheable(service) {
            Some(mut observed) => {
                // UpdateService answers without tags; they did not change.
                if observed.tags.is_empty() {
                    observed.tags = tags.cloned().unwrap_or_else(|| {
                        self.services
                            .get(&observed.name)
                            .map(|s| s.tags)
                            .unwrap_or_default()
                    });
                }
                self.services.put(seq, observed);
            }
            None => {
                if let Some(name) = service.service_name() {
                    self.services.remove(seq, name);
                }
            }
        }
    }

    /// Runs a plan's actions in order. Stops at the first failure and says
    /// how far it got; the caller reconciles again later, and the planner
    /// then plans what is left.
    /// Executes one ECS action of a plan. `registered` carries the
    /// revisions registered earlier in the same plan; `target_group` turns
    /// a target group name into its ARN. Traffic actions are not ECS's:
    /// they are refused.
    pub async fn execute(
        &self,
        action: &Action,
        registered: &mut BTreeMap<String, String>,
        names: Resolve<'_>,
    ) -> Result<()> {
        match action {
            Action::Autoscaling(change) => {
                let Some(autoscaling) = &self.autoscaling else {
                    return Err(Error::Build {
                        what: "autoscaling request",
                        message: format!("Application Auto Scaling is not configured: {change}"),
                    });
                };
                autoscaling.execute(change, names.target_group).await?;
            }
            Action::Traffic(_)
            | Action::Alarm(_)
            | Action::CreateSchedule { .. }
            | Action::UpdateSchedule { .. }
            | Action::DeleteSchedule { .. } => {
                return Err(Error::Build {
                    what: "ECS request",
                    message: format!("not an ECS action: {action}"),
                })
            }
            Action::RegisterTaskDefinition { spec, tags } => {
                let td = match self.register(spec, tags).await {
                    Ok(td) => td,
                    Err(err) => {
                        self.cache().uncertain_families.insert(spec.family.clone());
                        return Err(err);
                    }
                };
                registered.insert(spec.family.clone(), td.arn.clone());
                self.remember_task_definition(td, true);
                ferry_call::failpoint::hit("ecs.registered").await;
            }
            Action::CreateService {
                service,
                task_definition,
            } => {
                let arn = resolve(task_definition, registered)?;
                let links = service
                    .load_balancers
                    .iter()
                    .map(|l| load_balancer(l, names))
                    .collect::<Result<Vec<_>>>()?;
                self.create_service(service, &arn, links).await?;
            }
            Action::UpdateService(update) => {
                let name = &update.name;
                let request = self.update_service_request(update, registered, names)?;
                let seq = self.services.begin();
                let out = self
                    .caller
                    .call(
                        SERVICE,
                        "UpdateService",
                        Bucket::ServiceWrites,
                        name,
                        || request.clone().send(),
                    )
                    .await?;
                self.record(seq, out.service(), None);
            }
            Action::DeleteService { name } => {
                let seq = self.services.begin();
                let out = self
                    .caller
                    .call(
                        SERVICE,
                        "DeleteService",
                        Bucket::ServiceWrites,
                        name,
                        || {
                            self.client
                                .delete_service()
                                .cluster(&self.cluster)
                                .service(name)
                                .send()
                        },
                    )
                    .await?;
                // DRAINING until its tasks stop; then the next read drops it.
                self.record(seq, out.service(), None);
            }
        }
        Ok(())
    }

    async fn register(
        &self,
        spec: &TaskDefinitionSpec,
        tags: &BTreeMap<String, String>,
    ) -> Result<ObservedTaskDefinition> {
        let request = task_definition::register_request(&self.client, spec, tags)?;
        let out = self
            .caller
            .call(
                SERVICE,
                "RegisterTaskDefinition",
                Bucket::TaskDefinitionWrites,
                &spec.family,
                || request.clone().send(),
            )
            .await?;
        let td = out.task_definition().ok_or(Error::Incomplete {
            service: SERVICE,
            operation: "RegisterTaskDefinition",
            resource: spec.family.clone(),
            what: "taskDefinition",
        })?;
        let arn = td.task_definition_arn().ok_or(Error::Incomplete {
            service: SERVICE,
            operation: "RegisterTaskDefinition",
            resource: spec.family.clone(),
            what: "taskDefinitionArn",
        })?;
        Ok(ObservedTaskDefinition {
            arn: arn.to_owned(),
            spec: normalize::task_definition(td),
            tags: tags.clone(),
        })
    }

    /// The UpdateService request of `update`: only what it changes is
    /// sent. An empty capacity provider strategy is sent as such: it
    /// returns the service to its launch type.
    pub(super) fn update_service_request(
        &self,
        update: &ServiceUpdate,
        registered: &BTreeMap<String, String>,
        names: Resolve<'_>,
    ) -> Result<UpdateServiceFluentBuilder> {
        let arn = update
            .task_definition
            .as_ref()
            .map(|r| resolve(r, registered))
            .transpose()?;
        // An empty list detaches the service from every group.
        let links = update
            .load_balancers
            .as_ref()
            .map(|links| {
                links
                    .iter()
                    .map(|l| load_balancer(l, names))
                    .collect::<Result<Vec<_>>>()
            })
            .transpose()?;
        Ok(self
            .client
            .update_service()
            .cluster(&self.cluster)
            .service(&update.name)
            .set_desired_count(update.desired_count.map(count))
            .set_task_definition(arn)
            .set_network_configuration(
                update
                    .network
                    .as_ref()
                    .map(network_configuration)
                    .transpose()?,
            )
            .set_load_balancers(links)
            .set_deployment_configuration(
                update
                    .deployment
                    .as_ref()
                    .map(deployment_configuration)
                    .transpose()?,
            )
            .set_health_check_grace_period_seconds(update.health_check_grace_period.map(count))
            // An empty list returns the service to its launch type.
            .set_capacity_provider_strategy(
                update
                    .capacity_provider_strategy
                    .as_deref()
                    .map(capacity_provider_items)
                    .transpose()?,
            )
            .set_enable_execute_command(update.enable_execute_command)
            .force_new_deployment(update.force_new_deployment))
    }

    /// The CreateService request of `service`: with the FARGATE launch
    /// type or its capacity provider strategy, never both.
    pub(super) fn create_service_request(
        &self,
        service: &ServiceSpec,
        task_definition_arn: &str,
        links: Vec<ecs::LoadBalancer>,
    ) -> Result<CreateServiceFluentBuilder> {
        let placement = Placement::of(&service.capacity_provider_strategy)?;
        Ok(self
            .client
            .create_service()
            .cluster(&self.cluster)
            .service_name(&service.name)
            .task_definition(task_definition_arn)
            .desired_count(count(service.desired_count))
            .set_launch_type(placement.launch_type)
            .set_capacity_provider_strategy(placement.capacity_provider_strategy)
            .set_enable_execute_command(service.enable_execute_command.then_some(true))
            .network_configuration(network_configuration(&service.network)?)
            .deployment_configuration(deployment_configuration(&service.deployment)?)
            .propagate_tags(ecs::PropagateTags::Service)
            .enable_ecs_managed_tags(true)
            .set_health_check_grace_period_seconds(
                (!links.is_empty())
                    .then_some(service.health_check_grace_period)
                    .flatten()
                    .map(count),
            )
            .set_load_balancers((!links.is_empty()).then_some(links))
            .set_tags(Some(ecs_tags(&service.tags)))
            .client_token(ferry_call::client_token()))
    }

    async fn create_service(
        &self,
        service: &ServiceSpec,
        task_definition_arn: &str,
        links: Vec<ecs::LoadBalancer>,
    ) -> Result<()> {
        let request = self.create_service_request(service, task_definition_arn, links)?;
        let seq = self.services.begin();
        let out = match self
            .caller
            .call(
                SERVICE,
                "CreateService",
                Bucket::ServiceWrites,
                &service.name,
                || request.clone().send(),
            )
            .await
        {
            Ok(out) => out,
            Err(err) if already_exists(&err) => {
                // The name is ACTIVE though no read showed it: created by an
                // earlier term (or another hand) moments ago, not visible
                // yet. Describe it; until ECS shows it, the reconcile fails
                // and is retried, and nothing is created twice.
                let (found, _) = self
                    .describe_services(std::slice::from_ref(&service.name))
                    .await?;
                let Some(existing) = found.into_iter().next() else {
                    return Err(err);
                };
                self.services.put(seq, existing);
                return Ok(());
            }
            Err(err) => return Err(err),
        };
        self.services.created_now(&service.name);
        self.record(seq, out.service(), Some(&service.tags));
        Ok(())
    }
}

/// Whether CreateService was refused because an ACTIVE service has the
/// name ("Creation of service was not idempotent.", as ECS answers a
/// second CreateService of a live name without the first one's token).
pub(super) fn already_exists(err: &Error) -> bool {
    matches!(err, Error::Call { code: Some(code), message, .. }
        if code == "InvalidParameterException" && message.contains("not idempotent"))
}
