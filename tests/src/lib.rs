//! Helpers for patchdeck's integration tests: where the built binaries and plugins are,
//! private scratch folders, compiling C plugins with the system compiler.
//!
//! The test command builds the workspace first (`cargo build --workspace && cargo test
//! --workspace`): `cargo test` alone does not produce the plugins' `.so` files.

use patchdeck_core::config;
use patchdeck_core::engine::{Engine, EngineOptions};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

/// `target/<profile>`, where cargo put the binaries and plugin libraries.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let mut dir = exe.parent().expect("exe folder").to_owned();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir
}

fn built(name: &str) -> PathBuf {
    let p = target_dir().join(name);
    assert!(
        p.exists(),
        "{} is missing: run `cargo build --workspace` before the tests (cargo test does not build cdylibs or other crates' binaries)",
        p.display()
    );
    p
}

/// The mock plugin library.
pub fn mock_lib() -> PathBuf {
    built(&format!(
        "libpatchdeck_mock{}",
        std::env::consts::DLL_SUFFIX
    ))
}

/// The `patchdeck-probe-host` binary.
pub fn probe_host() -> PathBuf {
    built("patchdeck-probe-host")
}

/// The `patchdeck` binary.
pub fn patchdeck_bin() -> PathBuf {
    built("patchdeck")
}

/// A fresh, private (mode 0755, owned by us) folder under `target/tmp`, so plugin
/// permission checks pass and nothing leaks between tests.
pub fn scratch(name: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = target_dir()
        .parent()
        .expect("target")
        .join("tmp")
        .join(format!(
            "{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod scratch");
    dir
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repo root")
        .to_owned()
}

/// Compiles C source into a shared library with the system compiler (`$CC` or `cc`),
/// against `probe-api/include`.
pub fn compile_c(source: &Path, out: &Path, defines: &[&str]) {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    let mut cmd = Command::new(&cc);
    cmd.args([
        "-shared",
        "-fPIC",
        "-O1",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-std=c99",
        "-D_POSIX_C_SOURCE=200809L",
    ])
    .arg("-I")
    .arg(repo_root().join("probe-api/include"));
    for d in defines {
        cmd.arg(format!("-D{d}"));
    }
    cmd.arg(source).arg("-o").arg(out);
    let output = cmd.output().unwrap_or_else(|e| {
        panic!("cannot run the C compiler `{cc}`: {e} (install gcc or set CC)")
    });
    assert!(
        output.status.success(),
        "compiling {} failed:\n{}",
        source.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::set_permissions(out, std::fs::Permissions::from_mode(0o755)).expect("chmod lib");
}

/// Writes a config file into `dir` and returns its path.
pub fn write_config(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("patchdeck.toml");
    std::fs::write(&p, text).expect("write config");
    p
}

/// Builds an engine for config text, with plugins from `target/<profile>` plus `extra_dirs`.
pub async fn engine(dir: &Path, text: &str, extra_dirs: &[PathBuf]) -> Engine {
    let path = write_config(dir, text);
    let config = config::load(&path).unwrap_or_else(|e| panic!("config: {e}"));
    let mut dirs = vec![target_dir()];
    dirs.extend(extra_dirs.iter().cloned());
    let opts = EngineOptions {
        validate_files: false,
        allow_insecure_plugins: false,
        host_exe: Some(probe_host()),
        extra_plugin_dirs: dirs,
    };
    Engine::build(config, &opts)
        .await
        .unwrap_or_else(|e| panic!("engine: {e}"))
}

/// Runs the real `patchdeck` binary with plugin folder `target/<profile>`.
pub fn run_patchdeck(args: &[&str]) -> Output {
    Command::new(patchdeck_bin())
        .args(args)
        .env_remove("PATCHDECK_CONFIG")
        .env_remove("RUST_LOG")
        .output()
        .expect("run patchdeck")
}

/// Text of stdout / stderr.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// An in-memory plugin that answers every check at once with a fixed report: measures the
/// scheduler and store without any plugin cost.
pub mod authlab;

/// A process started by a test in a process group of its own: on drop (panics included) the
/// whole group is killed and reaped, so daemons that fork (icinga2, nagios4, apache2) never
/// outlive the test.
pub struct Group(pub std::process::Child);

impl Group {
    /// Starts `cmd` as the leader of a new process group.
    pub fn spawn(cmd: &mut Command) -> Group {
        use std::os::unix::process::CommandExt;
        Group(
            cmd.process_group(0)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}")),
        )
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        let pid = self.0.id() as i32;
        // SAFETY: kill(2) on the process group this test created; no memory is involved.
        unsafe {
            libc::kill(-pid, libc::SIGTERM);
        }
        let t0 = std::time::Instant::now();
        while t0.elapsed() < std::time::Duration::from_secs(3) {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        // SAFETY: as above; whatever ignored SIGTERM (icinga2's workers do) goes now.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
        let _ = self.0.wait();
    }
}

pub mod instant {
    use patchdeck_core::config::Isolation;
    use patchdeck_core::plugin::PluginInfo;
    use patchdeck_core::runner::{BoxFuture, CallParams, Instance, Plugin, RunError};
    use std::sync::Arc;

    pub struct InstantPlugin {
        info: PluginInfo,
    }

    impl Default for InstantPlugin {
        fn default() -> Self {
            InstantPlugin {
                info: PluginInfo {
                    kind: "instant".into(),
                    version: "0".into(),
                    abi_major: 1,
                    abi_minor: 0,
                    description: String::new(),
                    config_schema: None,
                    rules: Vec::new(),
                },
            }
        }
    }

    struct InstantInstance;

    impl Plugin for InstantPlugin {
        fn info(&self) -> &PluginInfo {
            &self.info
        }
        fn isolation(&self) -> Isolation {
            Isolation::InProcess
        }
        fn create(&self, _: &str, _: &str) -> BoxFuture<Result<Arc<dyn Instance>, RunError>> {
            Box::pin(async { Ok(Arc::new(InstantInstance) as Arc<dyn Instance>) })
        }
        fn shutdown(&self) -> BoxFuture<()> {
            Box::pin(async {})
        }
    }

    impl Instance for InstantInstance {
        fn check(&self, _: CallParams) -> BoxFuture<Result<String, RunError>> {
            Box::pin(async {
                Ok(
                    r#"{"status":"ok","summary":"instant","metrics":[{"label":"x","value":1}]}"#
                        .to_owned(),
                )
            })
        }
        fn destroy(&self) -> BoxFuture<()> {
            Box::pin(async {})
        }
    }
}

pub use patchdeck_sitesim::http::{Request as StubRequest, closed_port, serve as stub_server};

/// A loopback server answering every request with the same raw response after `delay`.
pub fn stub_http(raw_response: &str, delay: std::time::Duration) -> String {
    let raw = raw_response.as_bytes().to_vec();
    stub_server(move |_| {
        std::thread::sleep(delay);
        raw.clone()
    })
}

/// A loopback HTTPS server with the test certificate in `tests/fixtures/tls` (self-signed,
/// SAN 127.0.0.1). Returns "https://127.0.0.1:PORT".
pub fn stub_tls_server(answer: impl Fn(&StubRequest) -> Vec<u8> + Send + Sync + 'static) -> String {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use std::sync::Arc;
    let dir = repo_root().join("tests/fixtures/tls");
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join("cert.pem"))
        .expect("read cert.pem")
        .collect::<Result<_, _>>()
        .expect("parse cert.pem");
    let key = PrivateKeyDer::from_pem_file(dir.join("key.pem")).expect("read key.pem");
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server certificate"),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let base = format!("https://{}", listener.local_addr().expect("addr"));
    let answer = Arc::new(answer);
    std::thread::spawn(move || {
        for sock in listener.incoming() {
            let Ok(sock) = sock else { return };
            let (config, answer) = (config.clone(), answer.clone());
            std::thread::spawn(move || {
                let Ok(conn) = rustls::ServerConnection::new(config) else {
                    return;
                };
                let mut tls = rustls::StreamOwned::new(conn, sock);
                patchdeck_sitesim::http::handle(&mut tls, &*answer);
                tls.conn.send_close_notify();
                let _ = std::io::Write::flush(&mut tls);
            });
        }
    });
    base
}

/// Writes the config into `dir`, binds it, runs its first probe once and shuts down.
pub async fn check_once(dir: &Path, config_text: &str) -> patchdeck_core::store::CheckResult {
    let e = engine(dir, config_text, &[]).await;
    let r = e.probes[0].run_once().await;
    e.shutdown().await;
    r
}
