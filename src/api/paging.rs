//! Walking one of the organization's whole lists (its guests, its members): page 1 reveals
//! `total_pages`, the rest are fetched concurrently (a sliding window, always `concurrency` in
//! flight) and handed over in server order, within the same bounds for both. Shared by `export`
//! and the import's prefetch.

use std::collections::{BTreeMap, HashSet};

use futures::StreamExt;
use futures::stream::FuturesUnordered;

use super::members::MemberPage;
use super::{ApiError, Client, Page, Pagination};

/// What we ask for; the server may cap it lower, and its answer is what counts.
pub const PER_PAGE: u64 = 100;

/// What a walk saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Walk {
    /// Guests (or members) read.
    pub guests: u64,
    /// Pages read.
    pub pages: u64,
    /// `total` as the last page reported it.
    pub reported_total: u64,
}

/// A page of one of the organization's lists (guests, members), as a walk needs it.
pub trait Listed {
    /// Entries on the page.
    fn entries(&self) -> usize;
    /// Where the page stands in the list, as the server says.
    fn pagination(&self) -> &Pagination;
    /// The emails of its first and last entries (to tell a page served twice).
    fn ends(&self) -> (&str, &str);
}

impl Listed for Page {
    fn entries(&self) -> usize {
        self.guests.len()
    }

    fn pagination(&self) -> &Pagination {
        &self.pagination
    }

    fn ends(&self) -> (&str, &str) {
        fn email(guest: Option<&super::Guest>) -> &str {
            guest.map_or("", |g| g.email.as_str())
        }
        (email(self.guests.first()), email(self.guests.last()))
    }
}

impl Listed for MemberPage {
    fn entries(&self) -> usize {
        self.members.len()
    }

    fn pagination(&self) -> &Pagination {
        &self.pagination
    }

    fn ends(&self) -> (&str, &str) {
        fn email(member: Option<&super::members::Member>) -> &str {
            member.and_then(|m| m.email.as_deref()).unwrap_or_default()
        }
        (email(self.members.first()), email(self.members.last()))
    }
}

/// Which list a walk reads, in the words its errors use.
#[derive(Debug, Clone, Copy)]
struct List {
    /// `guest list`, `members list`: `guest`, `members`.
    name: &'static str,
    /// What it lists: `guests`, `members`.
    entries: &'static str,
}

const GUESTS: List = List {
    name: "guest",
    entries: "guests",
};
const MEMBERS: List = List {
    name: "members",
    entries: "members",
};

/// Calls `on_page` for every page of the guest list in server order, `concurrency` pages in
/// flight at once (see `walk`).
pub async fn each_page<E: From<ApiError>>(
    client: &Client,
    with_stats: bool,
    concurrency: usize,
    on_page: impl FnMut(&Page) -> Result<(), E>,
) -> Result<Walk, E> {
    let fetch = |number| async move { Ok(client.list_page(number, PER_PAGE, with_stats).await?.value) };
    walk(GUESTS, client.max_guests(), concurrency, fetch, on_page).await
}

/// Calls `on_page` for every page of the members list in server order, bounded as the guest
/// list is (see `walk`).
pub async fn each_member_page<E: From<ApiError>>(
    client: &Client,
    concurrency: usize,
    on_page: impl FnMut(&MemberPage) -> Result<(), E>,
) -> Result<Walk, E> {
    let fetch = |number| async move { Ok(client.members_page(number, PER_PAGE).await?.value) };
    walk(MEMBERS, client.max_guests(), concurrency, fetch, on_page).await
}

/// Page 1 reveals the pages, the rest are fetched concurrently and visited in server order.
/// Stops at the first empty page; if a page reports more pages than we knew of (entries were
/// added while we paged), goes on for the new ones. Warns when the count differs from `total`.
///
/// Bounded whatever the server says: a page that repeats an earlier one stops the walk, and so
/// does a `total` or a count of entries read beyond `max` (`--max-guests`: a server claiming
/// 3×10¹² guests, every page full of new ones, is otherwise walked until killed), and more
/// pages than the first page's `total` allows.
async fn walk<P, E, F, Fut>(
    list: List,
    max: u64,
    concurrency: usize,
    fetch: F,
    on_page: impl FnMut(&P) -> Result<(), E>,
) -> Result<Walk, E>
where
    P: Listed,
    E: From<ApiError>,
    F: Fn(u64) -> Fut,
    Fut: Future<Output = Result<P, ApiError>>,
{
    let mut visitor = Visitor {
        list,
        walk: Walk::default(),
        seen: HashSet::new(),
        max,
        on_page,
    };
    let first = fetch(1).await?;
    // A total beyond the bound stops the walk before it starts, rather than after a million.
    let total = first.pagination().total;
    if total > max {
        return Err(too_many(max, "claims", list.entries).into());
    }
    let mut bounds = Bounds::of(first.pagination(), first.entries());
    let ended = visitor.visit(&first, 1)? || the_rest(&fetch, concurrency, &mut bounds, &mut visitor).await?;
    if !ended && bounds.wanted > bounds.limit {
        return Err(bad_list(
            list.name,
            format!(
                "it reports {} pages, but its total of {total} {} allows about {}: stopped after {} pages",
                bounds.wanted, list.entries, bounds.allowed, bounds.limit
            ),
        )
        .into());
    }
    let walk = visitor.walk;
    if walk.guests != walk.reported_total {
        tracing::warn!(
            "the {} list changed while it was read: the API reports {} {}, {} were read",
            list.name,
            walk.reported_total,
            list.entries,
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
async fn the_rest<P, E, F, Fut>(
    fetch: &F,
    concurrency: usize,
    bounds: &mut Bounds,
    visitor: &mut Visitor<impl FnMut(&P) -> Result<(), E>>,
) -> Result<bool, E>
where
    P: Listed,
    E: From<ApiError>,
    F: Fn(u64) -> Fut,
    Fut: Future<Output = Result<P, ApiError>>,
{
    let concurrency = concurrency.max(1);
    let window = concurrency as u64 * 4;
    let mut in_flight = FuturesUnordered::new();
    let mut early: BTreeMap<u64, P> = BTreeMap::new();
    let (mut asked, mut next) = (1u64, 2u64);
    loop {
        while in_flight.len() < concurrency && asked < bounds.total_pages && asked < next + window {
            asked += 1;
            let number = asked;
            in_flight.push(async move { (number, fetch(number).await) });
        }
        let Some((number, reply)) = in_flight.next().await else {
            return Ok(false);
        };
        let page = reply?;
        bounds.wanted = bounds.wanted.max(page.pagination().total_pages);
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
struct Bounds {
    /// The pages the first page's `total` allows.
    allowed: u64,
    /// The most pages read: `allowed` and a tenth more (at least 10).
    limit: u64,
    /// The most pages any page has reported.
    wanted: u64,
    /// The pages to ask for: `wanted`, within 1..=`limit`.
    total_pages: u64,
}

impl Bounds {
    /// From the first page's pagination and the entries it holds.
    fn of(pagination: &Pagination, on_first_page: usize) -> Self {
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
    list: List,
    walk: Walk,
    /// Pages already seen, by a fingerprint of their entries: a server that ignores `page`
    /// answers the same page for ever.
    seen: HashSet<u64>,
    max: u64,
    on_page: F,
}

impl<F> Visitor<F> {
    /// Page `number`, in order; whether it ends the walk (it is empty).
    fn visit<P: Listed, E: From<ApiError>>(&mut self, page: &P, number: u64) -> Result<bool, E>
    where
        F: FnMut(&P) -> Result<(), E>,
    {
        let list = self.list;
        if page.entries() > 0 && !self.seen.insert(fingerprint(page)) {
            return Err(bad_list(
                list.name,
                format!(
                    "page {number} holds the same {} as an earlier page (does the server ignore `page`?)",
                    list.entries
                ),
            )
            .into());
        }
        self.walk.pages += 1;
        self.walk.guests += page.entries() as u64;
        if self.walk.guests > self.max {
            return Err(too_many(self.max, "has", list.entries).into());
        }
        self.walk.reported_total = page.pagination().total;
        (self.on_page)(page)?;
        Ok(page.entries() == 0)
    }
}

/// The first and last entry of a page and its length, hashed: equal for a page served twice.
fn fingerprint(page: &impl Listed) -> u64 {
    let (first, last) = page.ends();
    xxhash_rust::xxh3::xxh3_64(format!("{first}\n{last}\n{}", page.entries()).as_bytes())
}

/// More than `--max-guests` entries in the `list` (`guests`, `members`): it `claims` or `has`.
fn too_many(max: u64, claims: &'static str, list: &'static str) -> ApiError {
    ApiError {
        kind: super::ApiErrorKind::TooManyGuests { max, claims, list },
        ..bad_list(list, String::new())
    }
}

/// The `list` (`guest`, `members`) cannot be walked to its end, for `reason`.
fn bad_list(list: &'static str, reason: String) -> ApiError {
    ApiError {
        kind: super::ApiErrorKind::BadList { list, reason },
        status: None,
        request_id: None,
        attempts: 0,
        unanswered: false,
    }
}
