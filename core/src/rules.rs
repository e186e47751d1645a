//! The rule indexes of the plugins bound in this process, so that every output can show an
//! item's rule with its source (`check --format text`, the drill-down) without carrying the
//! plugin descriptors around. Filled when the engine binds its plugins.

use patchdeck_probe_api::RuleInfo;
use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};

fn table() -> &'static RwLock<HashMap<String, RuleInfo>> {
    static TABLE: OnceLock<RwLock<HashMap<String, RuleInfo>>> = OnceLock::new();
    TABLE.get_or_init(Default::default)
}

/// Remembers a plugin's rules (the same id from two plugins is the same shared rule).
pub fn register(rules: &[RuleInfo]) {
    if rules.is_empty() {
        return;
    }
    let mut t = table().write().unwrap_or_else(|e| e.into_inner());
    for r in rules {
        t.entry(r.id.clone()).or_insert_with(|| r.clone());
    }
}

/// The rule with this id, when a bound plugin published it.
pub fn lookup(id: &str) -> Option<RuleInfo> {
    table()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(id)
        .cloned()
}

/// "wsus.sync-age (Sync Schedule page ...: http://...)" or just the id when unknown.
pub fn describe(id: &str) -> String {
    match lookup(id) {
        Some(r) if !r.url.is_empty() => format!("{id} ({}: {})", r.source, r.url),
        Some(r) if !r.source.is_empty() => format!("{id} ({})", r.source),
        _ => id.to_owned(),
    }
}

/// "wsus.sync-age, http://..." (the id and its page), for one-line outputs.
pub fn cited(id: &str) -> String {
    match lookup(id) {
        Some(r) if !r.url.is_empty() => format!("{id}, {}", r.url),
        _ => id.to_owned(),
    }
}
