//! The Tallyfy guests API client: one HTTP connection pool, one pacer and one retry policy for
//! the whole run. Wire types are in `model`, failures in `error`, pacing and the retry table in
//! their own modules.

mod auth;
mod client;
pub mod clock;
mod error;
mod gate;
pub mod invite_cap;
mod latency;
mod lenient;
pub mod members;
pub mod model;
pub mod pacing;
pub mod paging;
mod readback;
mod retry;
pub mod settings;
mod transport;

pub use client::{Client, ClientStats, Reply, organization_label};
pub use error::{ApiError, ApiErrorKind, ErrorBody, FieldError};
pub use gate::Gate;
pub use model::{Guest, GuestStats, NewGuest, NewGuestId, Page, Pagination};
pub use readback::{READ_LAG, ReadBack};
pub use settings::{ApiConfig, Credentials, SettingError, Transport};
