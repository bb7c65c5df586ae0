//! DynamoDB's per-item atomicity, which moto lacks.
//!
//! DynamoDB applies each write to an item atomically: a conditional write checks its condition
//! and writes with nothing in between, an `UpdateItem` computes the new item from the old one
//! atomically, and a transaction does all of it for all its items at once. moto checks, then
//! writes, with nothing to stop a concurrent request between the two: under load two executions
//! could both take one resource's lease, or open two approval batches for one resource.
//!
//! The gateway therefore lets one write per item reach moto at a time. Items are named by table
//! and key value, for the tables whose key the stack knows ([`crate::provision::TABLES`]); there
//! every single-item write holds its item (a plain put must not land between another write's
//! check and its write either). For any other table, conditional writes and updates hold the
//! whole table. A transaction holds all its items, taken in sorted order so that two
//! transactions cannot wait on each other. Reads and writes to other items go on concurrently.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::sync::OwnedMutexGuard;

type Lock = Arc<tokio::sync::Mutex<()>>;

/// The locks of the items being written now (an entry lives while someone holds or waits for it).
#[derive(Default)]
pub struct WriteLocks {
    held: Mutex<HashMap<String, Lock>>,
}

/// The items a write holds until it is dropped.
pub struct Held<'a> {
    locks: &'a WriteLocks,
    names: Vec<String>,
    guards: Vec<OwnedMutexGuard<()>>,
}

impl WriteLocks {
    /// Waits until the request may go to moto: at once for anything but a DynamoDB write.
    pub async fn hold(&self, headers: &http::HeaderMap, body: &[u8]) -> Held<'_> {
        let names = lock_names(headers, body);
        let mut guards = Vec::with_capacity(names.len());
        for name in &names {
            let lock = self
                .held
                .lock()
                .expect("write locks")
                .entry(name.clone())
                .or_default()
                .clone();
            guards.push(lock.lock_owned().await);
        }
        Held {
            locks: self,
            names,
            guards,
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.held.lock().expect("write locks").len()
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        if self.names.is_empty() {
            return; // held nothing (most requests): the map is not touched
        }
        self.guards.clear();
        let mut held = self.locks.held.lock().expect("write locks");
        for name in &self.names {
            // Clones are only made under this map's lock: a count of one means nobody waits.
            if held.get(name).is_some_and(|l| Arc::strong_count(l) == 1) {
                held.remove(name);
            }
        }
    }
}

/// The names a request must hold, sorted and without repeats; empty when it holds nothing.
fn lock_names(headers: &http::HeaderMap, body: &[u8]) -> Vec<String> {
    let Some(op) = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.strip_prefix("DynamoDB_20120810."))
    else {
        return Vec::new();
    };
    if !matches!(op, "PutItem" | "UpdateItem" | "DeleteItem" | "TransactWriteItems") {
        return Vec::new(); // a read: its body is not parsed
    }
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return Vec::new();
    };
    let mut names: Vec<String> = match op {
        "PutItem" => item_lock(&v, &v["Item"], op).into_iter().collect(),
        "UpdateItem" | "DeleteItem" => item_lock(&v, &v["Key"], op).into_iter().collect(),
        "TransactWriteItems" => v["TransactItems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|entry| {
                let (kind, w) = entry.as_object()?.iter().next()?;
                let key = if kind == "Put" { &w["Item"] } else { &w["Key"] };
                item_lock(w, key, "TransactWriteItems")
            })
            .collect(),
        _ => Vec::new(),
    };
    names.sort();
    names.dedup();
    names
}

/// The lock one write to one item takes: the item, where its table's key is known; otherwise
/// the table, for a write that reads before it writes; otherwise none.
fn item_lock(write: &Value, item: &Value, op: &str) -> Option<String> {
    let table = write["TableName"].as_str()?;
    if let Some((_, key)) = crate::provision::TABLES.iter().find(|(t, _)| *t == table) {
        return Some(format!("{table}\n{}", item.get(*key)?));
    }
    let conditional = ["ConditionExpression", "Expected"]
        .iter()
        .any(|k| write.get(k).is_some_and(|c| !c.is_null()));
    (conditional || op != "PutItem" && op != "DeleteItem").then(|| table.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(op: &str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert("x-amz-target", format!("DynamoDB_20120810.{op}").parse().unwrap());
        h
    }

    #[test]
    fn writes_to_the_stacks_tables_hold_their_item_and_only_it() {
        let put = br#"{"TableName":"auto-remediate-state","Item":{"pk":{"S":"lease#a"},"holder":{"S":"x"}},
            "ConditionExpression":"attribute_not_exists(pk)"}"#;
        let plain = br#"{"TableName":"auto-remediate-state","Item":{"pk":{"S":"lease#a"}}}"#;
        let update =
            br#"{"TableName":"auto-remediate-state","Key":{"pk":{"S":"lease#a"}},"UpdateExpression":"SET n = :n"}"#;
        let other = br#"{"TableName":"auto-remediate-state","Key":{"pk":{"S":"lease#b"}}}"#;
        let lease_a = vec![r#"auto-remediate-state
{"S":"lease#a"}"#
            .to_string()];
        assert_eq!(lock_names(&headers("PutItem"), put), lease_a);
        assert_eq!(lock_names(&headers("PutItem"), plain), lease_a);
        assert_eq!(lock_names(&headers("UpdateItem"), update), lease_a);
        assert_ne!(lock_names(&headers("DeleteItem"), other), lease_a);
        assert!(lock_names(&headers("GetItem"), other).is_empty());
        assert!(lock_names(&http::HeaderMap::new(), put).is_empty());
        assert!(lock_names(&headers("PutItem"), b"not json").is_empty());
    }

    #[test]
    fn other_tables_hold_the_table_for_conditional_writes_and_updates_only() {
        let put = br#"{"TableName":"t","Item":{"id":{"S":"a"}},"ConditionExpression":"attribute_not_exists(id)"}"#;
        let plain = br#"{"TableName":"t","Item":{"id":{"S":"a"}}}"#;
        let update = br#"{"TableName":"u","Key":{"id":{"S":"a"}},"UpdateExpression":"ADD n :one"}"#;
        assert_eq!(lock_names(&headers("PutItem"), put), vec!["t".to_string()]);
        assert!(lock_names(&headers("PutItem"), plain).is_empty());
        assert_eq!(lock_names(&headers("UpdateItem"), update), vec!["u".to_string()]);
    }

    #[test]
    fn a_transaction_holds_every_item_in_sorted_order() {
        let tx = br#"{"TransactItems":[
            {"Update":{"TableName":"auto-remediate-state","Key":{"pk":{"S":"z"}},"UpdateExpression":"SET a = :a"}},
            {"Put":{"TableName":"auto-remediate-approvals","Item":{"approval_id":{"S":"b"}}}},
            {"ConditionCheck":{"TableName":"auto-remediate-state","Key":{"pk":{"S":"z"}},"ConditionExpression":"x"}}]}"#;
        let names = lock_names(&headers("TransactWriteItems"), tx);
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(names[0].starts_with("auto-remediate-approvals\n"));
        assert!(names[1].starts_with("auto-remediate-state\n"));
    }

    #[tokio::test]
    async fn a_second_write_to_one_item_waits_and_the_lock_is_gone_after() {
        let locks = WriteLocks::default();
        let put = br#"{"TableName":"auto-remediate-state","Item":{"pk":{"S":"lease#a"}}}"#;
        let other = br#"{"TableName":"auto-remediate-state","Item":{"pk":{"S":"lease#b"}}}"#;
        let put_item = headers("PutItem");
        let first = locks.hold(&put_item, put).await;
        let second = locks.hold(&put_item, put);
        tokio::pin!(second);
        let waited = tokio::time::timeout(std::time::Duration::from_millis(50), &mut second).await;
        assert!(
            waited.is_err(),
            "a second write to the item went on while the first held it"
        );
        // Another item is not held up.
        drop(locks.hold(&headers("PutItem"), other).await);
        drop(first);
        drop(second.await);
        assert_eq!(locks.len(), 0, "locks nobody holds are forgotten");
    }
}
