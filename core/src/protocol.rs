//! Frames between patchdeck and a `patchdeck-probe-host` child: a 4-byte little-endian
//! length, then that many bytes of JSON. The child writes frames on its original stdout (the
//! plugin's own stdout is moved to stderr before the plugin is loaded) and reads them on stdin.
//!
//! Conversation: child -> `hello` (or `load_failed`, then exits); host -> `create`,
//! `check`, `cancel`, `destroy`, `shutdown`; child -> `created`/`create_failed`, `result`,
//! `log`. Inspection mode (`--inspect FILE...`) sends one `inspected` per file.

use crate::plugin::PluginInfo;
use serde::{Deserialize, Serialize};
use std::io::{self, Read, Write};

/// Frames above this size are a protocol error (reports are capped at 1 MiB before sending).
pub const MAX_FRAME: usize = 8 * 1024 * 1024;

/// The version of this conversation, sent in `hello`. A child that sends another (or none:
/// children from before versioning) is refused, so a stale `patchdeck-probe-host` next to a
/// newer `patchdeck` is named instead of misread.
pub const PROTOCOL_VERSION: u32 = 2;

/// Checks a child's `hello` version.
pub fn check_protocol(child: u32) -> Result<(), String> {
    if child == PROTOCOL_VERSION {
        return Ok(());
    }
    Err(format!(
        "the probe host speaks protocol {child}, this patchdeck speaks {PROTOCOL_VERSION}: \
         install the patchdeck-probe-host of the same patchdeck version (or set PATCHDECK_PROBE_HOST to it)"
    ))
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToChild {
    Create {
        instance: u64,
        config: String,
        probe: String,
    },
    Check {
        instance: u64,
        call: u64,
        timeout_ms: u32,
        deadline_unix_ms: u64,
    },
    Cancel {
        call: u64,
    },
    Destroy {
        instance: u64,
    },
    Shutdown,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToHost {
    Hello {
        info: PluginInfo,
        /// [`PROTOCOL_VERSION`] of the child; 0 when absent (children before versioning).
        #[serde(default)]
        protocol: u32,
    },
    LoadFailed {
        message: String,
    },
    Created {
        instance: u64,
    },
    CreateFailed {
        instance: u64,
        error: crate::runner::RunError,
    },
    /// `outcome`: report text (valid UTF-8, size-checked) or the UNKNOWN reason.
    Result {
        call: u64,
        outcome: Result<String, crate::runner::RunError>,
    },
    Log {
        level: u32,
        probe: String,
        message: String,
    },
    Inspected {
        path: String,
        outcome: Result<PluginInfo, String>,
    },
}

/// Encodes a frame: length prefix and JSON body.
pub fn encode<T: Serialize>(msg: &T) -> Vec<u8> {
    let body = serde_json::to_vec(msg).unwrap_or_else(|_| b"{}".to_vec());
    let mut buf = Vec::with_capacity(body.len() + 4);
    buf.extend_from_slice(&(body.len() as u32).to_le_bytes());
    buf.extend_from_slice(&body);
    buf
}

/// Writes one frame (blocking).
pub fn write_frame<W: Write, T: Serialize>(w: &mut W, msg: &T) -> io::Result<()> {
    w.write_all(&encode(msg))?;
    w.flush()
}

fn body_len(prefix: [u8; 4]) -> io::Result<usize> {
    let len = u32::from_le_bytes(prefix) as usize;
    if len > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {len} bytes is over the limit"),
        ));
    }
    Ok(len)
}

fn decode<T: for<'de> Deserialize<'de>>(body: &[u8]) -> io::Result<Option<T>> {
    serde_json::from_slice(body)
        .map(Some)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// `Ok(false)` when the stream ended cleanly before a frame.
fn clean_eof(r: io::Result<()>) -> io::Result<bool> {
    match r {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e),
    }
}

/// Reads one frame (blocking). `Ok(None)` on a clean end of stream.
pub fn read_frame<R: Read, T: for<'de> Deserialize<'de>>(r: &mut R) -> io::Result<Option<T>> {
    let mut prefix = [0u8; 4];
    if !clean_eof(r.read_exact(&mut prefix))? {
        return Ok(None);
    }
    let mut body = vec![0u8; body_len(prefix)?];
    r.read_exact(&mut body)?;
    decode(&body)
}

/// Reads one frame (async, host side). `Ok(None)` on a clean end of stream.
pub async fn read_frame_async<R, T>(r: &mut R) -> io::Result<Option<T>>
where
    R: tokio::io::AsyncRead + Unpin,
    T: for<'de> Deserialize<'de>,
{
    use tokio::io::AsyncReadExt;
    let mut prefix = [0u8; 4];
    if !clean_eof(r.read_exact(&mut prefix).await.map(drop))? {
        return Ok(None);
    }
    let mut body = vec![0u8; body_len(prefix)?];
    r.read_exact(&mut body).await?;
    decode(&body)
}

#[cfg(test)]
mod version_tests {
    use super::*;

    #[test]
    fn hello_carries_the_protocol_version_and_a_mismatch_is_named() {
        assert_eq!(check_protocol(PROTOCOL_VERSION), Ok(()));
        let old: ToHost = serde_json::from_str(
            r#"{"type":"hello","info":{"kind":"x","version":"1","abi_major":1,"abi_minor":0,"description":"","config_schema":null}}"#,
        )
        .unwrap();
        let ToHost::Hello { protocol, .. } = old else {
            panic!()
        };
        assert_eq!(protocol, 0, "a child from before versioning");
        let e = check_protocol(protocol).unwrap_err();
        assert!(
            e.starts_with("the probe host speaks protocol 0, this patchdeck speaks 2"),
            "{e}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_eof_is_clean() {
        let mut buf = Vec::new();
        let msg = ToHost::Result {
            call: 7,
            outcome: Err(crate::runner::RunError::Failed("x".into())),
        };
        write_frame(&mut buf, &msg).unwrap();
        write_frame(&mut buf, &ToChild::Shutdown).unwrap();
        let mut r = &buf[..];
        assert_eq!(read_frame::<_, ToHost>(&mut r).unwrap(), Some(msg));
        assert_eq!(
            read_frame::<_, ToChild>(&mut r).unwrap(),
            Some(ToChild::Shutdown)
        );
        assert_eq!(read_frame::<_, ToChild>(&mut r).unwrap(), None);
    }

    #[test]
    fn oversized_frame_is_refused() {
        let mut r = &((MAX_FRAME as u32 + 1).to_le_bytes())[..];
        assert!(read_frame::<_, ToChild>(&mut r).is_err());
    }
}
