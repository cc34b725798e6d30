//! What a run may do with Tallyfy, decided once from its connection and `--dry-run`: send
//! through a client, or (a dry run) only read through one, or read nothing at all (a dry run
//! with no credentials). A plan that sends carries the client it sends through, and only
//! `Link::Send` gives one, so an offline run cannot make such a plan.

use std::sync::Arc;

use crate::api::Client;

/// How a run's rows reach Tallyfy.
#[derive(Clone)]
pub(crate) enum Link {
    /// A real run: creates, updates and removals are sent through this client.
    Send(Arc<Client>),
    /// A dry run: reads go through the client (none offline: nothing is read); nothing that
    /// changes a guest is sent.
    DryRun(Option<Arc<Client>>),
}

impl Link {
    /// The link of a run with `client` (none offline). With no client nothing can be sent, so
    /// the run is a dry run (config makes a run offline only when it is one).
    pub(crate) fn new(client: Option<Arc<Client>>, dry_run: bool) -> Self {
        match client {
            Some(client) if !dry_run => Link::Send(client),
            client => Link::DryRun(client),
        }
    }

    /// The client reads go through, if any.
    pub(crate) fn client(&self) -> Option<&Arc<Client>> {
        match self {
            Link::Send(client) => Some(client),
            Link::DryRun(client) => client.as_ref(),
        }
    }
}
