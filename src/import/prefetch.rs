//! Prefetch: every existing guest of the organization (all pages), so dedupe can tell which rows
//! already exist without a request per row. Runs while the file is being read.

use super::dedupe::Emails;
use crate::api::paging::each_page;
use crate::api::{ApiError, Client};

/// The most emails reserved up front; a larger organization grows the table as usual.
const MAX_RESERVE: u64 = 10_000_000;

/// `keep_emails`: also keep each guest's email (for `--report-missing`).
pub async fn existing_guests(client: &Client, concurrency: usize, keep_emails: bool) -> Result<Emails, ApiError> {
    let mut existing = Emails::new(keep_emails);
    let walk = each_page(client, false, concurrency, |page| {
        if existing.is_empty() {
            // Sized once from the API's total; a nonsense total must not become a huge allocation.
            existing.reserve(page.pagination.total.min(MAX_RESERVE) as usize);
        }
        for guest in &page.guests {
            existing.insert_existing(guest);
        }
        Ok::<_, ApiError>(())
    })
    .await?;
    let pages = if walk.pages == 1 { "page" } else { "pages" };
    tracing::info!("{} existing guests fetched ({} {pages})", existing.len(), walk.pages);
    Ok(existing)
}
