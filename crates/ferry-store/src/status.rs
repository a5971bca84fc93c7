//! What the controller publishes: each app's status, and the settings
//! the leader renders with. Both are written fenced by the lease.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use ferry_core::AppStatus;

use crate::error::{build, Result};
use crate::items::{sort_key, SettingsItem, StatusItem};
use crate::layout::{PK_META, PK_STATUS, SK_SETTINGS};
use crate::lease::Fence;
use crate::store::Store;

impl Store {
    /// Publishes the settings the leader renders with, if `fence` still
    /// holds the lease, so that `ferry diff` plans exactly as it would.
    pub async fn put_controller_settings(
        &self,
        settings: &ferry_core::Settings,
        fence: &Fence,
    ) -> Result<()> {
        let item = self.encode(&SettingsItem::new(settings), "meta/settings")?;
        let put = Put::builder().table_name(&self.table).set_item(Some(item));
        let items = vec![TransactWriteItem::builder()
            .put(build(put.build(), "settings Put")?)
            .build()];
        self.transact(items, "meta/settings", Some(fence)).await
    }

    /// The settings the last leader published, or `None` if no controller
    /// has led since they were introduced.
    pub async fn controller_settings(&self) -> Result<Option<ferry_core::Settings>> {
        let out = self.get_item(PK_META, SK_SETTINGS, "meta/settings").await?;
        out.item()
            .map(|item| {
                let item: SettingsItem = self.decode(item, "meta/settings")?;
                Ok(item.settings.0)
            })
            .transpose()
    }

    /// Writes an app's status, if `fence` still holds the lease.
    pub async fn put_status(&self, status: &AppStatus, fence: &Fence) -> Result<()> {
        let item = self.encode(&StatusItem::new(status), &status.name)?;
        let put = Put::builder().table_name(&self.table).set_item(Some(item));
        let items = vec![TransactWriteItem::builder()
            .put(build(put.build(), "status Put")?)
            .build()];
        self.transact(items, &status.name, Some(fence)).await
    }

    /// An app's status, or `None` before the controller first wrote it.
    pub async fn get_status(&self, app: &str) -> Result<Option<AppStatus>> {
        let out = self.get_item(PK_STATUS, app, app).await?;
        out.item()
            .map(|item| {
                let item: StatusItem = self.decode(item, app)?;
                Ok(item.status.0)
            })
            .transpose()
    }

    /// Every status, by app name.
    pub async fn list_statuses(&self) -> Result<HashMap<String, AppStatus>> {
        let items = self.query(PK_STATUS, false).await?;
        items
            .iter()
            .map(|item| {
                let item: StatusItem = self.decode(item, sort_key(item, PK_STATUS))?;
                Ok((item.sk, item.status.0))
            })
            .collect()
    }
}
