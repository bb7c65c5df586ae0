//! The demo's verdict: named checks on live state, printed as ✔/✘ lines.

/// One named check and, when it failed, why.
struct Check {
    what: String,
    ok: bool,
    why: Option<String>,
}

#[derive(Default)]
pub struct Checks {
    items: Vec<Check>,
}

impl Checks {
    pub fn check(&mut self, what: impl Into<String>, ok: bool) {
        self.items.push(Check {
            what: what.into(),
            ok,
            why: None,
        });
    }

    /// A check whose failure carries an explanation (printed under the ✘ line).
    pub fn check_why(&mut self, what: impl Into<String>, ok: bool, why: impl FnOnce() -> String) {
        self.items.push(Check {
            what: what.into(),
            ok,
            why: (!ok).then(why),
        });
    }

    pub fn all_passed(&self) -> bool {
        self.items.iter().all(|c| c.ok)
    }

    /// Prints one line per check, then what failed; returns whether all passed.
    pub fn print_summary(&self) -> bool {
        for c in &self.items {
            println!("  {} {}", if c.ok { "✔" } else { "✘" }, c.what);
            if let Some(why) = &c.why {
                println!("      {why}");
            }
        }
        let failed: Vec<&Check> = self.items.iter().filter(|c| !c.ok).collect();
        println!();
        if failed.is_empty() {
            println!(
                "All {} checks passed: every resource healed, nothing else was touched.",
                self.items.len()
            );
        } else {
            println!("{} of {} checks FAILED:", failed.len(), self.items.len());
            for c in failed {
                println!("  ✘ {}", c.what);
            }
        }
        self.all_passed()
    }
}

#[cfg(test)]
mod tests {
    use super::Checks;

    #[test]
    fn one_failure_fails_the_whole() {
        let mut checks = Checks::default();
        checks.check("a", true);
        assert!(checks.all_passed());
        checks.check_why("b", false, || "because".into());
        assert!(!checks.all_passed());
    }
}
