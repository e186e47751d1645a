//! Human durations as written in the config ("30s", "5m", "1h30m", "500ms") and as shown to
//! operators ("10s", "1m30s"). Shared by the core and every probe: one syntax everywhere.

use std::time::Duration;

/// Parses "30s", "5m", "1h30m", "500ms", "2d". Every number needs a unit.
pub fn parse(text: &str) -> Result<Duration, String> {
    let hint = "use a number with a unit, like \"30s\", \"5m\", \"1h30m\" or \"500ms\"";
    let s = text.trim();
    if s.is_empty() {
        return Err(format!("empty duration: {hint}"));
    }
    if s.contains(char::is_whitespace) {
        return Err(format!(
            "\"{text}\" is not a duration (no spaces inside): {hint}"
        ));
    }
    let mut total: u128 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!("\"{text}\" is not a duration: {hint}"));
        }
        let number: u128 = rest[..digits]
            .parse()
            .map_err(|_| format!("\"{text}\" is too large"))?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let millis_per = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "" => return Err(format!("\"{text}\" has a number without a unit: {hint}")),
            other => {
                return Err(format!(
                    "\"{text}\" has an unknown unit \"{other}\": {hint}"
                ));
            }
        };
        total = total
            .checked_add(number.saturating_mul(millis_per))
            .filter(|t| *t <= u128::from(u64::MAX))
            .ok_or_else(|| format!("\"{text}\" is too large"))?;
    }
    Ok(Duration::from_millis(total as u64))
}

/// Formats a duration compactly for operators: "500ms", "10s", "1m30s", "2h", "1d3h".
pub fn format(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1_000 {
        return format!("{ms}ms");
    }
    if !ms.is_multiple_of(1_000) && ms < 60_000 {
        let tenths = (ms + 50) / 100;
        return if tenths.is_multiple_of(10) {
            format!("{}s", tenths / 10)
        } else {
            format!("{}.{}s", tenths / 10, tenths % 10)
        };
    }
    let mut secs = (ms / 1_000) as u64;
    let mut out = String::new();
    for (unit, size) in [("d", 86_400u64), ("h", 3_600), ("m", 60), ("s", 1)] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_combinations() {
        assert_eq!(parse("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse(" 2d ").unwrap(), Duration::from_secs(172_800));
        assert_eq!(parse("0s").unwrap(), Duration::ZERO);
    }

    #[test]
    fn rejects_what_is_not_a_duration() {
        assert!(parse("30").unwrap_err().contains("without a unit"));
        assert!(parse("30 s").unwrap_err().contains("not a duration"));
        assert!(parse("5y").unwrap_err().contains("unknown unit \"y\""));
        assert!(parse("").unwrap_err().contains("empty"));
        assert!(parse("-5s").unwrap_err().contains("not a duration"));
        assert!(
            parse("99999999999999999999999d")
                .unwrap_err()
                .contains("too large")
        );
    }

    #[test]
    fn formats_compactly() {
        assert_eq!(format(Duration::from_secs(10)), "10s");
        assert_eq!(format(Duration::from_secs(90)), "1m30s");
        assert_eq!(format(Duration::from_millis(250)), "250ms");
        assert_eq!(format(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format(Duration::from_secs(7200)), "2h");
        assert_eq!(format(Duration::from_secs(86_400 + 3_600)), "1d1h");
    }
}
