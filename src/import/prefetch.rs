//! Prefetch: every existing guest of the organization (all pages), so dedupe can tell which rows
//! already exist without a request per row. Runs while the file is being read.

use super::dedupe::Existing;
use crate::api::paging::each_page;
use crate::api::{ApiError, Client};

pub async fn existing_guests(client: &Client, concurrency: usize) -> Result<Existing, ApiError> {
    let mut existing = Existing::default();
    let walk = each_page(client, false, concurrency, |page| {
        for guest in &page.guests {
            existing.insert(&guest.email, &guest.id);
        }
        Ok::<_, ApiError>(())
    })
    .await?;
    let pages = if walk.pages == 1 { "page" } else { "pages" };
    tracing::info!("{} existing guests fetched ({} {pages})", existing.len(), walk.pages);
    Ok(existing)
}
