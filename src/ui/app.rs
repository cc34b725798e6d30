//! The server's state: where the runs are, their jobs, the organization the page reaches (or
//! what it asks for when none is configured), the confirmations waiting, and each run's columns
//! read once per mapping. Shared by the routes, the views and the event streams.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use super::jobs::Hub;
use super::runs::{Meta, RunDir, Runs};
use super::table::{self, Columns};
use crate::config::{ApiConfig, Transport};
use crate::rate::Rate;

/// The organization the page's jobs go to, and its name for people.
#[derive(Clone)]
pub(super) struct Reached {
    /// Where and as whom.
    pub api: ApiConfig,
    /// `Name (org id)`, or the id when the API does not say.
    pub organization: String,
}

/// What the page asks for when no credentials are configured.
#[derive(Clone)]
pub(super) struct Ask {
    /// Pacing and timeouts.
    pub transport: Transport,
    /// `--base-url`.
    pub base_url: String,
    /// `--org`, when given.
    pub org: Option<String>,
}

/// Each run's columns, with the mapping and the sheet they were read under.
pub(super) type ColumnCache = HashMap<String, (Vec<(String, String)>, Option<String>, Arc<Columns>)>;

/// The server's state.
pub(super) struct App {
    /// The runs' folders.
    pub runs: Runs,
    /// Their jobs.
    pub hub: Arc<Hub>,
    /// The organization, once known (a token typed in sets it).
    pub reach: RwLock<Option<Reached>>,
    /// What to ask for, when no credentials are configured.
    pub ask: Option<Ask>,
    /// Each run's columns.
    pub columns: Mutex<ColumnCache>,
    /// Held while a view reads an upload's columns: one workbook in memory at a time for the
    /// views, however many requests arrive.
    pub reading: Mutex<()>,
    /// `--invite-rate`, for the timing of the creates.
    pub invite_rates: Vec<Rate>,
}

impl App {
    /// The organization the page reaches, if known.
    pub(super) fn reached(&self) -> Option<Reached> {
        self.reach
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The organization, as people know it.
    pub(super) fn organization(&self) -> String {
        self.reached()
            .map_or_else(|| "the organization".to_string(), |reached| reached.organization)
    }

    /// The upload's columns under the run's mapping and sheet, read once per mapping and sheet,
    /// and never while a job of the run reads the file itself (a workbook is read whole: the
    /// page would hold it twice). The cache's lock is not held while reading, so other runs'
    /// pages do not wait.
    pub(super) fn columns(&self, id: &str, run: &RunDir, meta: &Meta) -> Result<Arc<Columns>, String> {
        let cached = || {
            let cache = self.columns.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            cache
                .get(id)
                .filter(|(map, sheet, _)| (map, sheet) == (&meta.map, &meta.sheet))
                .map(|(_, _, columns)| Arc::clone(columns))
        };
        if let Some(columns) = cached() {
            return Ok(columns);
        }
        if self.hub.active(id) {
            return Err("the file is being checked: its columns show when that is done".into());
        }
        let _reading = self.reading.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Another request may have read them while this one waited.
        if let Some(columns) = cached() {
            return Ok(columns);
        }
        let columns = Arc::new(table::columns(
            &run.upload(meta),
            meta.shown(),
            &meta.map,
            meta.sheet.as_deref(),
        )?);
        self.columns
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(
                id.to_string(),
                (meta.map.clone(), meta.sheet.clone(), Arc::clone(&columns)),
            );
        Ok(columns)
    }
}

/// Names the organization from `GET me/organizations`, as `doctor` does; its id when the API
/// does not say.
pub(super) async fn name(api: &ApiConfig) -> String {
    let lookup = async {
        let client = crate::api::Client::new(api).ok()?;
        Some(client.organization_label().await)
    };
    let label = tokio::time::timeout(std::time::Duration::from_secs(15), lookup).await;
    label.ok().flatten().unwrap_or_else(|| api.org.clone())
}
