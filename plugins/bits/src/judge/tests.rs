//! Case tables for the bits judge: answers shaped like IIS 6 / 7 on a ConfigMgr 2007 DP.

use super::*;
use crate::gather::Answer;

fn answer(status: u16, len: Option<u64>, range: Option<&str>, body: u64, auth: &[&str]) -> Answer {
    Answer {
        status,
        ms: 5.0,
        content_length: len,
        content_range: range.map(str::to_owned),
        body_len: body,
        truncated: false,
        auth: auth.iter().map(|s| s.to_string()).collect(),
        login: patchdeck_kit::auth::Outcome::Anonymous,
    }
}

const URL: &str = "http://dp01/SMS_DP_SMSPKGD%24/ABC00012/file.cab";
const RULES: Rules = Rules {
    webdav: true,
    latency_warn_ms: 500,
    latency_crit_ms: 2000,
};

fn healthy() -> Seen {
    Seen {
        url: URL.into(),
        head: Ok(answer(200, Some(100_000), None, 0, &[])),
        range: Some((
            (49_488, 50_511),
            Ok(answer(
                206,
                Some(1024),
                Some("bytes 49488-50511/100000"),
                1024,
                &[],
            )),
        )),
        propfind: Some(Ok(answer(207, None, None, 100, &[]))),
    }
}

#[test]
fn a_healthy_dp_is_ready() {
    let it = judge("DP01", &healthy(), RULES);
    assert_eq!(
        (it.status, it.summary.as_str()),
        (Status::Ok, "BITS-ready · 5 ms")
    );
    assert_eq!(it.evidence, None);
}

#[test]
fn a_dp_asking_for_windows_credentials_is_unknown_not_broken() {
    let s = Seen {
        url: URL.into(),
        head: Ok(answer(401, None, None, 0, &["Negotiate", "NTLM"])),
        range: None,
        propfind: Some(Ok(answer(401, None, None, 0, &["Negotiate", "NTLM"]))),
    };
    let it = judge("DP09", &s, RULES);
    assert_eq!(it.status, Status::Unknown, "{}", it.summary);
    assert_eq!(
        it.summary,
        "Range and WebDAV cannot be verified without credentials (anonymous access is off, ConfigMgr's default)"
    );
    assert_eq!(it.rule.as_deref(), Some("bits.credentials"));
    assert_eq!(
        it.evidence.as_deref(),
        Some(
            "HEAD http://dp01/SMS_DP_SMSPKGD%24/ABC00012/file.cab -> 401, WWW-Authenticate Negotiate, NTLM"
        )
    );
    // Anonymous access is off by default and must stay so (impossible in native mode,
    // 7a41355c): the fix never asks to open the DP.
    let fix = it.fix.as_deref().unwrap();
    assert!(fix.starts_with("Nothing to fix on the DP"), "{fix}");
    assert!(!fix.contains("enable \"Allow clients"), "{fix}");
    // Basic only is not how ConfigMgr clients log on: broken.
    let basic = Seen {
        head: Ok(answer(401, None, None, 0, &["Basic"])),
        ..s
    };
    assert_eq!(judge("DP10", &basic, RULES).status, Status::Critical);
}

#[test]
fn webdav_missing_is_critical_and_running_out_of_time_is_unknown() {
    let mut s = healthy();
    s.propfind = Some(Ok(answer(405, None, None, 0, &[])));
    let it = judge("DP06", &s, RULES);
    assert_eq!(it.status, Status::Critical);
    assert_eq!(
        it.summary,
        "WebDAV not answering (PROPFIND HTTP 405): a BITS-enabled DP needs IIS WebDAV"
    );
    assert!(it.fix.as_deref().unwrap().contains(BITS_DP_DOC));
    let mut s = healthy();
    s.range = Some(((49_488, 50_511), Err(HttpError::OutOfTime)));
    let it = judge("DP07", &s, RULES);
    assert_eq!(
        (it.status, it.summary.as_str()),
        (Status::Unknown, NOT_CHECKED)
    );
}

#[test]
fn range_faults_say_what_was_seen() {
    let mut s = healthy();
    s.range = Some((
        (49_488, 50_511),
        Ok(answer(200, Some(100_000), None, 100_000, &[])),
    ));
    let it = judge("DP04", &s, RULES);
    assert_eq!(it.status, Status::Critical);
    assert_eq!(
        it.evidence.as_deref(),
        Some(
            "GET http://dp01/SMS_DP_SMSPKGD%24/ABC00012/file.cab Range bytes=49488-50511 -> 200 without Content-Range"
        )
    );
    // A worse problem later replaces a milder first one as the headline.
    let mut s = healthy();
    s.head = Ok(answer(200, Some(100_000), None, 0, &[]));
    s.propfind = Some(Ok(answer(401, None, None, 0, &["NTLM"])));
    s.range = Some(((49_488, 50_511), Ok(answer(403, None, None, 0, &[]))));
    let it = judge("DP05", &s, RULES);
    assert_eq!(
        it.summary,
        "HTTP 403 on a ranged GET: BITS would fail with 0x80190193"
    );
}

/// A far DP over a WAN link: every BITS check passes, HEAD takes 3 s. BITS is built for slow
/// links, so latency alone is a warning, never CRITICAL, and the DP still counts as ready.
#[test]
fn a_slow_but_bits_ready_dp_is_a_warning_at_most() {
    let mut s = healthy();
    if let Ok(h) = &mut s.head {
        h.ms = 3_000.0;
    }
    let it = judge("DP-FAR", &s, RULES);
    assert_eq!(it.status, Status::Warning, "{}", it.summary);
    assert_eq!(it.rule.as_deref(), Some("bits.latency"));
    assert!(it.summary.starts_with("slow: 3000 ms"), "{}", it.summary);
}

/// A request sent with the probe's leftover time that then times out is "not checked", like
/// one never sent: the DP is not "unreachable".
#[test]
fn a_request_starved_of_time_is_not_checked() {
    let mut s = healthy();
    s.propfind = Some(Err(HttpError::Starved(std::time::Duration::from_millis(
        40,
    ))));
    let it = judge("DP08", &s, RULES);
    assert_eq!(
        (it.status, it.summary.as_str()),
        (Status::Unknown, NOT_CHECKED)
    );
    assert_eq!(it.rule.as_deref(), Some("bits.not-checked"));
}
