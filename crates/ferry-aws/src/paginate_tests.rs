use std::cell::RefCell;

use super::*;
use crate::Error;

fn failure(page: usize) -> Error {
    Error::Call {
        service: "test",
        operation: "List",
        resource: format!("page {page}"),
        code: Some("Throttling".into()),
        message: "no".into(),
    }
}

/// A fake listing: page `i` holds `pages[i]` and points at page `i + 1`
/// (as the token `"i+1"`) unless it is the last. Records the tokens sent.
struct Listing {
    pages: Vec<Vec<u32>>,
    sent: RefCell<Vec<Option<String>>>,
    fail_at: Option<usize>,
}

impl Listing {
    fn new(pages: Vec<Vec<u32>>) -> Self {
        Self {
            pages,
            sent: RefCell::new(Vec::new()),
            fail_at: None,
        }
    }

    async fn fetch(&self, token: Option<String>) -> Result<Page<u32, String>> {
        self.sent.borrow_mut().push(token.clone());
        let index: usize = token
            .as_deref()
            .map_or(0, |t| t.parse().unwrap_or(usize::MAX));
        if self.fail_at == Some(index) {
            return Err(failure(index));
        }
        let items = self.pages.get(index).cloned().unwrap_or_default();
        let next = (index + 1 < self.pages.len()).then(|| (index + 1).to_string());
        Ok(Page::new(items, next))
    }
}

#[tokio::test]
async fn pages_are_concatenated_in_order_with_one_call_each() {
    let listing = Listing::new(vec![vec![1, 2], vec![], vec![3], vec![4, 5]]);
    let (items, calls) = paginate(|token| listing.fetch(token))
        .await
        .expect("listing");
    assert_eq!(
        items,
        vec![1, 2, 3, 4, 5],
        "an empty page in the middle is followed"
    );
    assert_eq!(calls, 4);
    assert_eq!(
        *listing.sent.borrow(),
        vec![None, Some("1".into()), Some("2".into()), Some("3".into())],
        "the first page without a token, then each page's next token"
    );
}

#[tokio::test]
async fn a_single_page_is_one_call() {
    let listing = Listing::new(vec![vec![7]]);
    let (items, calls) = paginate(|token| listing.fetch(token))
        .await
        .expect("listing");
    assert_eq!((items, calls), (vec![7], 1));
}

#[tokio::test]
async fn the_first_error_ends_the_listing() {
    let mut listing = Listing::new(vec![vec![1], vec![2], vec![3]]);
    listing.fail_at = Some(1);
    let mut seen = Vec::new();
    let result = for_each_page(|token| listing.fetch(token), |item| seen.push(item)).await;
    assert!(
        matches!(&result, Err(Error::Call { resource, .. }) if resource == "page 1"),
        "{result:?}"
    );
    assert_eq!(seen, vec![1], "items of earlier pages were handed on");
    assert_eq!(listing.sent.borrow().len(), 2, "no page after the failure");
}

#[tokio::test]
async fn a_repeated_cursor_ends_the_listing() {
    let sent = RefCell::new(0);
    let (items, calls) = paginate(|_token: Option<String>| {
        *sent.borrow_mut() += 1;
        async { Ok(Page::new(vec![1], Some("again".to_owned()))) }
    })
    .await
    .expect("listing");
    assert_eq!((items, calls), (vec![1, 1], 2));
    assert_eq!(*sent.borrow(), 2);
}

#[test]
fn an_empty_token_is_no_token() {
    assert_eq!(next_token(Some("")), None);
    assert_eq!(next_token(None), None);
    assert_eq!(next_token(Some("abc")).as_deref(), Some("abc"));
}
