//! Rules: every judgement a probe makes, named, cited and overridable (report schema 1.2).
//!
//! A rule has a stable id (`wsus.sync-age`), the severity it gives by default when it fires,
//! the page it rests on (title and address), the operator's fix, and whether it rests on an
//! assumption rather than a documented number. Plugins publish their index through the ABI
//! (`PdProbeV1::rules_json`), `patchdeck rules` lists every index, and non-OK items name the
//! rule that made them (`Item::rule`).
//!
//! The operator overrides a rule per probe in `[probe.rules]` (`"wua.stale-scans" = "off"`,
//! `"wsus.sync-age" = "critical"`); the host passes the overrides to `create` under the config
//! key `"$rules"`, and the Rust SDK hands them to the probe as [`Overrides`] in every
//! [`crate::sdk::CheckContext`]. A probe applies them to its items before it computes its
//! status and summary ([`Overrides::apply`]), so the summary always names the cause of the
//! status that is shown.

use crate::report::{Item, Status};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One rule of a probe's index, as a plugin declares it (static data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Stable id, `<kind>.<name>`, lower-case with dashes: `wsus.sync-age`.
    pub id: &'static str,
    /// The worst status the rule gives by default (some rules give a warning at one line and
    /// this at a second).
    pub severity: Status,
    /// What the rule judges, one line: "Last successful SUP synchronisation is recent".
    pub title: &'static str,
    /// The title of the page the rule rests on.
    pub source: &'static str,
    /// The page's address.
    pub url: &'static str,
    /// The operator's usual next step when it fires.
    pub fix: &'static str,
    /// True when no page gives the number or the pairing: such a rule never gives CRITICAL
    /// by default and `patchdeck rules` says "assumption".
    pub assumption: bool,
}

/// A rule as published across the ABI (the JSON form of [`Rule`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleInfo {
    pub id: String,
    pub severity: Status,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub fix: String,
    #[serde(default)]
    pub assumption: bool,
}

impl From<&Rule> for RuleInfo {
    fn from(r: &Rule) -> RuleInfo {
        RuleInfo {
            id: r.id.to_owned(),
            severity: r.severity,
            title: r.title.to_owned(),
            source: r.source.to_owned(),
            url: r.url.to_owned(),
            fix: r.fix.to_owned(),
            assumption: r.assumption,
        }
    }
}

/// The JSON index of `rules` (what `PdProbeV1::rules_json` returns).
pub fn index_json(rules: &[Rule]) -> String {
    let infos: Vec<RuleInfo> = rules.iter().map(RuleInfo::from).collect();
    serde_json::to_string(&infos).unwrap_or_else(|_| "[]".into())
}

/// What an override sets a rule to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// The rule never fires: its items read OK and say they were turned off.
    Off,
    /// The rule gives this status whenever it fires.
    Is(Status),
}

impl Level {
    /// `off`, `warning`, `critical` or `unknown` (an override to `ok` is spelt `off`).
    pub fn parse(s: &str) -> Result<Level, String> {
        match s {
            "off" => Ok(Level::Off),
            "warning" => Ok(Level::Is(Status::Warning)),
            "critical" => Ok(Level::Is(Status::Critical)),
            "unknown" => Ok(Level::Is(Status::Unknown)),
            other => Err(format!(
                "\"{other}\" is not a rule level: use \"off\", \"warning\", \"critical\" or \"unknown\""
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Off => "off",
            Level::Is(s) => s.as_str(),
        }
    }
}

/// The operator's overrides for one probe instance: rule id -> level.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides(BTreeMap<String, Level>);

impl Overrides {
    /// No override: every rule at its default.
    pub const NONE: Overrides = Overrides(BTreeMap::new());

    /// Reads the `"$rules"` object the host passes, checking each id against `known`.
    pub fn from_json(v: &serde_json::Value, known: &[Rule]) -> Result<Overrides, String> {
        let obj = v
            .as_object()
            .ok_or("[probe.rules] must be a table of rule id = level")?;
        let mut out = BTreeMap::new();
        for (id, level) in obj {
            if !known.iter().any(|r| r.id == id) {
                return Err(format!(
                    "[probe.rules]: no rule `{id}` in this probe (see `patchdeck rules`)"
                ));
            }
            let text = level
                .as_str()
                .ok_or_else(|| format!("[probe.rules] `{id}`: the level must be a string"))?;
            out.insert(
                id.clone(),
                Level::parse(text).map_err(|e| format!("[probe.rules] `{id}`: {e}"))?,
            );
        }
        Ok(Overrides(out))
    }

    /// One override by hand (tests, and probes built without a host).
    pub fn with(mut self, id: &str, level: Level) -> Overrides {
        self.0.insert(id.to_owned(), level);
        self
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, id: &str) -> Option<Level> {
        self.0.get(id).copied()
    }

    /// Applies the overrides to a tree of items: a non-OK item whose rule is overridden takes
    /// the override's status (or OK for `off`) and says so in its evidence; a parent whose
    /// status came from its children follows them. Returns whether anything changed.
    pub fn apply(&self, items: &mut [Item]) -> bool {
        if self.0.is_empty() {
            return false;
        }
        let mut changed = false;
        for it in items {
            changed |= self.apply_one(it);
        }
        changed
    }

    fn apply_one(&self, it: &mut Item) -> bool {
        let worst_before = worst(&it.items);
        let children_changed = self.apply(&mut it.items);
        let mut changed = children_changed;
        if children_changed && it.rule.is_none() && it.status == worst_before {
            // The parent's status was its children's: follow them.
            it.status = worst(&it.items);
        }
        let level = it.rule.as_deref().and_then(|r| self.get(r));
        if let (Some(level), true) = (level, it.status != Status::Ok) {
            let rule = it.rule.clone().unwrap_or_default();
            let new = match level {
                Level::Off => Status::Ok,
                Level::Is(s) => s,
            };
            let note = format!(
                "[probe.rules] \"{rule}\" = \"{}\": {} -> {}",
                level.as_str(),
                it.status.label(),
                new.label()
            );
            it.evidence = Some(match it.evidence.take() {
                Some(e) if !e.is_empty() => format!("{e} ({note})"),
                _ => note,
            });
            if level == Level::Off {
                it.summary = format!("turned off by config: {}", it.summary);
            }
            changed |= it.status != new;
            it.status = new;
        }
        changed
    }
}

fn worst(items: &[Item]) -> Status {
    items.iter().fold(Status::Ok, |w, i| w.worst(i.status))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SYNC: Rule = Rule {
        id: "wsus.sync-age",
        severity: Status::Critical,
        title: "t",
        source: "s",
        url: "u",
        fix: "f",
        assumption: false,
    };

    #[test]
    fn overrides_are_checked_against_the_index() {
        let known = [SYNC];
        let o =
            Overrides::from_json(&serde_json::json!({"wsus.sync-age": "warning"}), &known).unwrap();
        assert_eq!(o.get("wsus.sync-age"), Some(Level::Is(Status::Warning)));
        let e = Overrides::from_json(&serde_json::json!({"wsus.nope": "off"}), &known).unwrap_err();
        assert!(e.contains("no rule `wsus.nope`"), "{e}");
        let e =
            Overrides::from_json(&serde_json::json!({"wsus.sync-age": "ok"}), &known).unwrap_err();
        assert!(e.contains("\"ok\" is not a rule level"), "{e}");
    }

    #[test]
    fn apply_sets_the_level_says_so_and_parents_follow() {
        let mut child = Item::new("c", "C", Status::Critical, "late").with_evidence("6702 9 d ago");
        child.rule = Some("wsus.sync-age".into());
        let ok = Item::new("d", "D", Status::Ok, "fine");
        let mut parent = Item::new("p", "P", Status::Critical, "");
        parent.items = vec![child, ok];
        let mut items = vec![parent];
        let o = Overrides::NONE.with("wsus.sync-age", Level::Is(Status::Warning));
        assert!(o.apply(&mut items));
        assert_eq!(items[0].status, Status::Warning);
        let c = &items[0].items[0];
        assert_eq!(c.status, Status::Warning);
        assert!(
            c.evidence
                .as_deref()
                .unwrap()
                .contains("([probe.rules] \"wsus.sync-age\" = \"warning\": CRITICAL -> WARNING)"),
            "{:?}",
            c.evidence
        );
        let off = Overrides::NONE.with("wsus.sync-age", Level::Off);
        assert!(off.apply(&mut items));
        assert_eq!(items[0].status, Status::Ok);
        assert!(
            items[0].items[0]
                .summary
                .starts_with("turned off by config")
        );
        // OK items and items of other rules are left alone.
        assert!(!off.apply(&mut items));
    }
}
