//! `auto-remediate breaker status | reset`: the blast-radius circuit breaker's counters in the
//! state table (`ar_core::breaker`): auto changes and fixes that failed verification per account
//! and rule family in the last hour.

use ar_core::breaker::WindowCount;
use ar_core::ledger::now_epoch;

use crate::audit::Target;

/// The windows with changes counted in the last hour.
pub async fn status(target: &Target) -> Result<Vec<WindowCount>, String> {
    target
        .ledger
        .breaker_status(now_epoch())
        .await
        .map_err(|e| format!("reading the breaker's counters from {}: {e}", target.ledger.table))
}

/// The status as a table.
pub fn table(rows: &[WindowCount]) -> String {
    if rows.is_empty() {
        return "no auto changes or failed verifications counted in the last hour: every breaker is closed\n".into();
    }
    let mut out = format!(
        "{:<14} {:<40} {:>7} {:>7} {:>7} {:>7}  {}\n",
        "ACCOUNT", "FAMILY", "CHANGES", "LIMIT", "FAILED", "LIMIT", "BREAKER"
    );
    let limit = |l: u64| if l == 0 { "-".to_string() } else { l.to_string() };
    for r in rows {
        out += &format!(
            "{:<14} {:<40} {:>7} {:>7} {:>7} {:>7}  {}\n",
            r.account,
            r.family,
            r.count,
            limit(r.limit),
            r.verification_failures,
            limit(r.verification_failure_limit),
            if r.open { "open (auto findings gated)" } else { "closed" }
        );
    }
    out
}

/// Clears the matching counters; says what it did.
pub async fn reset(target: &Target, account: Option<&str>, family: Option<&str>) -> Result<String, String> {
    let cleared = target
        .ledger
        .breaker_reset(account, family)
        .await
        .map_err(|e| format!("clearing the breaker's counters in {}: {e}", target.ledger.table))?;
    Ok(format!(
        "breaker reset: {cleared} account and family window(s) cleared{}{}\n",
        account.map(|a| format!(", account {a}")).unwrap_or_default(),
        family.map(|f| format!(", family {f}")).unwrap_or_default(),
    ))
}
