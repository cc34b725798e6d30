//! Walking the whole guest list: page 1 reveals `total_pages`, the rest are fetched
//! concurrently (a sliding window, always `concurrency` in flight) and handed over in server
//! order. Shared by `export` and the import's prefetch.

use std::collections::{BTreeMap, HashSet};

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
    on_page: impl FnMut(&Page) -> Result<(), E>,
) -> Result<Walk, E> {
    let mut visitor = Visitor {
        walk: Walk::default(),
        seen: HashSet::new(),
        max_guests: client.max_guests(),
        on_page,
    };
    let first = client.list_page(1, PER_PAGE, with_stats).await?.value;
    // A total beyond the bound stops the walk before it starts, rather than after a million.
    if first.pagination.total > visitor.max_guests {
        return Err(too_many(visitor.max_guests, "claims", "guests").into());
    }
    let mut bounds = Bounds::from_first(&first);
    let ended =
        visitor.visit(&first, 1)? || the_rest(client, with_stats, concurrency, &mut bounds, &mut visitor).await?;
    if !ended && bounds.wanted > bounds.limit {
        return Err(bad_list(
            "guest",
            format!(
                "it reports {} pages, but its total of {} guests allows about {}: stopped after {} pages",
                bounds.wanted, first.pagination.total, bounds.allowed, bounds.limit
            ),
        )
        .into());
    }
    let walk = visitor.walk;
    if walk.guests != walk.reported_total {
        tracing::warn!(
            "the guest list changed while it was read: the API reports {} guests, {} were read",
            walk.reported_total,
            walk.guests
        );
    }
    Ok(walk)
}

/// Pages 2 onwards, asked for in order with `concurrency` always in flight: a slow page holds
/// back the visiting of the pages after it, never the asking (an ordered `buffered` stream
/// refilled a slot only once the oldest page came). Pages that come early wait in `early`;
/// none is asked for beyond `window` pages past the next one to visit, which bounds memory.
/// Whether a page ended the walk (an empty one).
async fn the_rest<E: From<ApiError>>(
    client: &Client,
    with_stats: bool,
    concurrency: usize,
    bounds: &mut Bounds,
    visitor: &mut Visitor<impl FnMut(&Page) -> Result<(), E>>,
) -> Result<bool, E> {
    let concurrency = concurrency.max(1);
    let window = concurrency as u64 * 4;
    let mut in_flight = FuturesUnordered::new();
    let mut early: BTreeMap<u64, Page> = BTreeMap::new();
    let (mut asked, mut next) = (1u64, 2u64);
    loop {
        while in_flight.len() < concurrency && asked < bounds.total_pages && asked < next + window {
            asked += 1;
            let number = asked;
            in_flight.push(async move { (number, client.list_page(number, PER_PAGE, with_stats).await) });
        }
        let Some((number, reply)) = in_flight.next().await else {
            return Ok(false);
        };
        let page = reply?.value;
        bounds.wanted = bounds.wanted.max(page.pagination.total_pages);
        bounds.total_pages = bounds.total_pages.max(bounds.wanted.min(bounds.limit));
        early.insert(number, page);
        while let Some(page) = early.remove(&next) {
            let ended = visitor.visit(&page, next)?;
            next += 1;
            if ended {
                return Ok(true);
            }
        }
    }
}

/// How far a walk goes. The server's own numbers are not trusted blindly: the pages its
/// `total` allows, with room for entries added while we read, bound the walk.
pub(crate) struct Bounds {
    /// The pages the first page's `total` allows.
    pub(crate) allowed: u64,
    /// The most pages read: `allowed` and a tenth more (at least 10).
    pub(crate) limit: u64,
    /// The most pages any page has reported.
    pub(crate) wanted: u64,
    /// The pages to ask for: `wanted`, within 1..=`limit`.
    pub(crate) total_pages: u64,
}

impl Bounds {
    fn from_first(first: &Page) -> Self {
        Bounds::of(&first.pagination, first.guests.len())
    }

    /// From the first page's pagination and the entries it holds.
    pub(crate) fn of(pagination: &super::Pagination, on_first_page: usize) -> Self {
        let per_page = match pagination.per_page {
            0 => (on_first_page as u64).max(1),
            n => n,
        };
        let allowed = pagination.total.div_ceil(per_page);
        let limit = allowed.saturating_add((allowed / 10).max(10));
        let wanted = pagination.total_pages;
        Bounds {
            allowed,
            limit,
            wanted,
            total_pages: wanted.clamp(1, limit),
        }
    }
}

/// Hands the pages over in order, counting them, and stops a walk that repeats a page or
/// reads more than `--max-guests`.
struct Visitor<F> {
    walk: Walk,
    /// Pages already seen, by a fingerprint of their guests: a server that ignores `page`
    /// answers the same page for ever.
    seen: HashSet<u64>,
    max_guests: u64,
    on_page: F,
}

impl<E: From<ApiError>, F: FnMut(&Page) -> Result<(), E>> Visitor<F> {
    /// Page `number`, in order; whether it ends the walk (it is empty).
    fn visit(&mut self, page: &Page, number: u64) -> Result<bool, E> {
        if !page.guests.is_empty() && !self.seen.insert(fingerprint(page)) {
            return Err(bad_list(
                "guest",
                format!("page {number} holds the same guests as an earlier page (does the server ignore `page`?)"),
            )
            .into());
        }
        self.walk.pages += 1;
        self.walk.guests += page.guests.len() as u64;
        if self.walk.guests > self.max_guests {
            return Err(too_many(self.max_guests, "has", "guests").into());
        }
        self.walk.reported_total = page.pagination.total;
        (self.on_page)(page)?;
        Ok(page.guests.is_empty())
    }
}

/// The first and last guest of a page, hashed: equal for a page served twice.
fn fingerprint(page: &Page) -> u64 {
    let first = page.guests.first().map_or("", |g| g.email.as_str());
    let last = page.guests.last().map_or("", |g| g.email.as_str());
    page_fingerprint(first, last, page.guests.len())
}

/// A page of any list by its first and last entries' emails and its length, hashed: equal for
/// a page served twice (a server that ignores `page`).
pub(crate) fn page_fingerprint(first: &str, last: &str, len: usize) -> u64 {
    xxhash_rust::xxh3::xxh3_64(format!("{first}\n{last}\n{len}").as_bytes())
}

/// More than `--max-guests` entries in the `list` (`guests`, `members`): it `claims` or `has`.
pub(crate) fn too_many(max: u64, claims: &'static str, list: &'static str) -> ApiError {
    ApiError {
        kind: super::ApiErrorKind::TooManyGuests { max, claims, list },
        ..bad_list(list, String::new())
    }
}

/// The `list` (`guest`, `members`) cannot be walked to its end, for `reason`.
pub(crate) fn bad_list(list: &'static str, reason: String) -> ApiError {
    ApiError {
        kind: super::ApiErrorKind::BadList { list, reason },
        status: None,
        request_id: None,
        attempts: 0,
        unanswered: false,
    }
}
