//! The system GSSAPI with gss-ntlmssp on both sides, in process: a real NTLM handshake
//! (NEGOTIATE, CHALLENGE, AUTHENTICATE), and a wrong password refused by the acceptor.
//! Passwords of every length work (gss-ntlmssp reads them as C strings).

use patchdeck_kit::gssapi::{Acceptor, Context, Credential};
use std::sync::Arc;

fn users_file() -> String {
    let dir = std::env::temp_dir().join(format!("kit-ntlm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("users");
    std::fs::write(&p, "CORP:svc-patchdeck:Demo-Pass-1\nCORP:short:abc\n").unwrap();
    p.display().to_string()
}

fn handshake(acc: &Arc<Acceptor>, user: &str, password: &str) -> Result<(), String> {
    let cred = Arc::new(Credential::ntlm(user, password)?);
    let mut c = Context::new(cred, "localhost")?;
    let mut s = acc.context();
    let t1 = c.step(None)?;
    let (t2, done) = s.step(&t1)?;
    assert!(!done);
    let t3 = c.step(Some(&t2))?;
    let (_, done) = s.step(&t3)?;
    assert!(done);
    Ok(())
}

#[test]
fn ntlm_logs_in_and_a_wrong_password_is_refused() {
    let acc = Arc::new(
        Acceptor::ntlm("localhost", &users_file())
            .expect("gss-ntlmssp (.ci/install-test-deps installs it)"),
    );
    handshake(&acc, "CORP\\svc-patchdeck", "Demo-Pass-1").unwrap();
    handshake(&acc, "CORP\\short", "abc").unwrap();
    let e = handshake(&acc, "CORP\\svc-patchdeck", "nope").unwrap_err();
    assert!(!e.is_empty());
}
