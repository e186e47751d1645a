//! Real NTLM and Kerberos acceptors on loopback (shared/docs/auth-lab.md): Debian's Apache
//! httpd serving a DP-like package tree with byte ranges and WebDAV (mod_dav), protected by
//! mod_auth_gssapi — NTLM through gss-ntlmssp under `/ntlm/`, Kerberos under `/krb/` against
//! an MIT KDC whose realm is created in a temp folder. Both processes run in their own
//! process groups and are killed (the whole group) when the lab is dropped, panics included.
//! Nothing here imitates NTLM or Kerberos.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const REALM: &str = "CORP.EXAMPLE";
pub const NTLM_USER: &str = "CORP\\svc-patchdeck";
pub const NTLM_PASSWORD: &str = "S3cret-Pass";
pub const KRB_PRINCIPAL: &str = "svc-patchdeck@CORP.EXAMPLE";
/// The package file every protected folder serves (100,000 bytes).
pub const PACKAGE_PATH: &str = "SMS_DP_SMSPKGD%24/ABC00012/setup.cab";

/// A child process in its own process group, killed with its group on drop.
struct Group(Child);

impl Drop for Group {
    fn drop(&mut self) {
        let pid = self.0.id() as i32;
        // SAFETY: kill(2) on a process group we created; no memory is involved.
        unsafe {
            libc::kill(-pid, libc::SIGTERM);
        }
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(3) {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // SAFETY: as above.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
        let _ = self.0.wait();
    }
}

/// The running lab.
pub struct AuthLab {
    pub dir: PathBuf,
    pub port: u16,
    /// KRB5_CONFIG for clients (the KDC on loopback, realm CORP.EXAMPLE).
    pub krb5_conf: PathBuf,
    /// The client keytab of svc-patchdeck@CORP.EXAMPLE (mode 0600).
    pub client_keytab: PathBuf,
    /// A file with the NTLM password (mode 0600).
    pub password_file: PathBuf,
    /// The keytab of expired-svc@CORP.EXAMPLE, whose principal expired in 2000 (mode 0600).
    pub expired_keytab: PathBuf,
    apache: Option<Group>,
    kdc: Option<Group>,
}

impl Drop for AuthLab {
    fn drop(&mut self) {
        self.apache.take();
        self.kdc.take();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn need(bin: &str, package: &str) -> PathBuf {
    for dir in ["/usr/sbin", "/usr/bin", "/sbin", "/bin"] {
        let p = Path::new(dir).join(bin);
        if p.exists() {
            return p;
        }
    }
    panic!("this test needs {bin} from Debian's {package} (.ci/install-test-deps installs it)");
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn wait_for_port(port: u16, what: &str, child: &mut Child, log: &Path) {
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(20) {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "{what} exited ({status}): {}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "{what} did not listen on 127.0.0.1:{port}: {}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

impl AuthLab {
    /// Creates the realm, starts the KDC and Apache. Needs root (Apache switches to
    /// www-data) and Debian's apache2, libapache2-mod-auth-gssapi, gss-ntlmssp, krb5-kdc and
    /// krb5-user.
    pub fn start() -> AuthLab {
        // SAFETY: geteuid has no preconditions.
        let euid = unsafe { libc::geteuid() };
        assert_eq!(
            euid, 0,
            "the auth lab runs Apache, which must start as root (CI runs as root)"
        );
        let apache2 = need("apache2", "apache2");
        let krb5kdc = need("krb5kdc", "krb5-kdc");
        let kdb5_util = need("kdb5_util", "krb5-kdc");
        let kadmin = need("kadmin.local", "krb5-kdc");
        assert!(
            Path::new("/usr/lib/apache2/modules/mod_auth_gssapi.so").exists(),
            "this test needs Debian's libapache2-mod-auth-gssapi"
        );
        assert!(
            Path::new("/etc/gss/mech.d/mech.ntlmssp.conf").exists()
                || Path::new("/etc/gss/mech.d/ntlmssp.conf").exists(),
            "this test needs Debian's gss-ntlmssp"
        );
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        // Under /tmp: www-data must traverse every folder to the document root.
        let dir = PathBuf::from(format!(
            "/tmp/patchdeck-authlab-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let (port, kdc_port) = (free_port(), free_port());
        let p = |name: &str| dir.join(name);

        // --- Kerberos realm ---
        let krb5_conf = p("krb5.conf");
        std::fs::write(
            &krb5_conf,
            format!(
                "[libdefaults]\n default_realm = {REALM}\n dns_lookup_kdc = false\n dns_lookup_realm = false\n rdns = false\n udp_preference_limit = 1\n\n[realms]\n {REALM} = {{\n  kdc = 127.0.0.1:{kdc_port}\n }}\n\n[domain_realm]\n localhost = {REALM}\n"
            ),
        )
        .unwrap();
        let kdc_conf = p("kdc.conf");
        std::fs::write(
            &kdc_conf,
            format!(
                "[kdcdefaults]\n kdc_ports = {kdc_port}\n kdc_tcp_ports = {kdc_port}\n\n[realms]\n {REALM} = {{\n  database_name = {db}\n  key_stash_file = {stash}\n  acl_file = {acl}\n  max_life = 10h\n }}\n",
                db = p("principal").display(),
                stash = p("stash").display(),
                acl = p("kadm5.acl").display()
            ),
        )
        .unwrap();
        std::fs::write(p("kadm5.acl"), "").unwrap();
        let krb_env = |c: &mut Command| {
            c.env("KRB5_CONFIG", &krb5_conf)
                .env("KRB5_KDC_PROFILE", &kdc_conf);
        };
        let mut c = Command::new(&kdb5_util);
        c.args(["create", "-s", "-r", REALM, "-P", "master-Key-1"]);
        krb_env(&mut c);
        run(&mut c, "kdb5_util create");
        let http_keytab = p("http.keytab");
        let client_keytab = p("svc.keytab");
        let expired_keytab = p("expired.keytab");
        for q in [
            "addprinc -randkey HTTP/localhost".to_owned(),
            "addprinc -pw Krb-Pass-1 svc-patchdeck".to_owned(),
            // An account whose validity ended (as when a service account expires in AD).
            "addprinc -randkey -expire 2000-01-01 expired-svc".to_owned(),
            format!("ktadd -k {} HTTP/localhost", http_keytab.display()),
            format!("ktadd -k {} svc-patchdeck", client_keytab.display()),
            format!("ktadd -k {} expired-svc", expired_keytab.display()),
        ] {
            let mut c = Command::new(&kadmin);
            c.args(["-r", REALM, "-q", &q]);
            krb_env(&mut c);
            run(&mut c, &format!("kadmin.local {q}"));
        }
        std::fs::set_permissions(&client_keytab, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::set_permissions(&expired_keytab, std::fs::Permissions::from_mode(0o600)).unwrap();
        let kdc_log = p("kdc.log");
        let mut c = Command::new(&krb5kdc);
        c.args(["-n", "-r", REALM])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&kdc_log).unwrap())
            .process_group(0);
        krb_env(&mut c);
        let mut kdc_child = c.spawn().expect("start krb5kdc");
        wait_for_port(kdc_port, "krb5kdc", &mut kdc_child, &kdc_log);
        let kdc = Group(kdc_child);

        // --- The DP tree and the NTLM users ---
        let www = p("www");
        let mut body = Vec::with_capacity(100_000);
        for i in 0..100_000u32 {
            body.push((i % 251) as u8);
        }
        for area in ["ntlm", "krb"] {
            let pkg = www.join(area).join("SMS_DP_SMSPKGD$").join("ABC00012");
            std::fs::create_dir_all(&pkg).unwrap();
            std::fs::write(pkg.join("setup.cab"), &body).unwrap();
            // A reporting point's directory with its reports page (static here: the probe
            // only needs the authenticated 200 that ASP would give).
            let rp = www.join(area).join("SMSReporting_ABC");
            std::fs::create_dir_all(&rp).unwrap();
            std::fs::write(
                rp.join("Report.asp"),
                "<html><title>SMS Reports</title><body>Software Updates - A. Compliance</body></html>",
            )
            .unwrap();
        }
        let ntlm_users = p("ntlm_users");
        std::fs::write(&ntlm_users, format!("CORP:svc-patchdeck:{NTLM_PASSWORD}\n")).unwrap();
        let password_file = p("dp.secret");
        std::fs::write(&password_file, NTLM_PASSWORD).unwrap();
        std::fs::set_permissions(&password_file, std::fs::Permissions::from_mode(0o600)).unwrap();
        // www-data reads the tree, the acceptor keytab, the NTLM user file; writes the lock db.
        run(
            Command::new("chown").args([
                "-R",
                "www-data:www-data",
                www.to_str().unwrap(),
                http_keytab.to_str().unwrap(),
                ntlm_users.to_str().unwrap(),
            ]),
            "chown www-data",
        );
        let dav = p("dav");
        std::fs::create_dir_all(&dav).unwrap();
        run(
            Command::new("chown").args(["www-data:www-data", dav.to_str().unwrap()]),
            "chown dav",
        );

        // --- Apache ---
        let m = "/usr/lib/apache2/modules";
        let httpd_conf = p("httpd.conf");
        std::fs::write(
            &httpd_conf,
            format!(
                r#"ServerRoot {root}
ServerName localhost
Listen 127.0.0.1:{port}
PidFile {root}/httpd.pid
ErrorLog {root}/error.log
LogLevel info auth_gssapi:debug
User www-data
Group www-data
Mutex file:{root}
LoadModule mpm_event_module {m}/mod_mpm_event.so
LoadModule authz_core_module {m}/mod_authz_core.so
LoadModule authn_core_module {m}/mod_authn_core.so
LoadModule authz_user_module {m}/mod_authz_user.so
LoadModule auth_gssapi_module {m}/mod_auth_gssapi.so
LoadModule dav_module {m}/mod_dav.so
LoadModule dav_fs_module {m}/mod_dav_fs.so
LoadModule mime_module {m}/mod_mime.so
LoadModule env_module {m}/mod_env.so
TypesConfig /etc/mime.types
KeepAlive On
MaxKeepAliveRequests 100
DAVLockDB {root}/dav/lockdb
DocumentRoot {www}
<Directory />
    Require all denied
</Directory>
<Directory {www}/ntlm>
    Dav On
    AuthType GSSAPI
    AuthName "DP (NTLM)"
    GssapiAllowedMech ntlmssp
    GssapiConnectionBound On
    Require valid-user
</Directory>
<Directory {www}/krb>
    Dav On
    AuthType GSSAPI
    AuthName "DP (Kerberos)"
    GssapiAllowedMech krb5
    GssapiCredStore keytab:{keytab}
    GssapiConnectionBound On
    Require valid-user
</Directory>
"#,
                root = dir.display(),
                www = www.display(),
                keytab = http_keytab.display(),
            ),
        )
        .unwrap();
        let log = p("error.log");
        let mut c = Command::new(&apache2);
        c.arg("-f")
            .arg(&httpd_conf)
            .arg("-DFOREGROUND")
            .env("KRB5_CONFIG", &krb5_conf)
            .env("NTLM_USER_FILE", &ntlm_users)
            .env("APACHE_RUN_DIR", &dir)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(p("apache.stderr")).unwrap())
            .process_group(0);
        let mut apache_child = c.spawn().expect("start apache2");
        wait_for_port(port, "apache2", &mut apache_child, &log);
        AuthLab {
            dir,
            port,
            krb5_conf,
            client_keytab,
            password_file,
            expired_keytab,
            apache: Some(Group(apache_child)),
            kdc: Some(kdc),
        }
    }

    /// The package file under the NTLM-protected folder.
    pub fn ntlm_url(&self) -> String {
        format!("http://localhost:{}/ntlm/{PACKAGE_PATH}", self.port)
    }

    /// The package file under the Kerberos-protected folder (host `localhost`: the service
    /// principal is HTTP/localhost).
    pub fn krb_url(&self) -> String {
        format!("http://localhost:{}/krb/{PACKAGE_PATH}", self.port)
    }

    /// The reporting point's reports page under `area` ("ntlm" or "krb").
    pub fn rp_url(&self, area: &str) -> String {
        format!(
            "http://localhost:{}/{area}/SMSReporting_ABC/Report.asp",
            self.port
        )
    }

    /// Apache's error log, for assertion messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }
}
