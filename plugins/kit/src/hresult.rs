//! Windows Update Agent scan errors worth naming. LastErrorCode is a signed 32-bit HRESULT in
//! the site database; unknown codes are shown in hex, never dropped. Names are the Windows
//! Update Agent's (wuerror.h); WU_E_PT_HTTP_STATUS_* is the HTTP status the agent got from
//! WSUS, e.g. 0x80244022 = HTTP 503, "very common in WSUS/SUP environments ... app pool
//! stopped" (https://techpress.net/fix-windows-update-error-0x80244022). The family's HTTP
//! statuses: Windows Update Agent networking error codes,
//! https://learn.microsoft.com/en-us/windows/win32/wua_sdk/wua-networking-error-codes- ;
//! 407, 408, 502 and 504 usually come from a proxy between the client and the SUP (a 502
//! from a proxy in a real WUAHandler log: https://www.hayesjupe.com/sccm-2012-reference-build-updates-fail-due-to-proxy-error-when-wpad-in-use/).

/// Parses "-2145107934", "2149859362" or "0x80244022" into the 32-bit code.
pub fn parse(s: &str) -> Option<u32> {
    let s = s.trim();
    if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        return u32::from_str_radix(hex, 16).ok();
    }
    let v: i64 = s.parse().ok()?;
    if (i64::from(i32::MIN)..=i64::from(u32::MAX)).contains(&v) {
        Some(v as u32)
    } else {
        None
    }
}

/// Name and operator hint of a known code.
pub fn describe(code: u32) -> Option<(&'static str, &'static str)> {
    Some(match code {
        0x8024_4017 => ("WU_E_PT_HTTP_STATUS_DENIED", "HTTP 401 from WSUS"),
        0x8024_4018 => ("WU_E_PT_HTTP_STATUS_FORBIDDEN", "HTTP 403 from WSUS"),
        0x8024_4019 => (
            "WU_E_PT_HTTP_STATUS_NOT_FOUND",
            "HTTP 404: virtual directory or URL wrong",
        ),
        0x8024_401B => (
            "WU_E_PT_HTTP_STATUS_PROXY_AUTH_REQ",
            "HTTP 407: proxy authentication",
        ),
        0x8024_401C => (
            "WU_E_PT_HTTP_STATUS_REQUEST_TIMEOUT",
            "HTTP 408: WsusPool overloaded?",
        ),
        0x8024_401F => ("WU_E_PT_HTTP_STATUS_SERVER_ERROR", "HTTP 500 from WSUS"),
        0x8024_4021 => ("WU_E_PT_HTTP_STATUS_BAD_GATEWAY", "HTTP 502"),
        0x8024_4022 => (
            "WU_E_PT_HTTP_STATUS_SERVICE_UNAVAIL",
            "HTTP 503: WsusPool stopped?",
        ),
        0x8024_4023 => ("WU_E_PT_HTTP_STATUS_GATEWAY_TIMEOUT", "HTTP 504"),
        0x8007_2EE2 => ("ERROR_INTERNET_TIMEOUT", "WinHTTP timeout reaching WSUS"),
        0x8007_2EFD => ("ERROR_INTERNET_CANNOT_CONNECT", "cannot connect to WSUS"),
        0x8024_D009 => (
            "WU_E_SETUP_SKIP_UPDATE",
            "self-update skipped (wuident directive)",
        ),
        _ => return None,
    })
}

/// The operator's next step for clients failing with `code`.
pub fn remedy(code: u32) -> &'static str {
    match code {
        0x8024_4022 | 0x8024_401F => {
            "WSUS answered with a server error: on the SUP, start the WsusPool application pool in IIS Manager (raise its private memory limit if it keeps stopping) and check the wsus probe."
        }
        0x8024_4021 | 0x8024_4023 | 0x8024_401C => {
            "A gateway answered for WSUS (502/504) or the request timed out (408): usually a proxy between these clients and the SUP. Check the client's WinHTTP proxy (`proxycfg` on XP/2003, `netsh winhttp show proxy` on Vista and later) and bypass it for the SUP; with no proxy, a 408 means WsusPool is overloaded (wsus probe). https://learn.microsoft.com/en-us/windows/win32/wua_sdk/wua-networking-error-codes-"
        }
        0x8024_4019 => {
            "WSUS answered 404: check the SUP's port settings against the WSUS web site in IIS and that the ClientWebService virtual directory exists (wsus probe)."
        }
        0x8024_4017 | 0x8024_4018 => {
            "WSUS refused the client: the WSUS web services must allow anonymous access (IIS Manager, virtual directories ClientWebService and SimpleAuthWebService)."
        }
        0x8024_401B => {
            "A proxy asks the clients for credentials (407): bypass the proxy for the SUP in the clients' WinHTTP settings (`proxycfg` on XP/2003, `netsh winhttp show proxy` on Vista and later). https://learn.microsoft.com/en-us/windows/win32/wua_sdk/wua-networking-error-codes-"
        }
        0x8007_2EE2 | 0x8007_2EFD => {
            "The clients cannot reach the SUP: check name resolution, firewalls and the SUP port from an affected client (telnet SUP 8530)."
        }
        0x8024_D009 => {
            "The agent skipped self-update: check the WSUS self-update tree (wsus probe, items Self-update)."
        }
        _ => {
            "Look the code up in the Windows Update error reference and read WUAHandler.log and WindowsUpdate.log on a listed client."
        }
    }
}

/// "0x80244022 WU_E_PT_HTTP_STATUS_SERVICE_UNAVAIL" or just "0x8024FFFF".
pub fn title(code: u32) -> String {
    match describe(code) {
        Some((name, _)) => format!("0x{code:08X} {name}"),
        None => format!("0x{code:08X}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_and_proxy_codes_point_at_the_proxy_not_wsuspool() {
        for code in [0x8024_4021, 0x8024_4023, 0x8024_401B, 0x8024_401C] {
            let fix = remedy(code);
            assert!(
                fix.contains("netsh winhttp show proxy"),
                "{code:08X}: {fix}"
            );
            assert!(!fix.starts_with("WSUS answered"), "{code:08X}: {fix}");
        }
        assert!(remedy(0x8024_4022).contains("WsusPool"));
    }

    #[test]
    fn signed_unsigned_and_hex_forms_agree() {
        assert_eq!(parse("-2145107934"), Some(0x8024_4022));
        assert_eq!(parse("2149859362"), Some(0x8024_4022));
        assert_eq!(parse("0x80244022"), Some(0x8024_4022));
        assert_eq!(parse("0"), Some(0));
        assert_eq!(parse("x"), None);
        assert_eq!(parse("99999999999"), None);
        assert_eq!(
            title(0x8024_4022),
            "0x80244022 WU_E_PT_HTTP_STATUS_SERVICE_UNAVAIL"
        );
        assert_eq!(title(0x8024_FFFF), "0x8024FFFF");
    }
}
