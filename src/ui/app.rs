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

    /// The upload's columns under the run's mapping, read once per mapping and sheet.
    pub(super) fn columns(&self, id: &str, run: &RunDir, meta: &Meta) -> Result<Arc<Columns>, String> {
        let mut cache = self.columns.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((map, sheet, columns)) = cache.get(id)
            && (map, sheet) == (&meta.map, &meta.sheet)
        {
            return Ok(Arc::clone(columns));
        }
        let columns = Arc::new(table::columns(&run.upload(meta), &meta.map, meta.sheet.as_deref())?);
        cache.insert(
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
