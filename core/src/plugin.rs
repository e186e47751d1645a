//! Opening a plugin library and validating its descriptor, and the file-permission rule.
//!
//! This runs in whichever process hosts the plugin: the `patchdeck-probe-host` child for
//! isolated probes and for discovery, the patchdeck process itself for in-process probes.
//! Libraries are never unloaded (dlclose is unsound with thread-locals), so every loaded
//! library is leaked on purpose and cached per path.

use patchdeck_probe_api::RuleInfo;
use patchdeck_probe_api::abi::*;
use std::collections::HashMap;
use std::ffi::{CStr, c_char, c_void};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU32;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use crate::types::PluginInfo;

/// Why a library is not a usable plugin. Each case has its own message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    #[error("cannot load library: {0}")]
    Open(String),
    #[error("not a patchdeck plugin: no symbol `{PD_ENTRY_SYMBOL_V1}`")]
    MissingSymbol,
    #[error(
        "`{PD_ENTRY_SYMBOL_V1}` returned NULL: the plugin cannot serve a host speaking ABI {PD_ABI_MAJOR}.{PD_ABI_MINOR}"
    )]
    NullDescriptor,
    #[error("bad magic 0x{0:08X} in descriptor (expected 0x{PD_MAGIC:08X}, \"PDK1\")")]
    BadMagic(u32),
    #[error("unsupported ABI major version {0} (this patchdeck speaks {PD_ABI_MAJOR})")]
    UnsupportedMajor(u16),
    #[error("descriptor struct_size {0} is smaller than the v1 size {1}")]
    StructTooSmall(u32, usize),
    #[error("descriptor function `{0}` is NULL")]
    NullFunction(&'static str),
    #[error("invalid kind {0}: must match [a-z0-9-]+")]
    InvalidKind(String),
    #[error("descriptor field `{0}` is not valid UTF-8")]
    InvalidText(&'static str),
    #[error("invalid rule index (`rules_json`): {0}")]
    InvalidRules(String),
}

/// An error and its sources: libloading says only "dlopen failed" and keeps dlerror()'s
/// reason ("invalid ELF header", "undefined symbol: ...") as the source.
fn with_sources(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        next = s.source();
    }
    text
}

/// A plugin library loaded into this process, with its validated descriptor.
pub struct LoadedPlugin {
    pub path: PathBuf,
    pub info: PluginInfo,
    pub descriptor: &'static PdProbeV1,
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("path", &self.path)
            .field("info", &self.info)
            .finish()
    }
}

/// Loads (once per path per process) and validates a plugin library.
pub fn load(path: &Path) -> Result<Arc<LoadedPlugin>, LoadError> {
    type Cache = Mutex<HashMap<PathBuf, Result<Arc<LoadedPlugin>, LoadError>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let mut cache = CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(hit) = cache.get(&key) {
        return hit.clone();
    }
    let result = load_uncached(&key).map(Arc::new);
    cache.insert(key, result.clone());
    result
}

fn load_uncached(path: &Path) -> Result<LoadedPlugin, LoadError> {
    // SAFETY: loading a library runs its initialisers. That is the point of a plugin; the
    // caller decided to trust this file (permission checks, isolation in a child process).
    let lib =
        unsafe { libloading::Library::new(path) }.map_err(|e| LoadError::Open(with_sources(&e)))?;
    // SAFETY: the symbol's type is fixed by the ABI (PdEntryV1); a wrong type is the plugin's
    // contract violation, caught below by the magic/size checks as far as possible.
    let entry: PdEntryV1 = unsafe { lib.get::<PdEntryV1>(PD_ENTRY_SYMBOL_V1.as_bytes()) }
        .map(|s| *s)
        .map_err(|_| LoadError::MissingSymbol)?;
    // Libraries are never unloaded: leaking keeps the code and descriptor valid forever.
    std::mem::forget(lib);
    let entry = entry.ok_or(LoadError::MissingSymbol)?;
    // SAFETY: entry is the plugin's exported function with the ABI signature.
    let ptr = unsafe { entry(PD_ABI_MAJOR, PD_ABI_MINOR) };
    // SAFETY: a non-null pointer from the entry points to a static descriptor (ABI contract);
    // only the v1 prefix is read, after struct_size says it is there.
    let (descriptor, info) = unsafe { validate(ptr) }?;
    Ok(LoadedPlugin {
        path: path.to_owned(),
        info,
        descriptor,
    })
}

/// Validates a descriptor pointer returned by a plugin's entry point.
///
/// # Safety
/// `ptr` is NULL or points to a readable, static descriptor of at least the 12-byte header;
/// the rest is read only after `struct_size` covers it.
pub unsafe fn validate(
    ptr: *const PdProbeV1,
) -> Result<(&'static PdProbeV1, PluginInfo), LoadError> {
    if ptr.is_null() {
        return Err(LoadError::NullDescriptor);
    }
    // Read the header fields one by one: a descriptor may be shorter than ours.
    // SAFETY: the caller guarantees the 12-byte header is readable.
    let (magic, major, minor, size) = unsafe {
        (
            std::ptr::addr_of!((*ptr).magic).read_unaligned(),
            std::ptr::addr_of!((*ptr).abi_major).read_unaligned(),
            std::ptr::addr_of!((*ptr).abi_minor).read_unaligned(),
            std::ptr::addr_of!((*ptr).struct_size).read_unaligned(),
        )
    };
    if magic != PD_MAGIC {
        return Err(LoadError::BadMagic(magic));
    }
    if major != PD_ABI_MAJOR {
        return Err(LoadError::UnsupportedMajor(major));
    }
    if (size as usize) < PD_PROBE_V1_0_SIZE {
        return Err(LoadError::StructTooSmall(size, PD_PROBE_V1_0_SIZE));
    }
    // SAFETY: struct_size covers the v1.0 struct; it is static per the ABI. Fields after
    // v1.0 are read only when struct_size covers them (below).
    let d: &'static PdProbeV1 = unsafe { &*ptr };
    if d.create.is_none() {
        return Err(LoadError::NullFunction("create"));
    }
    if d.check.is_none() {
        return Err(LoadError::NullFunction("check"));
    }
    if d.destroy.is_none() {
        return Err(LoadError::NullFunction("destroy"));
    }
    // SAFETY: the string fields are NULL or NUL-terminated static strings (ABI contract).
    let kind = unsafe { c_text(d.kind, "kind") }?
        .ok_or_else(|| LoadError::InvalidKind("(NULL)".into()))?;
    if kind.is_empty()
        || !kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(LoadError::InvalidKind(format!("{kind:?}")));
    }
    let info = PluginInfo {
        kind,
        // SAFETY: as above.
        version: unsafe { c_text(d.version, "version") }?.unwrap_or_default(),
        abi_major: major,
        abi_minor: minor,
        // SAFETY: as above.
        description: unsafe { c_text(d.description, "description") }?.unwrap_or_default(),
        // SAFETY: as above.
        config_schema: unsafe { c_text(d.config_schema, "config_schema") }?,
        rules: Vec::new(),
    };
    let mut info = info;
    if minor >= 1 && size as usize >= size_of::<PdProbeV1>() {
        // SAFETY: struct_size covers `rules_json` (checked just above).
        let f = unsafe { std::ptr::addr_of!((*ptr).rules_json).read_unaligned() };
        if let Some(f) = f {
            // SAFETY: the ABI says it returns NULL or a static NUL-terminated string.
            let text = unsafe { c_text(f(), "rules_json") }?.unwrap_or_default();
            info.rules = parse_rules(&text)?;
        }
    }
    Ok((d, info))
}

/// The most bytes of a rule index a host reads.
pub const MAX_RULES_JSON: usize = 1024 * 1024;

fn parse_rules(text: &str) -> Result<Vec<RuleInfo>, LoadError> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    if text.len() > MAX_RULES_JSON {
        return Err(LoadError::InvalidRules(format!(
            "{} bytes, over the {MAX_RULES_JSON}-byte limit",
            text.len()
        )));
    }
    let rules: Vec<RuleInfo> =
        serde_json::from_str(text).map_err(|e| LoadError::InvalidRules(e.to_string()))?;
    let mut seen = std::collections::HashSet::new();
    for r in &rules {
        if !seen.insert(r.id.as_str()) {
            return Err(LoadError::InvalidRules(format!("rule `{}` twice", r.id)));
        }
    }
    Ok(rules)
}

/// # Safety
/// `p` is NULL or a NUL-terminated string that lives forever.
unsafe fn c_text(p: *const c_char, field: &'static str) -> Result<Option<String>, LoadError> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: guaranteed by the caller.
    let s = unsafe { CStr::from_ptr(p) };
    s.to_str()
        .map(|s| Some(s.to_owned()))
        .map_err(|_| LoadError::InvalidText(field))
}

/// Refuses plugin files others could tamper with, like sshd's StrictModes. The symlinks are
/// resolved; the real file and every folder from it up to `/` (and, for a symlink, every
/// folder above the link too) must be owned by root or by the user running patchdeck and
/// not be writable by group or others. A folder above the plugin's own folder may be
/// world-writable only when it is root-owned and sticky (like `/tmp`: nobody else can rename
/// what is ours in it); the plugin's own folder never.
pub fn check_permissions(path: &Path) -> Result<(), String> {
    check_trusted("plugin file", path)
}

/// [`check_permissions`] for any file patchdeck runs or loads (`what`: "plugin file",
/// "probe host").
pub fn check_trusted(what: &str, path: &Path) -> Result<(), String> {
    let real = std::fs::canonicalize(path)
        .map_err(|e| format!("cannot resolve {what} {}: {e}", path.display()))?;
    check_one(what, &real, false)?;
    let mut chains = vec![real.parent().map(Path::to_owned)];
    if real != path {
        // A symlink: whoever can replace the link can replace the plugin.
        chains.push(
            path.parent()
                .filter(|p| !p.as_os_str().is_empty())
                .and_then(|p| std::fs::canonicalize(p).ok()),
        );
    }
    let (own, above) = match what {
        "plugin file" => (
            "plugin folder".to_owned(),
            "folder above the plugin".to_owned(),
        ),
        other => (
            format!("{other}'s folder"),
            format!("folder above the {other}"),
        ),
    };
    for start in chains.into_iter().flatten() {
        for (i, dir) in start.ancestors().enumerate() {
            check_one(if i == 0 { &own } else { &above }, dir, i > 0)?;
        }
    }
    Ok(())
}

fn check_one(what: &str, p: &Path, sticky_root_ok: bool) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    let meta =
        std::fs::metadata(p).map_err(|e| format!("cannot inspect {what} {}: {e}", p.display()))?;
    let mode = meta.mode() & 0o7777;
    if meta.uid() != 0 && meta.uid() != me {
        return Err(format!(
            "refused: {what} {} is owned by uid {}, not by root or by you (uid {me}); \
             fix the owner or pass --allow-insecure-plugins",
            p.display(),
            meta.uid()
        ));
    }
    let sticky_root = meta.uid() == 0 && mode & 0o1000 != 0;
    if mode & 0o022 != 0 && !(sticky_root_ok && sticky_root) {
        let why = if sticky_root {
            " (sticky, but a plugin's own folder must not be shared)"
        } else {
            ""
        };
        return Err(format!(
            "refused: {what} {} is writable by group or others (mode {mode:04o}){why}; \
             fix with `chmod go-w {}` (or move the plugin to a folder only you can write) \
             or pass --allow-insecure-plugins",
            p.display(),
            p.display()
        ));
    }
    Ok(())
}

/// Where a plugin's log lines go: (level, probe id, message).
pub type LogSink = Arc<dyn Fn(u32, &str, &str) + Send + Sync>;

struct LogCtx {
    probe: String,
    sink: LogSink,
    /// host->log's rate limit: the current one-second window, lines in it, lines dropped.
    limit: Mutex<(std::time::Instant, u32, u64)>,
}

/// Plugin log lines kept per second per instance (the same limit as a probe host's stderr):
/// a plugin logging in a loop cannot flood the log.
pub const MAX_LOG_LINES_PER_SEC: u32 = 200;

/// A `PdHostApi` for one instance. Must outlive the instance (the ABI lets the plugin keep
/// the pointer until destroy), so instances own theirs.
pub struct HostApi {
    api: Box<PdHostApi>,
    _ctx: Box<LogCtx>,
}

// SAFETY: the struct only holds a pointer to its own boxed LogCtx, which is Send + Sync.
unsafe impl Send for HostApi {}
// SAFETY: as above; the API struct is never mutated after construction.
unsafe impl Sync for HostApi {}

impl HostApi {
    pub fn new(probe: &str, sink: LogSink) -> HostApi {
        let ctx = Box::new(LogCtx {
            probe: probe.to_owned(),
            sink,
            limit: Mutex::new((std::time::Instant::now(), 0, 0)),
        });
        let api = Box::new(PdHostApi {
            struct_size: size_of::<PdHostApi>() as u32,
            abi_major: PD_ABI_MAJOR,
            abi_minor: PD_ABI_MINOR,
            host_ctx: (&*ctx as *const LogCtx).cast_mut().cast(),
            log: Some(host_log),
        });
        HostApi { api, _ctx: ctx }
    }

    pub fn as_ptr(&self) -> *const PdHostApi {
        &*self.api
    }
}

unsafe extern "C" fn host_log(host_ctx: *mut c_void, level: u32, message: PdStr) {
    // Never unwind into the plugin.
    let _ = std::panic::catch_unwind(|| {
        if host_ctx.is_null() {
            return;
        }
        // SAFETY: host_ctx is the LogCtx owned by the HostApi that outlives the instance.
        let ctx = unsafe { &*host_ctx.cast::<LogCtx>() };
        // SAFETY: the plugin passes a valid borrowed string for the duration of the call.
        let bytes = unsafe { message.as_bytes() };
        // One line per call: a line feed in the message must not forge log lines.
        let text = crate::sanitize::line(&crate::report::message(bytes, "")).into_owned();
        let mut limit = ctx.limit.lock().unwrap_or_else(|e| e.into_inner());
        let now = std::time::Instant::now();
        if now.duration_since(limit.0) >= Duration::from_secs(1) {
            if limit.2 > 0 {
                let dropped = format!(
                    "{} plugin log lines dropped (over {MAX_LOG_LINES_PER_SEC} lines a second)",
                    limit.2
                );
                (ctx.sink)(PD_LOG_WARN, &ctx.probe, &dropped);
            }
            *limit = (now, 0, 0);
        }
        if limit.1 >= MAX_LOG_LINES_PER_SEC {
            limit.2 += 1;
            return;
        }
        limit.1 += 1;
        drop(limit);
        (ctx.sink)(level, &ctx.probe, &text);
    });
}

/// A tracing sink for plugin log lines.
pub fn tracing_sink() -> LogSink {
    Arc::new(|level, probe, message| match level {
        PD_LOG_ERROR => tracing::error!(target: "plugin", probe, "{message}"),
        PD_LOG_WARN => tracing::warn!(target: "plugin", probe, "{message}"),
        PD_LOG_INFO => tracing::info!(target: "plugin", probe, "{message}"),
        PD_LOG_DEBUG => tracing::debug!(target: "plugin", probe, "{message}"),
        _ => tracing::trace!(target: "plugin", probe, "{message}"),
    })
}

/// A raw instance pointer, movable to the thread that calls the plugin.
#[derive(Debug, Clone, Copy)]
pub struct InstancePtr(pub *mut c_void);
// SAFETY: the ABI allows calling an instance from any thread as long as calls to one
// instance never overlap; callers serialise them (busy flags, one worker per instance).
unsafe impl Send for InstancePtr {}
// SAFETY: sharing the pointer value is harmless; calls through it are serialised as above.
unsafe impl Sync for InstancePtr {}

impl LoadedPlugin {
    /// Calls `create`.
    ///
    /// # Safety
    /// `host` must stay valid until `destroy` of the returned instance returns.
    pub unsafe fn create(
        &self,
        host: *const PdHostApi,
        config_json: &str,
    ) -> Result<InstancePtr, crate::types::RunError> {
        let create = self.descriptor.create.expect("validated non-null");
        let mut out: *mut c_void = std::ptr::null_mut();
        let mut err = PdOwnedBytes::EMPTY;
        // SAFETY: arguments follow the ABI: config borrowed for the call, out pointers valid.
        let code = unsafe { create(host, PdStr::borrow(config_json), &mut out, &mut err) };
        // SAFETY: err was filled per the PdOwnedBytes contract (or left empty).
        let bytes = unsafe { err.take() };
        match code {
            PD_OK => Ok(InstancePtr(out)),
            PD_PANIC => Err(crate::types::RunError::CreatePanicked(
                crate::report::message(&bytes, "no message"),
            )),
            _ => Err(crate::types::RunError::Rejected(crate::report::message(
                &bytes,
                "no message",
            ))),
        }
    }

    /// Calls `check` and decodes the answer (return code, size cap, UTF-8).
    ///
    /// # Safety
    /// `instance` came from `create` of this plugin, is not destroyed, and no other call on it
    /// runs concurrently.
    pub unsafe fn check(
        &self,
        instance: InstancePtr,
        timeout: Duration,
        cancel: &AtomicU32,
    ) -> Result<String, crate::types::RunError> {
        let check = self.descriptor.check.expect("validated non-null");
        let deadline = SystemTime::now() + timeout;
        let call = PdCallCtx {
            struct_size: size_of::<PdCallCtx>() as u32,
            timeout_ms: timeout.as_millis().min(u128::from(u32::MAX)) as u32,
            deadline_unix_ms: deadline
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0),
            cancel: cancel.as_ptr().cast_const(),
        };
        let mut out = PdOwnedBytes::EMPTY;
        // SAFETY: per this function's contract; call and out live across the call.
        let code = unsafe { check(instance.0, &call, &mut out) };
        // SAFETY: out was filled per the PdOwnedBytes contract (or left empty).
        let bytes = unsafe { out.take() };
        crate::report::decode(code, bytes)
    }

    /// Calls `destroy`.
    ///
    /// # Safety
    /// `instance` came from `create` of this plugin, is idle, and is never used again.
    pub unsafe fn destroy(&self, instance: InstancePtr) {
        let destroy = self.descriptor.destroy.expect("validated non-null");
        // SAFETY: per this function's contract.
        unsafe { destroy(instance.0) };
    }
}
