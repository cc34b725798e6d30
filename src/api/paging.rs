//! Walking the whole guest list: page 1 reveals `total_pages`, the rest are fetched
//! concurrently (a sliding window, always `concurrency` in flight) and handed over in server
//! order. Shared by `export` and the import's prefetch.

use std::collections::BTreeMap;

use futures::StreamExt;
use futures::stream::FuturesUnordered;

use super::{ApiError, Client, Page};

/// What we ask for; the server may cap it lower, and its answer is what counts.
pub const PER_PAGE: u64 = 100;

/// What a walk saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Walk {
    /// Guests read.
    pub guests: u64,
    /// Pages read.
    pub pages: u64,
    /// `total` as the last page reported it.
    pub reported_total: u64,
}

/// Calls `on_page` for every page in server order, `concurrency` pages in flight at once. Stops
/// at the first empty page; if a page reports more pages than we knew of (guests were added
/// while we paged), goes on for the new ones. Warns when the count differs from `total`.
///
/// Bounded whatever the server says: a page that repeats an earlier one stops the walk, and so
/// does a `total` or a count of guests read beyond `--max-guests` (a server claiming 3×10¹²
/// guests, every page full of new ones, is otherwise walked until killed).
pub async fn each_page<E: From<ApiError>>(
    client: &Client,
    with_stats: bool,
    concurrency: usize,
    mut on_page: impl FnMut(&Page) -> Result<(), E>,
) -> Result<Walk, E> {
    let mut walk = Walk::default();
    // Pages already seen, by a fingerprint of their guests: a server that ignores `page`
    // answers the same page for ever.
    let mut seen = std::collections::HashSet::new();
    let max_guests = client.max_guests();
    let mut visit = |page: &Page, number: u64, walk: &mut Walk| -> Result<bool, E> {
        if !page.guests.is_empty() && !seen.insert(fingerprint(page)) {
            return Err(bad_list(format!(
                "page {number} holds the same guests as an earlier page (does the server ignore `page`?)"
            ))
            .into());
        }
        walk.pages += 1;
        walk.guests += page.guests.len() as u64;
        if walk.guests > max_guests {
            return Err(too_many(max_guests, "has").into());
        }
        walk.reported_total = page.pagination.total;
        on_page(page)?;
        Ok(page.guests.is_empty())
    };
    let first = client.list_page(1, PER_PAGE, with_stats).await?.value;
    // A total beyond the bound stops the walk before it starts, rather than after a million.
    if first.pagination.total > max_guests {
        return Err(too_many(max_guests, "claims").into());
    }
    // The server's own numbers are not trusted blindly: the pages its `total` allows, with
    // room for guests added while we read, bound the walk.
    let per_page = match first.pagination.per_page {
        0 => (first.guests.len() as u64).max(1),
        n => n,
    };
    let allowed = first.pagination.total.div_ceil(per_page);
    let limit = allowed.saturating_add((allowed / 10).max(10));
    let mut wanted = first.pagination.total_pages;
    let mut total_pages = wanted.clamp(1, limit);
    let mut ended = visit(&first, 1, &mut walk)?;
    // Pages are asked for in order with `concurrency` always in flight: a slow page holds back
    // the visiting of the pages after it, never the asking (an ordered `buffered` stream
    // refilled a slot only once the oldest page came). Pages that come early wait in `early`;
    // none is asked for beyond `window` pages past the next one to visit, which bounds memory.
    let concurrency = concurrency.max(1);
    let window = concurrency as u64 * 4;
    let mut in_flight = FuturesUnordered::new();
    let mut early: BTreeMap<u64, Page> = BTreeMap::new();
    let (mut asked, mut next) = (1u64, 2u64);
    while !ended {
        while in_flight.len() < concurrency && asked < total_pages && asked < next + window {
            asked += 1;
            let number = asked;
            in_flight.push(async move { (number, client.list_page(number, PER_PAGE, with_stats).await) });
        }
        let Some((number, reply)) = in_flight.next().await else {
            break;
        };
        let page = reply?.value;
        wanted = wanted.max(page.pagination.total_pages);
        total_pages = total_pages.max(wanted.min(limit));
        early.insert(number, page);
        while let Some(page) = early.remove(&next) {
            ended = visit(&page, next, &mut walk)?;
            next += 1;
            if ended {
                break;
            }
        }
    }
    if !ended && wanted > limit {
        return Err(bad_list(format!(
            "it reports {wanted} pages, but its total of {} guests allows about {allowed}: stopped after {limit} pages",
            first.pagination.total
        ))
        .into());
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

/// The first and last guest of a page, hashed: equal for a page served twice.
fn fingerprint(page: &Page) -> u64 {
    let first = page.guests.first().map_or("", |g| g.email.as_str());
    let last = page.guests.last().map_or("", |g| g.email.as_str());
    xxhash_rust::xxh3::xxh3_64(format!("{first}\n{last}\n{}", page.guests.len()).as_bytes())
}

fn too_many(max: u64, claims: &'static str) -> ApiError {
    ApiError {
        kind: super::ApiErrorKind::TooManyGuests { max, claims },
        ..bad_list(String::new())
    }
}

fn bad_list(reason: String) -> ApiError {
    ApiError {
        kind: super::ApiErrorKind::BadList(reason),
        status: None,
        request_id: None,
        attempts: 0,
        unanswered: false,
    }
}
