//! The system GSSAPI (MIT krb5's `libgssapi_krb5.so.2`), loaded at run time: Kerberos through
//! its krb5 mechanism and NTLM through the gss-ntlmssp mechanism (Debian's `gss-ntlmssp`,
//! registered in /etc/gss/mech.d). Nothing here builds or parses an NTLM or Kerberos message:
//! tokens go between the library and the HTTP server as opaque bytes.
//!
//! Why the system library: it reuses the operator's `krb5.conf`, keytabs and `kinit`, and is
//! the same code curl and mod_auth_gssapi use. Why loaded at run time rather than linked: no
//! probe needs it until a config asks for `auth`, and a box without it gets a clear error
//! naming the packages instead of plugins that refuse to load.

use std::ffi::{CString, c_char, c_void};
use std::ptr;
use std::sync::OnceLock;

type Minor = u32;

#[repr(C)]
struct Buffer {
    length: usize,
    value: *mut c_void,
}

#[repr(C)]
struct Oid {
    length: u32,
    elements: *const c_void,
}

#[repr(C)]
struct OidSet {
    count: usize,
    elements: *const Oid,
}

#[repr(C)]
struct KeyValue {
    key: *const c_char,
    value: *const c_char,
}

#[repr(C)]
struct KeyValueSet {
    count: u32,
    elements: *const KeyValue,
}

type Name = *mut c_void;
type Cred = *mut c_void;
type Ctx = *mut c_void;

type ImportName = unsafe extern "C" fn(*mut Minor, *const Buffer, *const Oid, *mut Name) -> u32;
type ReleaseName = unsafe extern "C" fn(*mut Minor, *mut Name) -> u32;
type ReleaseCred = unsafe extern "C" fn(*mut Minor, *mut Cred) -> u32;
type ReleaseBuffer = unsafe extern "C" fn(*mut Minor, *mut Buffer) -> u32;
type DeleteCtx = unsafe extern "C" fn(*mut Minor, *mut Ctx, *mut Buffer) -> u32;
type AcquireWithPassword = unsafe extern "C" fn(
    *mut Minor,
    Name,
    *const Buffer,
    u32,
    *const OidSet,
    i32,
    *mut Cred,
    *mut *mut OidSet,
    *mut u32,
) -> u32;
type AcquireFrom = unsafe extern "C" fn(
    *mut Minor,
    Name,
    u32,
    *const OidSet,
    i32,
    *const KeyValueSet,
    *mut Cred,
    *mut *mut OidSet,
    *mut u32,
) -> u32;
type InitSecContext = unsafe extern "C" fn(
    *mut Minor,
    Cred,
    *mut Ctx,
    Name,
    *const Oid,
    u32,
    u32,
    *const c_void,
    *const Buffer,
    *mut *const Oid,
    *mut Buffer,
    *mut u32,
    *mut u32,
) -> u32;
type AcceptSecContext = unsafe extern "C" fn(
    *mut Minor,
    *mut Ctx,
    Cred,
    *const Buffer,
    *const c_void,
    *mut Name,
    *mut *const Oid,
    *mut Buffer,
    *mut u32,
    *mut u32,
    *mut Cred,
) -> u32;
type DisplayStatus =
    unsafe extern "C" fn(*mut Minor, u32, i32, *const Oid, *mut u32, *mut Buffer) -> u32;

struct Lib {
    import_name: ImportName,
    release_name: ReleaseName,
    release_cred: ReleaseCred,
    release_buffer: ReleaseBuffer,
    delete_ctx: DeleteCtx,
    acquire_with_password: AcquireWithPassword,
    acquire_from: AcquireFrom,
    init_sec_context: InitSecContext,
    accept_sec_context: AcceptSecContext,
    display_status: DisplayStatus,
}

impl Lib {
    /// Copies a buffer the library filled (empty when it has none) and releases it.
    fn take(&self, buf: &mut Buffer) -> Vec<u8> {
        if buf.value.is_null() {
            return Vec::new();
        }
        // SAFETY: the library returned `length` readable bytes at `value`.
        let bytes =
            unsafe { std::slice::from_raw_parts(buf.value.cast::<u8>(), buf.length) }.to_vec();
        let mut minor = 0;
        // SAFETY: the buffer came from the library and is released once.
        unsafe { (self.release_buffer)(&mut minor, buf) };
        bytes
    }
}

/// The library's file name on Debian (package libgssapi-krb5-2).
pub const LIBRARY: &str = "libgssapi_krb5.so.2";

fn lib() -> Result<&'static Lib, String> {
    static LIB: OnceLock<Result<Lib, String>> = OnceLock::new();
    LIB.get_or_init(|| {
        // SAFETY: loading the system GSSAPI library runs its initialisers; it is a system
        // library meant to be loaded by any process. It is never unloaded.
        let l = unsafe { libloading::Library::new(LIBRARY) }.map_err(|e| {
            format!(
                "cannot load {LIBRARY} ({e}): install libgssapi-krb5-2 (Kerberos) and gss-ntlmssp (NTLM)"
            )
        })?;
        // SAFETY: each symbol is looked up with the C signature the GSSAPI (RFC 2744 and
        // MIT's gssapi_ext.h) gives it.
        let lib = unsafe {
            Lib {
                import_name: *l.get(b"gss_import_name\0").map_err(|e| e.to_string())?,
                release_name: *l.get(b"gss_release_name\0").map_err(|e| e.to_string())?,
                release_cred: *l.get(b"gss_release_cred\0").map_err(|e| e.to_string())?,
                release_buffer: *l.get(b"gss_release_buffer\0").map_err(|e| e.to_string())?,
                delete_ctx: *l
                    .get(b"gss_delete_sec_context\0")
                    .map_err(|e| e.to_string())?,
                acquire_with_password: *l
                    .get(b"gss_acquire_cred_with_password\0")
                    .map_err(|e| e.to_string())?,
                acquire_from: *l
                    .get(b"gss_acquire_cred_from\0")
                    .map_err(|e| e.to_string())?,
                init_sec_context: *l
                    .get(b"gss_init_sec_context\0")
                    .map_err(|e| e.to_string())?,
                accept_sec_context: *l
                    .get(b"gss_accept_sec_context\0")
                    .map_err(|e| e.to_string())?,
                display_status: *l.get(b"gss_display_status\0").map_err(|e| e.to_string())?,
            }
        };
        std::mem::forget(l);
        Ok(lib)
    })
    .as_ref()
    .map_err(Clone::clone)
}

// OIDs, DER-encoded bodies (RFC 2743, RFC 1964, MS-NLMP's NTLMSSP mechanism OID).
const NT_USER_NAME: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x01, 0x01];
const NT_HOSTBASED_SERVICE: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x01, 0x04];
const KRB5_NT_PRINCIPAL: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x01];
const MECH_KRB5: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];
const MECH_NTLMSSP: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a];

fn oid(bytes: &'static [u8]) -> Oid {
    Oid {
        length: bytes.len() as u32,
        elements: bytes.as_ptr().cast(),
    }
}

const GSS_S_COMPLETE: u32 = 0;
const GSS_S_CONTINUE_NEEDED: u32 = 1;
const GSS_C_INITIATE: i32 = 1;
const GSS_C_ACCEPT: i32 = 2;
const GSS_C_MUTUAL_FLAG: u32 = 2;
const GSS_C_GSS_CODE: i32 = 1;
const GSS_C_MECH_CODE: i32 = 2;

/// Which mechanism a credential is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mech {
    Kerberos,
    Ntlm,
}

impl Mech {
    fn oid(self) -> Oid {
        match self {
            Mech::Kerberos => oid(MECH_KRB5),
            Mech::Ntlm => oid(MECH_NTLMSSP),
        }
    }
}

/// The library's words for a status (major and minor), for errors an operator reads.
fn status_text(l: &Lib, major: u32, minor: u32, mech: Option<Mech>) -> String {
    let mut parts = Vec::new();
    let m = mech.map(Mech::oid);
    for (code, kind) in [(major, GSS_C_GSS_CODE), (minor, GSS_C_MECH_CODE)] {
        if code == 0 {
            continue;
        }
        let mut ctx = 0u32;
        for _ in 0..8 {
            let mut min = 0;
            let mut buf = Buffer {
                length: 0,
                value: ptr::null_mut(),
            };
            let mech_ptr = m.as_ref().map_or(ptr::null(), |o| o as *const Oid);
            // SAFETY: all pointers are valid for the call; the buffer is released below.
            let r =
                unsafe { (l.display_status)(&mut min, code, kind, mech_ptr, &mut ctx, &mut buf) };
            if r != GSS_S_COMPLETE {
                break;
            }
            let bytes = l.take(&mut buf);
            let text = String::from_utf8_lossy(&bytes).trim().to_owned();
            if !text.is_empty() && !parts.contains(&text) {
                parts.push(text);
            }
            if ctx == 0 {
                break;
            }
        }
    }
    if parts.is_empty() {
        format!("GSSAPI error {major:#x}/{minor}")
    } else {
        parts.join(": ")
    }
}

struct OwnedName(Name);

impl Drop for OwnedName {
    fn drop(&mut self) {
        if let (false, Ok(l)) = (self.0.is_null(), lib()) {
            let mut min = 0;
            // SAFETY: the name came from gss_import_name and is released once.
            unsafe { (l.release_name)(&mut min, &mut self.0) };
        }
    }
}

fn import(l: &Lib, text: &str, kind: &'static [u8]) -> Result<OwnedName, String> {
    let buf = Buffer {
        length: text.len(),
        value: text.as_ptr().cast_mut().cast(),
    };
    let t = oid(kind);
    let mut name: Name = ptr::null_mut();
    let mut min = 0;
    // SAFETY: buf and t are valid for the call; the name is owned by OwnedName.
    let major = unsafe { (l.import_name)(&mut min, &buf, &t, &mut name) };
    if major != GSS_S_COMPLETE {
        return Err(format!(
            "cannot use the name {text:?}: {}",
            status_text(l, major, min, None)
        ));
    }
    Ok(OwnedName(name))
}

/// A client credential (a TGT from a keytab or ticket cache, or an NTLM user and password).
pub struct Credential {
    cred: Cred,
    pub mech: Mech,
}

// SAFETY: a GSSAPI credential handle may be used from any thread (MIT krb5 is thread-safe);
// patchdeck never uses one credential from two threads at once without the library's locks.
unsafe impl Send for Credential {}
// SAFETY: as above; init_sec_context only reads the credential.
unsafe impl Sync for Credential {}

impl Drop for Credential {
    fn drop(&mut self) {
        if let (false, Ok(l)) = (self.cred.is_null(), lib()) {
            let mut min = 0;
            // SAFETY: the credential came from an acquire call and is released once.
            unsafe { (l.release_cred)(&mut min, &mut self.cred) };
        }
    }
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credential({:?})", self.mech)
    }
}

impl Credential {
    /// NTLM: "DOMAIN\\user" (or "user@domain") and its password, through gss-ntlmssp.
    pub fn ntlm(user: &str, password: &str) -> Result<Credential, String> {
        let l = lib()?;
        let name = import(l, user, NT_USER_NAME)?;
        // gss-ntlmssp reads the password as a C string: it must end with a NUL.
        let password = CString::new(password).map_err(|_| "the password has a NUL byte")?;
        let pw = Buffer {
            length: password.as_bytes().len(),
            value: password.as_ptr().cast_mut().cast(),
        };
        let mech = oid(MECH_NTLMSSP);
        let set = OidSet {
            count: 1,
            elements: &mech,
        };
        let mut cred: Cred = ptr::null_mut();
        let mut min = 0;
        // SAFETY: every pointer is valid for the call; the credential is owned below.
        let major = unsafe {
            (l.acquire_with_password)(
                &mut min,
                name.0,
                &pw,
                0,
                &set,
                GSS_C_INITIATE,
                &mut cred,
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        if major != GSS_S_COMPLETE {
            return Err(format!(
                "cannot make NTLM credentials for {user} (is gss-ntlmssp installed?): {}",
                status_text(l, major, min, Some(Mech::Ntlm))
            ));
        }
        Ok(Credential {
            cred,
            mech: Mech::Ntlm,
        })
    }

    /// Kerberos: `principal` ("svc@CORP.EXAMPLE", or the cache's default when `None`) from
    /// `keytab` (kept in a per-process memory cache), or the caller's ticket cache.
    pub fn kerberos(principal: Option<&str>, keytab: Option<&str>) -> Result<Credential, String> {
        let l = lib()?;
        let name = match principal {
            Some(p) => Some(import(l, p, KRB5_NT_PRINCIPAL)?),
            None => None,
        };
        let mech = oid(MECH_KRB5);
        let set = OidSet {
            count: 1,
            elements: &mech,
        };
        // The client keytab, and a memory cache for the tickets it gets (never the user's
        // ticket cache, never a file another process could read).
        let cache = format!("MEMORY:patchdeck-{}", std::process::id());
        let (k1, v1, k2, v2) = (
            CString::new("client_keytab").unwrap_or_default(),
            CString::new(keytab.unwrap_or("")).map_err(|_| "keytab path has a NUL")?,
            CString::new("ccache").unwrap_or_default(),
            CString::new(cache).unwrap_or_default(),
        );
        let elements = [
            KeyValue {
                key: k1.as_ptr(),
                value: v1.as_ptr(),
            },
            KeyValue {
                key: k2.as_ptr(),
                value: v2.as_ptr(),
            },
        ];
        let store = KeyValueSet {
            count: 2,
            elements: elements.as_ptr(),
        };
        let mut cred: Cred = ptr::null_mut();
        let mut min = 0;
        let store_ptr = if keytab.is_some() {
            &store as *const KeyValueSet
        } else {
            ptr::null()
        };
        // SAFETY: every pointer is valid for the call; the credential is owned below.
        let major = unsafe {
            (l.acquire_from)(
                &mut min,
                name.as_ref().map_or(ptr::null_mut(), |n| n.0),
                0,
                &set,
                GSS_C_INITIATE,
                store_ptr,
                &mut cred,
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        if major != GSS_S_COMPLETE {
            return Err(format!(
                "no Kerberos credentials{}: {}",
                principal.map_or(String::new(), |p| format!(" for {p}")),
                status_text(l, major, min, Some(Mech::Kerberos))
            ));
        }
        Ok(Credential {
            cred,
            mech: Mech::Kerberos,
        })
    }
}

/// One security context with one server: feed it the server's tokens until it is done.
pub struct Context {
    cred: std::sync::Arc<Credential>,
    ctx: Ctx,
    target: OwnedName,
    /// The context is established (the last token was produced, or the server's final
    /// token verified).
    pub complete: bool,
}

impl Drop for Context {
    fn drop(&mut self) {
        if let (false, Ok(l)) = (self.ctx.is_null(), lib()) {
            let mut min = 0;
            // SAFETY: the context came from init_sec_context and is deleted once.
            unsafe { (l.delete_ctx)(&mut min, &mut self.ctx, ptr::null_mut()) };
        }
    }
}

impl Context {
    /// A context for HTTP on `host` (service principal HTTP/host for Kerberos).
    pub fn new(cred: std::sync::Arc<Credential>, host: &str) -> Result<Context, String> {
        let l = lib()?;
        let target = import(l, &format!("HTTP@{host}"), NT_HOSTBASED_SERVICE)?;
        Ok(Context {
            cred,
            ctx: ptr::null_mut(),
            target,
            complete: false,
        })
    }

    /// The next token to send, from the server's last token (`None` on the first leg).
    /// Returns an empty token when the context completed with nothing more to send.
    pub fn step(&mut self, input: Option<&[u8]>) -> Result<Vec<u8>, String> {
        let l = lib()?;
        let in_buf = input.map(|b| Buffer {
            length: b.len(),
            value: b.as_ptr().cast_mut().cast(),
        });
        let mut out = Buffer {
            length: 0,
            value: ptr::null_mut(),
        };
        let mech = self.cred.mech.oid();
        let flags = match self.cred.mech {
            Mech::Kerberos => GSS_C_MUTUAL_FLAG,
            Mech::Ntlm => 0,
        };
        let mut min = 0;
        let mut ret_flags = 0;
        // SAFETY: every pointer is valid for the call; the output buffer is released below.
        let major = unsafe {
            (l.init_sec_context)(
                &mut min,
                self.cred.cred,
                &mut self.ctx,
                self.target.0,
                &mech,
                flags,
                0,
                ptr::null(),
                in_buf.as_ref().map_or(ptr::null(), |b| b as *const Buffer),
                ptr::null_mut(),
                &mut out,
                &mut ret_flags,
                ptr::null_mut(),
            )
        };
        let token = l.take(&mut out);
        match major {
            GSS_S_COMPLETE => {
                self.complete = true;
                Ok(token)
            }
            GSS_S_CONTINUE_NEEDED => Ok(token),
            _ => Err(status_text(l, major, min, Some(self.cred.mech))),
        }
    }
}

/// True when the system GSSAPI library can be loaded here.
pub fn available() -> Result<(), String> {
    lib().map(|_| ())
}

/// The accepting side, for the simulated site (`patchdeck demo`): an NTLM acceptor whose users
/// are listed in a gss-ntlmssp users file ("DOMAIN:user:password" lines). Never used by a
/// probe.
pub struct Acceptor {
    cred: Cred,
}

// SAFETY: as for Credential: MIT's mechglue and gss-ntlmssp may use a credential from any
// thread; accept_sec_context only reads it.
unsafe impl Send for Acceptor {}
// SAFETY: as above.
unsafe impl Sync for Acceptor {}

impl Drop for Acceptor {
    fn drop(&mut self) {
        if let (false, Ok(l)) = (self.cred.is_null(), lib()) {
            let mut min = 0;
            // SAFETY: the credential came from an acquire call and is released once.
            unsafe { (l.release_cred)(&mut min, &mut self.cred) };
        }
    }
}

impl Acceptor {
    /// An NTLM acceptor for `HTTP@host` whose users are in `users_file`.
    pub fn ntlm(host: &str, users_file: &str) -> Result<Acceptor, String> {
        let l = lib()?;
        let name = import(l, &format!("HTTP@{host}"), NT_HOSTBASED_SERVICE)?;
        let mech = oid(MECH_NTLMSSP);
        let set = OidSet {
            count: 1,
            elements: &mech,
        };
        let (k, v) = (
            CString::new("ntlmssp_keyfile").unwrap_or_default(),
            CString::new(users_file).map_err(|_| "users file path has a NUL")?,
        );
        let el = KeyValue {
            key: k.as_ptr(),
            value: v.as_ptr(),
        };
        let store = KeyValueSet {
            count: 1,
            elements: &el,
        };
        let mut cred: Cred = ptr::null_mut();
        let mut min = 0;
        // SAFETY: every pointer is valid for the call; the credential is owned below.
        let major = unsafe {
            (l.acquire_from)(
                &mut min,
                name.0,
                0,
                &set,
                GSS_C_ACCEPT,
                &store,
                &mut cred,
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        if major != GSS_S_COMPLETE {
            return Err(format!(
                "cannot make an NTLM acceptor (is gss-ntlmssp installed?): {}",
                status_text(l, major, min, Some(Mech::Ntlm))
            ));
        }
        Ok(Acceptor { cred })
    }

    /// A context for one connection.
    pub fn context(self: &std::sync::Arc<Self>) -> AcceptContext {
        AcceptContext {
            acceptor: self.clone(),
            ctx: ptr::null_mut(),
        }
    }
}

/// The accepting side of one handshake.
pub struct AcceptContext {
    acceptor: std::sync::Arc<Acceptor>,
    ctx: Ctx,
}

// SAFETY: a security context may move between threads between calls (it is used by one
// connection's thread at a time).
unsafe impl Send for AcceptContext {}

impl Drop for AcceptContext {
    fn drop(&mut self) {
        if let (false, Ok(l)) = (self.ctx.is_null(), lib()) {
            let mut min = 0;
            // SAFETY: the context came from accept_sec_context and is deleted once.
            unsafe { (l.delete_ctx)(&mut min, &mut self.ctx, ptr::null_mut()) };
        }
    }
}

impl AcceptContext {
    /// The token to answer `input` with, and whether the client is now authenticated.
    pub fn step(&mut self, input: &[u8]) -> Result<(Vec<u8>, bool), String> {
        let l = lib()?;
        let in_buf = Buffer {
            length: input.len(),
            value: input.as_ptr().cast_mut().cast(),
        };
        let mut out = Buffer {
            length: 0,
            value: ptr::null_mut(),
        };
        let mut min = 0;
        // SAFETY: every pointer is valid for the call; the output buffer is released below.
        let major = unsafe {
            (l.accept_sec_context)(
                &mut min,
                &mut self.ctx,
                self.acceptor.cred,
                &in_buf,
                ptr::null(),
                ptr::null_mut(),
                ptr::null_mut(),
                &mut out,
                ptr::null_mut(),
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        let token = l.take(&mut out);
        match major {
            GSS_S_COMPLETE => Ok((token, true)),
            GSS_S_CONTINUE_NEEDED => Ok((token, false)),
            _ => Err(status_text(l, major, min, Some(Mech::Ntlm))),
        }
    }
}
