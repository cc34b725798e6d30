//! Prefetch, while the file is being read: every existing guest of the organization (all pages),
//! so dedupe can tell which rows already exist without a request per row; and the
//! organization's members, so that a row the server would refuse (a member's email, a member id
//! that is not a member) is decided before any request, the same way in a dry run and a real run.

use std::collections::{HashMap, HashSet};

use super::dedupe::Emails;
use crate::api::members::Member;
use crate::api::paging::{each_member_page, each_page};
use crate::api::{ApiError, ApiErrorKind, Client};

/// The most emails reserved up front; a larger organization grows the table as usual.
const MAX_RESERVE: u64 = 10_000_000;

/// `keep_emails`: also keep each guest's email (for `--report-missing`). `with_stats`: list the
/// guests with their task statistics (`with=stats`), so that each one's `Profile::used` counts
/// tasks too: only for the question of a mirror that keeps guests with work, which says how many
/// it would keep (the mirror still reads each guest back before acting: that is the proof).
pub(crate) async fn existing_guests(
    client: &Client,
    concurrency: usize,
    keep_emails: bool,
    with_stats: bool,
    progress: &(dyn Fn(Walked) + Sync),
) -> Result<Emails, ApiError> {
    let mut existing = Emails::new(keep_emails);
    let (mut pages, mut read) = (0, 0);
    let walk = each_page(client, with_stats, concurrency, |page| {
        pages += 1;
        read += page.guests.len() as u64;
        progress(Walked {
            pages,
            read,
            of_pages: page.pagination.total_pages.max(pages),
        });
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

/// The organization's members, as the import checks rows against them.
#[derive(Debug, Default)]
pub(crate) struct Members {
    ids: HashSet<u64>,
    /// Canonical email (`crate::email_key`) → (user id, status).
    by_email: HashMap<String, (Option<u64>, String)>,
}

impl Members {
    /// From the members as the list gives them.
    pub(crate) fn new(members: impl IntoIterator<Item = Member>) -> Self {
        let mut known = Members::default();
        for member in members {
            if let Some(id) = member.id {
                known.ids.insert(id);
            }
            if let Some(email) = member.email.as_deref().map(email_key).filter(|e| !e.is_empty()) {
                let status = member.status.unwrap_or_default().trim().to_lowercase();
                known.by_email.insert(email, (member.id, status));
            }
        }
        known
    }

    /// Why a guest with this email would be refused: it is a member's (any status).
    pub(crate) fn refuses_email(&self, email: &str) -> Option<String> {
        let (id, status) = self.by_email.get(&email_key(email))?;
        let who = match (id, status.as_str()) {
            (Some(id), "") => format!("user {id}"),
            (Some(id), status) => format!("user {id}, {status}"),
            (None, "") => "a user".to_string(),
            (None, status) => status.to_string(),
        };
        Some(format!(
            "{} is a member of this organization ({who}), and a member cannot also be a guest: remove the row or give another email",
            email.trim()
        ))
    }

    /// Why a guest with these member ids would be refused: the ids that are not members.
    pub(crate) fn refuses_ids(&self, ids: &[u64]) -> Option<String> {
        let mut unknown: Vec<u64> = ids.iter().copied().filter(|id| !self.ids.contains(id)).collect();
        unknown.dedup();
        let list = unknown.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
        match unknown.len() {
            0 => None,
            1 => Some(format!(
                "member {list} is not in this organization: fix the member ids in this row"
            )),
            _ => Some(format!(
                "members {list} are not in this organization: fix the member ids in this row"
            )),
        }
    }

    /// Members read.
    pub(crate) fn len(&self) -> usize {
        self.ids.len().max(self.by_email.len())
    }
}

/// A member's email as compared with a row's: the canonical key dedupe uses.
fn email_key(email: &str) -> String {
    crate::email_key::email_key(email).into_owned()
}

/// Every member of the organization (all pages), or `None` when the list cannot be read (a
/// token without that right: 401/403, or an API that does not serve it): said once, and the
/// run carries on without the check, as before it existed. A list that breaks its bounds (more
/// than `--max-guests` members, pages that repeat or never end) stops the run, as the guest
/// list's walk does: a server that lists for ever must not keep an import silent for ever.
pub(crate) async fn members(
    client: &Client,
    concurrency: usize,
    progress: &(dyn Fn(Walked) + Sync),
) -> Result<Option<Members>, ApiError> {
    match read_members(client, concurrency, progress).await {
        Ok((members, pages)) => {
            let word = if pages == 1 { "page" } else { "pages" };
            tracing::info!("{} organization members fetched ({pages} {word})", members.len());
            Ok(Some(members))
        }
        Err(error)
            if matches!(
                error.kind,
                ApiErrorKind::BadList { .. } | ApiErrorKind::TooManyGuests { .. }
            ) =>
        {
            Err(error)
        }
        Err(error) => {
            tracing::warn!(
                "the organization's members could not be read ({error}): rows are not checked for a member's email or unknown member ids before sending, and the server's refusals show as `conflict`"
            );
            Ok(None)
        }
    }
}

/// How far a walk of a list has come: pages and entries read, of the pages it announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Walked {
    pub pages: u64,
    pub read: u64,
    pub of_pages: u64,
}

/// Every page of the members list, walked as the guest list is (`paging::each_member_page`:
/// within `--max-guests`, a repeated page or more pages than its total allows end the walk with
/// an error), with the walk's progress told to `progress`; the members and the pages read.
async fn read_members(
    client: &Client,
    concurrency: usize,
    progress: &(dyn Fn(Walked) + Sync),
) -> Result<(Members, u64), ApiError> {
    let (mut all, mut pages) = (Vec::new(), 0);
    let walk = each_member_page(client, concurrency, |page| {
        pages += 1;
        all.extend(page.members.iter().cloned());
        progress(Walked {
            pages,
            read: all.len() as u64,
            of_pages: page.pagination.total_pages.max(pages),
        });
        Ok::<_, ApiError>(())
    })
    .await?;
    Ok((Members::new(all), walk.pages))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: u64, email: &str, status: &str) -> Member {
        Member {
            id: Some(id),
            email: Some(email.into()),
            status: Some(status.into()),
        }
    }

    #[test]
    fn a_members_email_and_unknown_ids_are_refused_in_words() {
        let members = Members::new([
            member(1001, "Owner@X.com", "active"),
            member(1002, "new@x.com", "Invited"),
        ]);
        assert_eq!(
            members.refuses_email(" new@X.COM ").unwrap(),
            "new@X.COM is a member of this organization (user 1002, invited), and a member cannot also be a guest: remove the row or give another email"
        );
        assert!(members.refuses_email("guest@x.com").is_none());
        assert!(members.refuses_ids(&[1001, 1002]).is_none());
        assert!(
            members
                .refuses_ids(&[1001, 9999])
                .unwrap()
                .starts_with("member 9999 is not")
        );
        assert!(
            members
                .refuses_ids(&[9998, 9999])
                .unwrap()
                .starts_with("members 9998, 9999 are not")
        );
    }
}
