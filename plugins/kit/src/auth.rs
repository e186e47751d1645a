//! Credentials for probes that must log in (DPs, the reporting point and the WSUS admin API
//! refuse anonymous access by default), and the HTTP 401 -> token -> 200 handshake the
//! [`crate::http::Http`] client runs with them.
//!
//! ```toml
//! auth = { user = "CORP\\svc-patchdeck", password = { file = "/etc/patchdeck/dp.secret" } }  # NTLM
//! auth = { kerberos = true, principal = "svc-patchdeck@CORP.EXAMPLE", keytab = "/etc/patchdeck/patchdeck.keytab" }
//! auth = { kerberos = true }   # the ticket cache of the user running patchdeck (kinit)
//! ```
//!
//! The scheme follows the server's `WWW-Authenticate`: `Negotiate` -> Kerberos when Kerberos
//! credentials are configured, else NTLM inside Negotiate (IIS and MIT's acceptor take a raw
//! NTLMSSP token there); `NTLM` -> NTLM. `Basic` is never answered: a password is never sent
//! in clear.

use crate::gssapi::{Context, Credential, Mech};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// `auth = { ... }` in a probe's config.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// NTLM: "DOMAIN\\user" or "user@domain".
    pub user: Option<String>,
    /// NTLM: the password (give it as `{ file = "..." }` or `{ env = "..." }`).
    pub password: Option<String>,
    /// Kerberos (Negotiate).
    #[serde(default)]
    pub kerberos: bool,
    /// Kerberos: the client principal, "name@REALM" (default: the cache's or keytab's first).
    pub principal: Option<String>,
    /// Kerberos: a client keytab (mode 0600 or 0400, never readable by others).
    pub keytab: Option<PathBuf>,
}

impl AuthConfig {
    /// Checks the fields without logging in; `field` names the config key in errors.
    pub fn validate(&self, field: &str) -> Result<(), String> {
        match (self.kerberos, &self.user, &self.password) {
            (false, None, _) => {
                return Err(format!(
                    "field `{field}`: give `user` and `password` (NTLM) or `kerberos = true`"
                ));
            }
            (false, Some(_), None) => {
                return Err(format!(
                    "field `{field}.password`: NTLM needs the password (password = {{ file = \"...\" }})"
                ));
            }
            (_, Some(u), _) if !valid_user(u) => {
                return Err(format!(
                    "field `{field}.user`: \"{u}\" is not DOMAIN\\user or user@domain"
                ));
            }
            _ => {}
        }
        if !self.kerberos && (self.principal.is_some() || self.keytab.is_some()) {
            return Err(format!(
                "field `{field}`: `principal` and `keytab` are for Kerberos: add kerberos = true"
            ));
        }
        if let Some(p) = &self.principal
            && !valid_principal(p)
        {
            return Err(format!(
                "field `{field}.principal`: \"{p}\" is not name@REALM (the realm in capitals, e.g. svc-patchdeck@CORP.EXAMPLE)"
            ));
        }
        if let Some(k) = &self.keytab {
            check_keytab(k).map_err(|e| format!("field `{field}.keytab`: {e}"))?;
        }
        Ok(())
    }

    /// "user CORP\\svc" or "principal svc@CORP.EXAMPLE" (never the password), for verdicts.
    pub fn who(&self) -> String {
        match (&self.user, &self.principal, self.kerberos) {
            (Some(u), _, false) => format!("user {u}"),
            (_, Some(p), true) => format!("principal {p}"),
            (Some(u), None, true) => format!("user {u}"),
            (None, Some(p), false) => format!("principal {p}"),
            (None, None, _) => "the ticket cache's principal".to_owned(),
        }
    }
}

fn valid_user(u: &str) -> bool {
    let ok = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| !c.is_control() && !c.is_whitespace() && c != '\\' && c != '@')
    };
    match (u.split_once('\\'), u.split_once('@')) {
        (Some((d, n)), None) => ok(d) && ok(n),
        (None, Some((n, d))) => ok(n) && ok(d),
        (None, None) => ok(u),
        _ => false,
    }
}

fn valid_principal(p: &str) -> bool {
    match p.rsplit_once('@') {
        Some((name, realm)) => {
            !name.is_empty()
                && !realm.is_empty()
                && !name.chars().any(|c| c.is_control() || c.is_whitespace())
                && realm
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '.' || c == '-')
        }
        None => false,
    }
}

fn check_keytab(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!("{} is not a regular file", path.display()));
    }
    if meta.mode() & 0o004 != 0 {
        return Err(format!(
            "{} is readable by others (mode {:o}): chmod 600 it (a keytab is a password)",
            path.display(),
            meta.mode() & 0o777
        ));
    }
    Ok(())
}

/// The schemes a 401 offers, from its `WWW-Authenticate` values ("Negotiate", "NTLM abc=").
pub fn offered(www_authenticate: &[&str]) -> Vec<String> {
    www_authenticate
        .iter()
        .flat_map(|v| v.split(','))
        .filter_map(|v| v.split_whitespace().next())
        .filter(|s| !s.contains('='))
        .map(str::to_owned)
        .collect()
}

/// The server's token for `scheme` in a response's `WWW-Authenticate` values, base64-decoded.
/// `Ok(None)`: the scheme without a token. Oversized or invalid tokens are errors.
pub fn server_token(www_authenticate: &[&str], scheme: &str) -> Result<Option<Vec<u8>>, String> {
    use base64::Engine as _;
    for v in www_authenticate {
        let mut words = v.split_whitespace();
        if !words.next().is_some_and(|s| s.eq_ignore_ascii_case(scheme)) {
            continue;
        }
        let Some(t) = words.next() else {
            return Ok(None);
        };
        if t.len() > MAX_TOKEN_B64 {
            return Err(format!(
                "the server's {scheme} token is {} bytes, over the {MAX_TOKEN_B64}-byte limit",
                t.len()
            ));
        }
        return base64::engine::general_purpose::STANDARD
            .decode(t)
            .map(Some)
            .map_err(|e| format!("the server's {scheme} token is not base64 ({e})"));
    }
    Ok(None)
}

/// Tokens larger than this (base64) are refused: a Kerberos ticket with a large PAC stays under
/// it (Windows' MaxTokenSize is 48,000 bytes at most), and the HTTP client refuses headers
/// over 64 KiB anyway.
pub const MAX_TOKEN_B64: usize = 48 * 1024;
/// At most this many authenticated requests per handshake (NTLM needs 2, Kerberos 1).
pub const MAX_LEGS: usize = 4;

/// What the handshake did, for the probe's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// No 401, or no credentials configured.
    Anonymous,
    /// Logged in with this scheme.
    Accepted(String),
    /// The server answered the last token with 401 again: wrong user, password or ticket.
    Refused { scheme: String },
    /// The server offers no scheme patchdeck will answer (e.g. Basic only: never in clear).
    NotOffered { offered: Vec<String> },
    /// patchdeck could not produce a token (no ticket, KDC unreachable, no gss-ntlmssp...):
    /// nothing is known about the server.
    ClientFailed(String),
    /// The server's side of the handshake is broken (invalid token, endless legs, failed
    /// mutual authentication).
    ServerInvalid(String),
}

/// Credentials for one probe, acquired on first use and kept (a Kerberos TGT lives in a
/// memory cache; re-acquired after a failure).
#[derive(Debug)]
pub struct Authenticator {
    pub config: AuthConfig,
    cred: Mutex<Option<std::sync::Arc<Credential>>>,
}

impl Authenticator {
    pub fn new(config: AuthConfig) -> Authenticator {
        Authenticator {
            config,
            cred: Mutex::new(None),
        }
    }

    /// The scheme to answer from those offered, or `None`.
    pub fn pick(&self, offered: &[String]) -> Option<&'static str> {
        let has = |s: &str| offered.iter().any(|o| o.eq_ignore_ascii_case(s));
        if self.config.kerberos {
            return has("Negotiate").then_some("Negotiate");
        }
        if has("NTLM") {
            Some("NTLM")
        } else if has("Negotiate") {
            Some("Negotiate")
        } else {
            None
        }
    }

    fn credential(&self) -> Result<std::sync::Arc<Credential>, String> {
        let mut slot = self.cred.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let c = if self.config.kerberos {
            Credential::kerberos(
                self.config.principal.as_deref(),
                self.config
                    .keytab
                    .as_deref()
                    .map(|k| k.to_str().unwrap_or_default()),
            )?
        } else {
            Credential::ntlm(
                self.config.user.as_deref().unwrap_or_default(),
                self.config.password.as_deref().unwrap_or_default(),
            )?
        };
        let c = std::sync::Arc::new(c);
        *slot = Some(c.clone());
        Ok(c)
    }

    /// Forgets the credential (after a refusal: a renewed keytab or ticket is picked up).
    pub fn reset(&self) {
        *self.cred.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// A handshake with `host`: its first token.
    pub fn start(&self, host: &str) -> Result<Handshake, String> {
        let cred = self.credential()?;
        Handshake::new(cred, host)
    }
}

/// One handshake in progress.
pub struct Handshake {
    ctx: Context,
    pub mech: Mech,
}

impl Handshake {
    fn new(cred: std::sync::Arc<Credential>, host: &str) -> Result<Handshake, String> {
        let mech = cred.mech;
        Ok(Handshake {
            ctx: Context::new(cred, host)?,
            mech,
        })
    }

    pub fn step(&mut self, input: Option<&[u8]>) -> Result<Vec<u8>, String> {
        self.ctx.step(input)
    }

    pub fn complete(&self) -> bool {
        self.ctx.complete
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_checked_without_logging_in() {
        let ntlm = |u: &str| AuthConfig {
            user: Some(u.into()),
            password: Some("x".into()),
            kerberos: false,
            principal: None,
            keytab: None,
        };
        assert!(ntlm("CORP\\svc-patchdeck").validate("auth").is_ok());
        assert!(ntlm("svc@corp.example").validate("auth").is_ok());
        let e = ntlm("CORP\\a\\b").validate("auth").unwrap_err();
        assert!(e.contains("is not DOMAIN\\user"), "{e}");
        let mut c = ntlm("CORP\\svc");
        c.password = None;
        assert!(
            c.validate("auth")
                .unwrap_err()
                .contains("needs the password")
        );
        let krb = |p: &str| AuthConfig {
            user: None,
            password: None,
            kerberos: true,
            principal: Some(p.into()),
            keytab: None,
        };
        assert!(krb("svc-patchdeck@CORP.EXAMPLE").validate("auth").is_ok());
        let e = krb("svc-patchdeck@corp").validate("auth").unwrap_err();
        assert!(e.contains("is not name@REALM"), "{e}");
        let dir = std::env::temp_dir().join(format!("kit-keytab-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let kt = dir.join("k.keytab");
        std::fs::write(&kt, b"\x05\x02").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&kt, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut c = krb("svc@CORP.EXAMPLE");
        c.keytab = Some(kt.clone());
        let e = c.validate("auth").unwrap_err();
        assert!(e.contains("readable by others (mode 644)"), "{e}");
        std::fs::set_permissions(&kt, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(c.validate("auth").is_ok());
        assert_eq!(c.who(), "principal svc@CORP.EXAMPLE");
    }

    #[test]
    fn schemes_and_tokens_from_www_authenticate() {
        assert_eq!(
            offered(&["Negotiate", "NTLM", "Basic realm=\"x\""]),
            ["Negotiate", "NTLM", "Basic"]
        );
        assert_eq!(
            server_token(&["NTLM TlRMTVNTUAAC"], "NTLM")
                .unwrap()
                .unwrap()[..7],
            *b"NTLMSSP"
        );
        assert_eq!(server_token(&["Negotiate"], "Negotiate").unwrap(), None);
        assert!(
            server_token(&["NTLM !!!"], "NTLM")
                .unwrap_err()
                .contains("not base64")
        );
        let huge = format!("NTLM {}", "A".repeat(MAX_TOKEN_B64 + 4));
        assert!(
            server_token(&[&huge], "NTLM")
                .unwrap_err()
                .contains("over the")
        );
        let a = Authenticator::new(AuthConfig {
            user: Some("CORP\\svc".into()),
            password: Some("x".into()),
            kerberos: false,
            principal: None,
            keytab: None,
        });
        assert_eq!(a.pick(&["Negotiate".into(), "NTLM".into()]), Some("NTLM"));
        assert_eq!(a.pick(&["Basic".into()]), None);
    }
}
