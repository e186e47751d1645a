//! Four-part Windows versions ("7.4.7600.226"), compared numerically part by part, so that
//! 7.10 > 7.9. Missing parts count as 0.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy)]
pub struct WinVersion {
    parts: [u32; 4],
    /// How many parts were written (for display).
    len: u8,
}

impl WinVersion {
    pub const fn new(a: u32, b: u32, c: u32, d: u32) -> WinVersion {
        WinVersion {
            parts: [a, b, c, d],
            len: 4,
        }
    }

    pub fn parts(&self) -> [u32; 4] {
        self.parts
    }

    /// Major.minor, e.g. (3, 2).
    pub fn major_minor(&self) -> (u32, u32) {
        (self.parts[0], self.parts[1])
    }
}

impl FromStr for WinVersion {
    type Err = String;

    fn from_str(s: &str) -> Result<WinVersion, String> {
        let t = s.trim();
        if t.is_empty() {
            return Err("empty version".into());
        }
        let mut parts = [0u32; 4];
        let mut len = 0u8;
        for (i, p) in t.split('.').enumerate() {
            if i >= 4 {
                return Err(format!("\"{s}\" has more than 4 parts"));
            }
            parts[i] = p
                .parse()
                .map_err(|_| format!("\"{s}\" is not a version (part {} is \"{p}\")", i + 1))?;
            len += 1;
        }
        Ok(WinVersion { parts, len })
    }
}

// Equality, hashing and ordering all look at the numbers only: "3.2" == "3.2.0.0".
impl PartialEq for WinVersion {
    fn eq(&self, other: &Self) -> bool {
        self.parts == other.parts
    }
}

impl Eq for WinVersion {}

impl std::hash::Hash for WinVersion {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.parts.hash(state);
    }
}

impl Ord for WinVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.parts.cmp(&other.parts)
    }
}

impl PartialOrd for WinVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for WinVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: Vec<String> = self.parts[..usize::from(self.len.max(1))]
            .iter()
            .map(u32::to_string)
            .collect();
        f.write_str(&shown.join("."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> WinVersion {
        s.parse().unwrap()
    }

    #[test]
    fn compares_numerically_per_part() {
        assert!(v("7.10") > v("7.9"));
        assert!(v("7.4.7600.226") > v("7.0.6000.363"));
        assert!(v("7.6.7600.256") > v("7.4.7600.226"));
        assert!(v("3.1.4000.2435") > v("3.1.4000.1823"));
        assert_eq!(v("3.2"), v("3.2.0.0"));
        assert_eq!(v(" 3.2.7600.226 ").to_string(), "3.2.7600.226");
        assert_eq!(v("3.2").to_string(), "3.2");
    }

    #[test]
    fn rejects_what_is_not_a_version() {
        assert!("".parse::<WinVersion>().unwrap_err().contains("empty"));
        assert!(
            "7.x.1"
                .parse::<WinVersion>()
                .unwrap_err()
                .contains("part 2 is \"x\"")
        );
        assert!(
            "1.2.3.4.5"
                .parse::<WinVersion>()
                .unwrap_err()
                .contains("more than 4 parts")
        );
        assert!("-1".parse::<WinVersion>().is_err());
    }
}
