//! Asking before destructive or far-reaching changes.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::bail;

/// Whether to go ahead with something that needs confirmation: yes with
/// `--yes`; on a terminal, the person's answer to `question` (after
/// `details`, if any); otherwise an error saying `why` and that `--yes` is
/// needed, so scripts never hang on a prompt and never go ahead by
/// accident.
pub fn confirm(details: &str, question: &str, yes: bool, why: &str) -> anyhow::Result<bool> {
    if yes {
        return Ok(true);
    }
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        bail!("{why}; pass --yes to confirm (no terminal to ask on)");
    }
    let mut stderr = std::io::stderr();
    if !details.is_empty() {
        writeln!(stderr, "{details}")?;
    }
    write!(stderr, "{question} [y/N] ")?;
    stderr.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(is_yes(&answer))
}

fn is_yes(answer: &str) -> bool {
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_yes_confirms() {
        assert!(is_yes("y\n"));
        assert!(is_yes(" YES "));
        assert!(!is_yes("\n"));
        assert!(!is_yes("n"));
        assert!(!is_yes("yep"));
    }

    #[test]
    fn without_a_terminal_yes_is_required() {
        // Test runs have no terminal on stdin.
        if std::io::stdin().is_terminal() {
            return;
        }
        let err = confirm("", "go?", false, "this is far").expect_err("refused");
        assert_eq!(
            err.to_string(),
            "this is far; pass --yes to confirm (no terminal to ask on)"
        );
        assert!(confirm("", "go?", true, "this is far").expect("confirmed"));
    }
}
