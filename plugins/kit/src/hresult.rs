//! Windows Update Agent scan errors worth naming (domain.md 2). LastErrorCode is a signed
//! 32-bit HRESULT in the site database; unknown codes are shown in hex, never dropped.

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
