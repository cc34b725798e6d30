//! A command's way to Tallyfy, as `config` decided it, made live: the configured organization
//! as it is, or the built-in sandbox started here. Above both `config` and `sandbox`, so that
//! neither needs the other's types to do it.

use crate::api::ApiConfig;
use crate::config::{Online, Reach};
use crate::error::RunError;
use crate::sandbox::{Sandbox, builtin};

/// Where an export's, a doctor's or an import's requests go, and the sandbox serving them when
/// it is the built-in one (keep it alive while the configuration is used).
pub async fn online(online: Online) -> Result<(ApiConfig, Option<Sandbox>), RunError> {
    match online {
        Online::Api(config) => Ok((*config, None)),
        Online::Sandbox(transport) => {
            let (sandbox, config) = builtin(transport)
                .await
                .map_err(|e| RunError::io("cannot start the built-in sandbox", e))?;
            Ok((config, Some(sandbox)))
        }
    }
}

/// `online` for an import or undo, which may be an offline dry run: `None` then.
pub async fn reach(reach: Reach) -> Result<Option<(ApiConfig, Option<Sandbox>)>, RunError> {
    match reach.online() {
        Some(to) => online(to).await.map(Some),
        None => Ok(None),
    }
}
