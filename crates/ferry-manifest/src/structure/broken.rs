//! The paths the structural pass reported and did not keep as written.

use std::collections::BTreeSet;

use crate::diagnostic::FieldPath;

/// The paths of values the structural pass reported and did not keep as
/// written (left out, or replaced by a placeholder), so that validation
/// checks every other value and skips only what depends on a broken one.
#[derive(Debug, Clone, Default)]
pub(crate) struct Broken(BTreeSet<FieldPath>);

impl Broken {
    /// Whether the value at `path`, or any part of it, is broken.
    pub(crate) fn within(&self, path: &FieldPath) -> bool {
        // Paths inside `path` sort right after it.
        self.0
            .range(path.clone()..)
            .next()
            .is_some_and(|broken| broken.starts_with(path))
    }

    /// Whether the value at `path` itself is broken (not merely a part
    /// of it), or one of its parents is.
    pub(crate) fn at(&self, path: &FieldPath) -> bool {
        let mut prefix = FieldPath::root();
        if self.0.contains(&prefix) {
            return true;
        }
        for segment in path.segments() {
            prefix.push(segment.clone());
            if self.0.contains(&prefix) {
                return true;
            }
        }
        false
    }

    pub(crate) fn insert(&mut self, path: FieldPath) {
        self.0.insert(path);
    }
}
