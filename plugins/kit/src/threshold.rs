//! Thresholds shared by probes.

use patchdeck_probe_api::{Metric, Status};

/// Status of a latency against warn/crit limits in milliseconds (strictly above = breach).
pub fn latency(ms: f64, warn_ms: u64, crit_ms: u64) -> Status {
    if ms > crit_ms as f64 {
        Status::Critical
    } else if ms > warn_ms as f64 {
        Status::Warning
    } else {
        Status::Ok
    }
}

/// A latency metric with its Nagios ranges.
pub fn latency_metric(label: &str, ms: f64, warn_ms: u64, crit_ms: u64) -> Metric {
    Metric {
        label: label.to_owned(),
        value: (ms * 10.0).round() / 10.0,
        uom: "ms".into(),
        warn: Some(warn_ms.to_string()),
        crit: Some(crit_ms.to_string()),
        min: Some(0.0),
        max: None,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_are_not_breaches() {
        assert_eq!(latency(500.0, 500, 2000), Status::Ok);
        assert_eq!(latency(500.1, 500, 2000), Status::Warning);
        assert_eq!(latency(2000.0, 500, 2000), Status::Warning);
        assert_eq!(latency(2000.1, 500, 2000), Status::Critical);
        assert_eq!(latency_metric("latency", 41.66, 500, 2000).value, 41.7);
    }
}

/// Status of a share in percent against warn/crit percentages (at or above = breach).
pub fn percent(value: f64, warn: f64, crit: f64) -> Status {
    if value >= crit {
        Status::Critical
    } else if value >= warn {
        Status::Warning
    } else {
        Status::Ok
    }
}

/// A share of clients judged against warn/crit percentages, in words that say the verdict:
/// (WARNING, "12 clients (6.0 %) failed their last scan: at or over the 5 % warning line").
/// `what` completes "N clients ...". With no population the share is 0.
pub fn judged_share(what: &str, n: u64, total: u64, warn: f64, crit: f64) -> (Status, String) {
    let pct = if total == 0 {
        0.0
    } else {
        n as f64 * 100.0 / total as f64
    };
    let status = percent(pct, warn, crit);
    let who = match n {
        0 => return (status, format!("no client {what}")),
        1 => "1 client".to_owned(),
        n => format!("{} clients", thousands(n)),
    };
    let line = match status {
        Status::Critical => format!("at or over the {} % critical line", num(crit)),
        Status::Warning => format!("at or over the {} % warning line", num(warn)),
        _ => format!("under the {} % warning line", num(warn)),
    };
    (status, format!("{who} ({pct:.1} %) {what}: {line}"))
}

/// 5.0 -> "5", 2.5 -> "2.5".
fn num(v: f64) -> String {
    format!("{v}")
}

/// 28412 -> "28,412".
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod more_tests {
    use super::*;

    #[test]
    fn percent_edges_and_thousands() {
        assert_eq!(percent(4.99, 5.0, 20.0), Status::Ok);
        assert_eq!(percent(5.0, 5.0, 20.0), Status::Warning);
        assert_eq!(percent(20.0, 5.0, 20.0), Status::Critical);
        assert_eq!(thousands(28_412), "28,412");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000_000), "1,000,000");
    }

    #[test]
    fn judged_shares_say_the_verdict() {
        assert_eq!(
            judged_share("failed their last scan", 4, 1000, 5.0, 20.0),
            (
                Status::Ok,
                "4 clients (0.4 %) failed their last scan: under the 5 % warning line".into()
            )
        );
        assert_eq!(
            judged_share("failed their last scan", 50, 1000, 5.0, 20.0).0,
            Status::Warning
        );
        assert_eq!(
            judged_share("is stale", 1, 5, 5.0, 20.0),
            (
                Status::Critical,
                "1 client (20.0 %) is stale: at or over the 20 % critical line".into()
            )
        );
        assert_eq!(
            judged_share("failed", 0, 0, 5.0, 20.0),
            (Status::Ok, "no client failed".into())
        );
    }
}
