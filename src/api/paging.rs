//! Walking the whole guest list: page 1 reveals `total_pages`, the rest are fetched
//! concurrently and handed over in server order. Shared by `export` and the import's prefetch.

use futures::{StreamExt, TryStreamExt};

use super::{ApiError, Client, Page};

/// What we ask for; the server may cap it lower, and its answer is what counts.
pub const PER_PAGE: u64 = 100;

/// What a walk saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Walk {
    pub guests: u64,
    pub pages: u64,
    /// `total` as the last page reported it.
    pub reported_total: u64,
}

/// Calls `on_page` for every page in server order, `concurrency` pages in flight at once. Stops
/// at the first empty page; if a page reports more pages than we knew of (guests were added
/// while we paged), goes on for the new ones. Warns when the count differs from `total`.
pub async fn each_page<E: From<ApiError>>(
    client: &Client,
    with_stats: bool,
    concurrency: usize,
    mut on_page: impl FnMut(&Page) -> Result<(), E>,
) -> Result<Walk, E> {
    let mut walk = Walk::default();
    let mut visit = |page: &Page, walk: &mut Walk| -> Result<bool, E> {
        walk.pages += 1;
        walk.guests += page.guests.len() as u64;
        walk.reported_total = page.pagination.total;
        on_page(page)?;
        Ok(page.guests.is_empty())
    };
    let first = client.list_page(1, PER_PAGE, with_stats).await?.value;
    let mut total_pages = first.pagination.total_pages.max(1);
    let mut ended = visit(&first, &mut walk)?;
    let mut next = 2;
    while !ended && next <= total_pages {
        let mut pages = futures::stream::iter(next..=total_pages)
            .map(|number| client.list_page(number, PER_PAGE, with_stats))
            .buffered(concurrency.max(1))
            .map_ok(|reply| reply.value);
        while let Some(page) = pages.try_next().await? {
            next += 1;
            total_pages = total_pages.max(page.pagination.total_pages);
            ended = visit(&page, &mut walk)?;
            if ended {
                break;
            }
        }
    }
    if walk.guests != walk.reported_total {
        tracing::warn!(
            "the guest list changed while it was read: the API reports {} guests, {} were read",
            walk.reported_total,
            walk.guests
        );
    }
    Ok(walk)
}
