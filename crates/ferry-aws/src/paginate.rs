//! One loop for every paginated AWS listing.
//!
//! The caller's `fetch` sends one page's request, through
//! [`Caller::call`](ferry_call::Caller::call) as every call does (so each
//! page is paced at its bucket, retried, timed and counted on its own),
//! and reads the answer into a [`Page`]. This module only follows the
//! cursor: `nextToken` (most services), ELBv2's `NextMarker`, or
//! Route53's (name, type) pair, whatever `C` is.
//!
//! The loop stops at the first page without a next cursor, and also at a
//! page whose next cursor is the one just sent: following it would ask
//! for the same page forever. An empty token is no cursor: see
//! [`next_token`].

use std::future::Future;

use crate::Result;

/// One page of a listing: what it holds, and the cursor of the next page
/// (`None` on the last).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T, C> {
    pub items: Vec<T>,
    pub next: Option<C>,
}

impl<T, C> Page<T, C> {
    pub fn new(items: Vec<T>, next: Option<C>) -> Self {
        Self { items, next }
    }

    /// A last page with nothing in it, for a listing of something that
    /// does not exist yet (a schedule group not created).
    pub fn empty() -> Self {
        Self::new(Vec::new(), None)
    }
}

/// The next-page token of an answer: AWS's `nextToken`/`NextMarker`, with
/// an empty string taken for none (some APIs send one on the last page).
pub fn next_token(token: Option<&str>) -> Option<String> {
    token.filter(|t| !t.is_empty()).map(str::to_owned)
}

/// Fetches every page in order, the first with no cursor, handing each
/// item to `each` as its page arrives (so that a reader can show the first
/// lines before the last page is read). Returns the number of pages
/// fetched, which is the number of calls made. The first failing page
/// ends the loop with its error; items of earlier pages were handed on.
pub async fn for_each_page<T, C, F, Fut>(mut fetch: F, mut each: impl FnMut(T)) -> Result<usize>
where
    C: Clone + PartialEq,
    F: FnMut(Option<C>) -> Fut,
    Fut: Future<Output = Result<Page<T, C>>>,
{
    let mut cursor: Option<C> = None;
    let mut calls = 0;
    loop {
        let page = fetch(cursor.clone()).await?;
        calls += 1;
        page.items.into_iter().for_each(&mut each);
        match page.next {
            Some(next) if cursor.as_ref() != Some(&next) => cursor = Some(next),
            _ => return Ok(calls),
        }
    }
}

/// Like [`for_each_page`], collecting the items of every page in order.
/// Returns them and the number of calls made.
pub async fn paginate<T, C, F, Fut>(fetch: F) -> Result<(Vec<T>, usize)>
where
    C: Clone + PartialEq,
    F: FnMut(Option<C>) -> Fut,
    Fut: Future<Output = Result<Page<T, C>>>,
{
    let mut items = Vec::new();
    let calls = for_each_page(fetch, |item| items.push(item)).await?;
    Ok((items, calls))
}

#[cfg(test)]
#[path = "paginate_tests.rs"]
mod tests;
