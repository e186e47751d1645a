//! The Rust SDK: implement [`Probe`], then `export_probe!` writes the C entry point.
//!
//! ```ignore
//! use patchdeck_probe_api::{export_probe, sdk::{Probe, CheckContext, CheckError, Host}, Report, Status};
//!
//! struct Hello { greeting: String }
//!
//! impl Probe for Hello {
//!     fn create(config: serde_json::Value, _host: &Host) -> Result<Self, String> {
//!         let greeting = config.get("greeting").and_then(|v| v.as_str()).unwrap_or("hello");
//!         Ok(Hello { greeting: greeting.to_owned() })
//!     }
//!     fn check(&mut self, _ctx: &CheckContext) -> Result<Report, CheckError> {
//!         Ok(Report::new(Status::Ok, self.greeting.clone()))
//!     }
//! }
//!
//! export_probe!(Hello, kind: "hello", version: "0.1.0", description: "Says hello");
//! ```
//!
//! Every entry point runs inside `catch_unwind`: a panic becomes `PD_PANIC` with the panic
//! message (and location), never an unwind across the C boundary. Build plugins with the
//! default `panic = "unwind"`; with `panic = "abort"` a panic kills the probe host.

use crate::abi::*;
use crate::report::Report;
use crate::rules::{Overrides, Rule};
use std::cell::{Cell, RefCell};
use std::ffi::c_void;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Why a check produced no report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckError {
    /// The probe could not decide; the message becomes the UNKNOWN reason.
    Failed(String),
    /// The host cancelled the call (see [`CheckContext::is_cancelled`]).
    Cancelled,
}

impl From<String> for CheckError {
    fn from(s: String) -> Self {
        CheckError::Failed(s)
    }
}

impl From<&str> for CheckError {
    fn from(s: &str) -> Self {
        CheckError::Failed(s.to_owned())
    }
}

/// A probe implementation. One value per configured probe instance; `check` is never called
/// concurrently on one value, but different values may be checked on different threads.
pub trait Probe: Send + Sized + 'static {
    /// The probe's rule index (see [`crate::rules`]): published through the ABI, listed by
    /// `patchdeck rules`, and the ids `[probe.rules]` may override. Empty by default.
    const RULES: &'static [Rule] = &[];

    /// Builds an instance from its `[probe.config]` table (a JSON object). Return a message
    /// naming the offending field when the config is wrong.
    fn create(config: serde_json::Value, host: &Host) -> Result<Self, String>;

    /// Runs one check.
    fn check(&mut self, ctx: &CheckContext) -> Result<Report, CheckError>;

    /// Runs one check and returns the report's raw JSON bytes. The default serialises
    /// [`Probe::check`]; override only to return pre-serialised JSON.
    fn check_raw(&mut self, ctx: &CheckContext) -> Result<Vec<u8>, CheckError> {
        let report = self.check(ctx)?;
        serde_json::to_vec(&report)
            .map_err(|e| CheckError::Failed(format!("cannot serialise report: {e}")))
    }
}

/// A probe with a typed configuration: declare the config type, build the probe from it, and
/// the SDK does the rest (JSON to `Config` with serde, errors prefixed with the kind, the
/// [`Probe`] impl). Most probes want this rather than [`Probe`].
///
/// ```ignore
/// #[derive(serde::Deserialize)]
/// #[serde(deny_unknown_fields)]
/// struct Config { url: String }
///
/// struct Ping { config: Config }
///
/// impl ConfigProbe for Ping {
///     type Config = Config;
///     const KIND: &'static str = "ping";
///     fn from_config(config: Config, _host: &Host) -> Result<Self, String> {
///         Ok(Ping { config })
///     }
///     fn run(&mut self, _ctx: &CheckContext) -> Result<Report, CheckError> {
///         Ok(Report::new(Status::Ok, format!("{} answers", self.config.url)))
///     }
/// }
/// export_probe!(Ping, kind: "ping", version: "0.1.0", description: "Pings");
/// ```
pub trait ConfigProbe: Send + Sized + 'static {
    /// The `[probe.config]` table, deserialised. Use `#[serde(deny_unknown_fields)]` so a
    /// typo is an error naming the key, not a silently ignored setting.
    type Config: serde::de::DeserializeOwned;
    /// The plugin kind, used to prefix config errors ("wua config: unknown field `x`").
    const KIND: &'static str;
    /// The probe's rule index, as for [`Probe::RULES`].
    const RULES: &'static [Rule] = &[];

    /// Validates the config beyond its types and builds the probe. Name the field in errors.
    fn from_config(config: Self::Config, host: &Host) -> Result<Self, String>;

    /// Runs one check (see [`Probe::check`]).
    fn run(&mut self, ctx: &CheckContext) -> Result<Report, CheckError>;
}

impl<T: ConfigProbe> Probe for T {
    const RULES: &'static [Rule] = <T as ConfigProbe>::RULES;

    fn create(config: serde_json::Value, host: &Host) -> Result<Self, String> {
        let config: T::Config =
            serde_json::from_value(config).map_err(|e| format!("{} config: {e}", T::KIND))?;
        T::from_config(config, host)
    }

    fn check(&mut self, ctx: &CheckContext) -> Result<Report, CheckError> {
        if ctx.is_cancelled() {
            return Err(CheckError::Cancelled);
        }
        self.run(ctx)
    }
}

/// The host's services, as seen by a Rust probe.
#[derive(Clone, Copy, Debug)]
pub struct Host {
    api: *const PdHostApi,
    config_check: bool,
}

// SAFETY: the ABI promises the host API pointer stays valid until destroy and that its log
// callback is thread-safe.
unsafe impl Send for Host {}
// SAFETY: as above; Host only reads the immutable host API struct.
unsafe impl Sync for Host {}

impl Host {
    /// True when `patchdeck config check` creates the probe: check the files the config
    /// names (exist, readable, right columns, fresh enough) and fail `create` with the
    /// field's name if one is wrong. False at run time (a missing export is then a verdict).
    pub fn config_check(&self) -> bool {
        self.config_check
    }

    /// A host for unit tests that runs `create` as `config check` does.
    pub fn detached_config_check() -> Host {
        Host {
            api: std::ptr::null(),
            config_check: true,
        }
    }

    /// A host that drops every log line (for unit tests of a probe).
    pub fn detached() -> Host {
        Host {
            api: std::ptr::null(),
            config_check: false,
        }
    }

    /// Writes a line to the patchdeck log file (never the terminal). Never log secrets.
    pub fn log(&self, level: u32, message: &str) {
        if self.api.is_null() {
            return;
        }
        // SAFETY: non-null api points to the host's PdHostApi, valid until destroy.
        let api = unsafe { &*self.api };
        if let Some(log) = api.log {
            // SAFETY: the callback is the host's, thread-safe, and the message outlives the call.
            unsafe { log(api.host_ctx, level, PdStr::borrow(message)) };
        }
    }
}

/// What the host says about one check call.
#[derive(Debug)]
pub struct CheckContext<'a> {
    /// The time allowed for this call.
    pub timeout: Duration,
    /// The same limit as an absolute time; derive socket timeouts from it.
    pub deadline: SystemTime,
    cancel: &'a AtomicU32,
    /// Logging back to the host.
    pub host: Host,
    /// The operator's `[probe.rules]` overrides for this instance: apply them to the items
    /// before computing the status and summary ([`Overrides::apply`]).
    pub rules: &'a Overrides,
}

impl<'a> CheckContext<'a> {
    /// A context for unit tests of a probe: the given timeout, a cancel flag of your own.
    pub fn for_test(timeout: Duration, cancel: &'a AtomicU32) -> CheckContext<'a> {
        CheckContext {
            timeout,
            deadline: SystemTime::now() + timeout,
            cancel,
            host: Host::detached(),
            rules: &NO_OVERRIDES,
        }
    }

    /// True once the host has given up on this call. Poll it in long loops and return
    /// `Err(CheckError::Cancelled)`.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed) != 0
    }

    /// The cancel flag itself, for code that polls it on its own (an HTTP client checking it
    /// before every request).
    pub fn cancel_flag(&self) -> &'a AtomicU32 {
        self.cancel
    }

    /// Time left before the deadline (zero when past it).
    pub fn remaining(&self) -> Duration {
        self.deadline
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO)
    }
}

/// The boxed state behind a `void *instance`.
struct Instance<P> {
    probe: P,
    host: Host,
    rules: Overrides,
}

thread_local! {
    static IN_PLUGIN_CALL: Cell<bool> = const { Cell::new(false) };
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs (once per plugin) a panic hook that records the message of panics raised inside
/// an entry point instead of printing them: in-process, the terminal belongs to the TUI.
/// Panics elsewhere go to the previous hook.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if IN_PLUGIN_CALL.with(Cell::get) {
                let msg = info
                    .payload_as_str()
                    .unwrap_or("panic with a non-string payload");
                let text = match info.location() {
                    Some(loc) => format!("panicked at {}:{}: {msg}", loc.file(), loc.line()),
                    None => format!("panicked: {msg}"),
                };
                LAST_PANIC.with(|p| *p.borrow_mut() = Some(text));
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs `f` with panics caught; `Err` carries the panic message.
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    install_panic_hook();
    IN_PLUGIN_CALL.with(|c| c.set(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    IN_PLUGIN_CALL.with(|c| c.set(false));
    result.map_err(|payload| {
        let recorded = LAST_PANIC.with(|p| p.borrow_mut().take());
        // Dropping a payload can itself panic; forget it rather than risk an abort.
        let fallback = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic with a non-string payload".to_owned());
        std::mem::forget(payload);
        recorded.unwrap_or(fallback)
    })
}

/// # Safety
/// Called by the host through `PdProbeV1.create` with pointers per the ABI.
#[doc(hidden)]
pub unsafe extern "C" fn create_trampoline<P: Probe>(
    host: *const PdHostApi,
    config_json: PdStr,
    out_instance: *mut *mut c_void,
    out_error: *mut PdOwnedBytes,
) -> i32 {
    let host = Host {
        api: host,
        config_check: false,
    };
    // SAFETY: the host guarantees config_json is valid for this call.
    let bytes = unsafe { config_json.as_bytes() };
    let outcome = guarded(|| {
        let mut config: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| format!("config is not valid JSON: {e}"))?;
        let rules = match config.as_object_mut().and_then(|o| o.remove(RULES_KEY)) {
            Some(v) => Overrides::from_json(&v, P::RULES)?,
            None => Overrides::default(),
        };
        let validating = config
            .as_object_mut()
            .and_then(|o| o.remove(VALIDATE_KEY))
            .is_some_and(|v| v == serde_json::Value::Bool(true));
        let checking = Host {
            api: host.api,
            config_check: validating,
        };
        P::create(config, &checking).map(|p| (p, rules))
    });
    let (code, message) = match outcome {
        Ok(Ok((probe, rules))) => {
            let instance = Box::new(Instance { probe, host, rules });
            if !out_instance.is_null() {
                // SAFETY: out_instance is a valid pointer provided by the host.
                unsafe { *out_instance = Box::into_raw(instance).cast() };
            }
            return PD_OK;
        }
        Ok(Err(msg)) => (PD_ERROR, msg),
        Err(panic) => (PD_PANIC, panic),
    };
    if !out_error.is_null() {
        // SAFETY: out_error is a valid pointer provided by the host.
        unsafe { *out_error = PdOwnedBytes::from_vec(message.into_bytes()) };
    }
    code
}

/// # Safety
/// Called by the host through `PdProbeV1.check` with an instance from `create_trampoline::<P>`.
#[doc(hidden)]
pub unsafe extern "C" fn check_trampoline<P: Probe>(
    instance: *mut c_void,
    call: *const PdCallCtx,
    out_report_json: *mut PdOwnedBytes,
) -> i32 {
    if instance.is_null() || call.is_null() || out_report_json.is_null() {
        return PD_ERROR;
    }
    // SAFETY: the host passes the instance it got from create, never concurrently.
    let instance = unsafe { &mut *instance.cast::<Instance<P>>() };
    // SAFETY: call is valid for the duration of this call.
    let call = unsafe { &*call };
    // SAFETY: cancel is never NULL, valid until we return, and written atomically by the host.
    let cancel = unsafe { AtomicU32::from_ptr(call.cancel.cast_mut()) };
    let ctx = CheckContext {
        timeout: Duration::from_millis(u64::from(call.timeout_ms)),
        deadline: UNIX_EPOCH + Duration::from_millis(call.deadline_unix_ms),
        cancel,
        host: instance.host,
        rules: &instance.rules,
    };
    let (code, bytes) = match guarded(|| instance.probe.check_raw(&ctx)) {
        Ok(Ok(report)) => (PD_OK, report),
        Ok(Err(CheckError::Failed(msg))) => (PD_ERROR, msg.into_bytes()),
        Ok(Err(CheckError::Cancelled)) => (PD_CANCELLED, b"cancelled".to_vec()),
        Err(panic) => (PD_PANIC, panic.into_bytes()),
    };
    // SAFETY: out_report_json is a valid pointer provided by the host.
    unsafe { *out_report_json = PdOwnedBytes::from_vec(bytes) };
    code
}

/// # Safety
/// Called by the host through `PdProbeV1.destroy`, once, with an idle instance.
static NO_OVERRIDES: Overrides = Overrides::NONE;

/// The config key with which `patchdeck config check` asks a plugin that publishes a rule
/// index to check the files its config names too (exports: exist, readable, columns, age);
/// the SDK removes it and tells the probe through [`Host::config_check`].
pub const VALIDATE_KEY: &str = "$validate";

/// The config key under which the host passes `[probe.rules]` to a plugin that publishes a
/// rule index; the SDK removes it before the probe sees its config.
pub const RULES_KEY: &str = "$rules";

#[doc(hidden)]
pub fn rules_index_cstring(rules: &[Rule]) -> std::ffi::CString {
    // serde_json escapes control characters, so the text has no NUL.
    std::ffi::CString::new(crate::rules::index_json(rules)).unwrap_or_default()
}

#[doc(hidden)]
pub unsafe extern "C" fn destroy_trampoline<P: Probe>(instance: *mut c_void) {
    if instance.is_null() {
        return;
    }
    // SAFETY: the pointer came from Box::into_raw in create_trampoline::<P>.
    let boxed = unsafe { Box::from_raw(instance.cast::<Instance<P>>()) };
    // A panicking Drop must not unwind into the host; there is no one to report it to.
    let _ = guarded(move || drop(boxed));
}

/// Exports a [`Probe`] implementation as a patchdeck v1 plugin (the `patchdeck_probe_v1`
/// symbol and its static descriptor).
///
/// ```ignore
/// export_probe!(MyProbe, kind: "my-probe", version: env!("CARGO_PKG_VERSION"),
///               description: "Checks my thing");
/// // optionally: config_schema: r#"{"type":"object"}"#
/// ```
/// `kind` must match `[a-z0-9-]+`.
#[macro_export]
macro_rules! export_probe {
    ($probe:ty, kind: $kind:expr, version: $version:expr, description: $description:expr $(,)?) => {
        $crate::export_probe!(@emit $probe, $kind, $version, $description, ::std::ptr::null());
    };
    ($probe:ty, kind: $kind:expr, version: $version:expr, description: $description:expr,
     config_schema: $schema:expr $(,)?) => {
        $crate::export_probe!(@emit $probe, $kind, $version, $description,
            ::std::concat!($schema, "\0").as_ptr().cast::<::std::ffi::c_char>());
    };
    (@emit $probe:ty, $kind:expr, $version:expr, $description:expr, $schema:expr) => {
        /// The patchdeck probe ABI v1 entry point.
        #[unsafe(no_mangle)]
        pub extern "C" fn patchdeck_probe_v1(
            host_major: u16,
            _host_minor: u16,
        ) -> *const $crate::abi::PdProbeV1 {
            static DESCRIPTOR: $crate::abi::PdProbeV1 = $crate::abi::PdProbeV1 {
                magic: $crate::abi::PD_MAGIC,
                abi_major: $crate::abi::PD_ABI_MAJOR,
                abi_minor: $crate::abi::PD_ABI_MINOR,
                struct_size: ::std::mem::size_of::<$crate::abi::PdProbeV1>() as u32,
                flags: 0,
                kind: ::std::concat!($kind, "\0").as_ptr().cast::<::std::ffi::c_char>(),
                version: ::std::concat!($version, "\0").as_ptr().cast::<::std::ffi::c_char>(),
                description: ::std::concat!($description, "\0").as_ptr().cast::<::std::ffi::c_char>(),
                config_schema: $schema,
                create: Some($crate::sdk::create_trampoline::<$probe>),
                check: Some($crate::sdk::check_trampoline::<$probe>),
                destroy: Some($crate::sdk::destroy_trampoline::<$probe>),
                rules_json: Some(__patchdeck_rules_json),
            };
            unsafe extern "C" fn __patchdeck_rules_json() -> *const ::std::ffi::c_char {
                static JSON: ::std::sync::OnceLock<::std::ffi::CString> =
                    ::std::sync::OnceLock::new();
                JSON.get_or_init(|| {
                    $crate::sdk::rules_index_cstring(<$probe as $crate::sdk::Probe>::RULES)
                })
                .as_ptr()
            }
            if host_major != $crate::abi::PD_ABI_MAJOR {
                return ::std::ptr::null();
            }
            &DESCRIPTOR
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Status;

    struct Panicky;
    impl Probe for Panicky {
        fn create(config: serde_json::Value, _host: &Host) -> Result<Self, String> {
            if config.get("fail").is_some() {
                return Err("field `fail`: told to fail".into());
            }
            Ok(Panicky)
        }
        fn check(&mut self, _ctx: &CheckContext) -> Result<Report, CheckError> {
            panic!("boom {}", 42);
        }
    }

    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct TypedConfig {
        name: String,
    }

    struct Typed(String);

    impl ConfigProbe for Typed {
        type Config = TypedConfig;
        const KIND: &'static str = "typed";
        fn from_config(c: TypedConfig, _host: &Host) -> Result<Self, String> {
            if c.name.is_empty() {
                return Err("field `name` must not be empty".into());
            }
            Ok(Typed(c.name))
        }
        fn run(&mut self, _ctx: &CheckContext) -> Result<Report, CheckError> {
            Ok(Report::new(Status::Ok, self.0.clone()))
        }
    }

    #[test]
    fn a_config_probe_gets_typed_config_errors_with_its_kind() {
        let host = Host::detached();
        let err = <Typed as Probe>::create(serde_json::json!({"nmae": "x"}), &host)
            .err()
            .unwrap();
        assert!(
            err.starts_with("typed config: unknown field `nmae`, expected `name`"),
            "{err}"
        );
        let err = <Typed as Probe>::create(serde_json::json!({"name": ""}), &host)
            .err()
            .unwrap();
        assert_eq!(err, "field `name` must not be empty");
        let mut p = <Typed as Probe>::create(serde_json::json!({"name": "hi"}), &host).unwrap();
        let cancel = AtomicU32::new(0);
        let ctx = CheckContext::for_test(Duration::from_secs(1), &cancel);
        assert_eq!(Probe::check(&mut p, &ctx).unwrap().summary, "hi");
        cancel.store(1, Ordering::Relaxed);
        assert_eq!(Probe::check(&mut p, &ctx), Err(CheckError::Cancelled));
    }

    #[test]
    fn trampolines_turn_panics_and_errors_into_codes() {
        let host = PdHostApi {
            struct_size: size_of::<PdHostApi>() as u32,
            abi_major: 1,
            abi_minor: 0,
            host_ctx: std::ptr::null_mut(),
            log: None,
        };
        let mut inst: *mut c_void = std::ptr::null_mut();
        let mut err = PdOwnedBytes::EMPTY;
        // SAFETY: all pointers are valid locals.
        let code = unsafe {
            create_trampoline::<Panicky>(&host, PdStr::borrow(r#"{"fail":1}"#), &mut inst, &mut err)
        };
        assert_eq!(code, PD_ERROR);
        // SAFETY: err was filled by the trampoline.
        assert_eq!(unsafe { err.take() }, b"field `fail`: told to fail");

        // SAFETY: as above.
        let code = unsafe {
            create_trampoline::<Panicky>(&host, PdStr::borrow("{}"), &mut inst, &mut err)
        };
        assert_eq!(code, PD_OK);
        let cancel = 0u32;
        let call = PdCallCtx {
            struct_size: size_of::<PdCallCtx>() as u32,
            timeout_ms: 1000,
            deadline_unix_ms: 0,
            cancel: &cancel,
        };
        let mut out = PdOwnedBytes::EMPTY;
        // SAFETY: inst came from create; call and out are valid.
        let code = unsafe { check_trampoline::<Panicky>(inst, &call, &mut out) };
        assert_eq!(code, PD_PANIC);
        // SAFETY: out was filled by the trampoline.
        let msg = String::from_utf8(unsafe { out.take() }).unwrap();
        assert!(msg.contains("boom 42") && msg.contains("sdk.rs"), "{msg}");
        // SAFETY: inst came from create and is idle.
        unsafe { destroy_trampoline::<Panicky>(inst) };
        let _ = Status::Ok;
    }
}
