//! SOAP for the one WSUS call a probe may make: the anonymous, read-only `GetConfig` of the
//! client web service (MS-WUSP). Parsed by namespace and local name, never by prefix: real
//! servers answer with `s:`, `soap:` or a default namespace. A DTD is refused and entities are
//! never expanded (only the five predefined ones and character references are decoded).

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

pub const SOAP_ENV: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const CLIENT_NS: &str = "http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService";
pub const GET_CONFIG_ACTION: &str =
    "\"http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService/GetConfig\"";
/// Deeper nesting than this is hostile, not SOAP.
const MAX_DEPTH: usize = 64;

/// The request body of `GetConfig` (protocol version 1.8, as WUA clients send).
pub fn get_config_request() -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\
<soap:Envelope xmlns:soap=\"{SOAP_ENV}\"><soap:Body>\
<GetConfig xmlns=\"{CLIENT_NS}\"><protocolVersion>1.8</protocolVersion></GetConfig>\
</soap:Body></soap:Envelope>"
    )
}

/// What `GetConfig` answered.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetConfig {
    /// `Properties/ConfigurationProperty` name/value pairs, in order.
    pub properties: Vec<(String, String)>,
    pub last_change: Option<String>,
}

impl GetConfig {
    /// The `ProtocolVersion` property: 3.0 RTM, 3.1 SP1, 3.2 SP2; absent on WSUS 2.x.
    pub fn protocol_version(&self) -> Option<&str> {
        self.properties
            .iter()
            .find(|(n, _)| n == "ProtocolVersion")
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SoapError {
    /// A `soap:Fault`: faultcode, faultstring, `detail/ErrorCode` when present.
    Fault {
        code: String,
        message: String,
        error_code: Option<String>,
    },
    /// Not a usable SOAP response; the message says why.
    Invalid(String),
}

impl std::fmt::Display for SoapError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SoapError::Fault {
                code,
                message,
                error_code,
            } => {
                write!(f, "SOAP fault {code}")?;
                if let Some(e) = error_code {
                    write!(f, " (ErrorCode {e})")?;
                }
                if !message.is_empty() {
                    write!(f, ": {message}")?;
                }
                Ok(())
            }
            SoapError::Invalid(m) => write!(f, "invalid SOAP response: {m}"),
        }
    }
}

/// The first bytes of a body, escaped, for error messages.
pub fn preview(body: &str) -> String {
    let head: String = body.chars().take(60).collect();
    let mut s = format!("{head:?}");
    if body.chars().count() > 60 {
        s.push('…');
    }
    s
}

/// Parses a `GetConfig` response (or fault).
pub fn parse_get_config(body: &str) -> Result<GetConfig, SoapError> {
    let invalid = |m: String| SoapError::Invalid(m);
    let mut reader = NsReader::from_str(body);
    reader.config_mut().trim_text(true);
    // Element path as (namespace, local name).
    let mut path: Vec<(String, String)> = Vec::new();
    let mut text = String::new();
    let mut saw_envelope = false;
    let mut saw_result = false;
    let mut c = Collected::default();
    loop {
        let (ns, event) = reader
            .read_resolved_event()
            .map_err(|e| invalid(format!("{e} (body starts {})", preview(body))))?;
        let ns = match ns {
            ResolveResult::Bound(n) => String::from_utf8_lossy(n.as_ref()).into_owned(),
            _ => String::new(),
        };
        match event {
            Event::DocType(_) => {
                return Err(invalid(
                    "it contains a DTD, which SOAP forbids (refused)".into(),
                ));
            }
            Event::Start(e) => {
                let local = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if path.is_empty() {
                    if !(ns == SOAP_ENV && local == "Envelope") {
                        return Err(invalid(format!(
                            "root element is {{{ns}}}{local}, not a SOAP 1.1 Envelope"
                        )));
                    }
                    saw_envelope = true;
                }
                if ns == SOAP_ENV && local == "Fault" {
                    c.fault = true;
                }
                if ns == CLIENT_NS && local == "GetConfigResult" {
                    saw_result = true;
                }
                path.push((ns, local));
                if path.len() > MAX_DEPTH {
                    return Err(invalid(format!("elements nested deeper than {MAX_DEPTH}")));
                }
                text.clear();
            }
            Event::Empty(e) => {
                let local = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if ns == CLIENT_NS && local == "GetConfigResult" {
                    saw_result = true;
                }
                if path.is_empty() {
                    return Err(invalid(format!("root element is an empty {local}")));
                }
            }
            Event::Text(t) => text.push_str(&t.decode().map_err(|e| invalid(e.to_string()))?),
            Event::CData(t) => text.push_str(&t.decode().map_err(|e| invalid(e.to_string()))?),
            Event::GeneralRef(r) => push_ref(&r, &mut text)?,
            Event::End(_) => {
                let Some((ns, local)) = path.pop() else { break };
                let value = std::mem::take(&mut text);
                let parent = path.last().map(|(_, l)| l.as_str());
                c.end(&ns, &local, parent, value);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !path.is_empty() {
        return Err(invalid(format!(
            "it ends inside <{}> (truncated)",
            path.last().map_or("", |p| p.1.as_str())
        )));
    }
    if !saw_envelope {
        return Err(invalid(format!(
            "no SOAP Envelope (body starts {})",
            preview(body)
        )));
    }
    if c.fault {
        return Err(SoapError::Fault {
            code: c.fault_code.unwrap_or_else(|| "(no faultcode)".into()),
            message: c.fault_string.unwrap_or_default(),
            error_code: c.error_code,
        });
    }
    if !saw_result {
        return Err(invalid("no GetConfigResult in the Body".into()));
    }
    Ok(c.out)
}

/// What the parser keeps as elements end.
#[derive(Default)]
struct Collected {
    out: GetConfig,
    prop_name: Option<String>,
    prop_value: Option<String>,
    fault: bool,
    fault_code: Option<String>,
    fault_string: Option<String>,
    error_code: Option<String>,
}

impl Collected {
    /// An element `{ns}local` under `parent` ended with text `value`.
    fn end(&mut self, ns: &str, local: &str, parent: Option<&str>, value: String) {
        if self.fault {
            match local {
                "faultcode" => self.fault_code = Some(value.trim().to_owned()),
                "faultstring" => self.fault_string = Some(value.trim().to_owned()),
                "ErrorCode" => self.error_code = Some(value.trim().to_owned()),
                _ => {}
            }
        } else if ns == CLIENT_NS {
            match (parent, local) {
                (Some("ConfigurationProperty"), "Name") => self.prop_name = Some(value),
                (Some("ConfigurationProperty"), "Value") => self.prop_value = Some(value),
                (_, "ConfigurationProperty") => {
                    if let Some(n) = self.prop_name.take() {
                        let v = self.prop_value.take().unwrap_or_default();
                        self.out.properties.push((n, v));
                    }
                    self.prop_value = None;
                }
                (Some("GetConfigResult"), "LastChange") => self.out.last_change = Some(value),
                _ => {}
            }
        }
    }
}

/// Appends an entity or character reference to `text`: only the predefined entities and
/// character references; any other entity is refused, never expanded.
fn push_ref(r: &quick_xml::events::BytesRef, text: &mut String) -> Result<(), SoapError> {
    let invalid = |m: String| SoapError::Invalid(m);
    if let Some(c) = r.resolve_char_ref().map_err(|e| invalid(e.to_string()))? {
        text.push(c);
        return Ok(());
    }
    let name = r.decode().map_err(|e| invalid(e.to_string()))?;
    match quick_xml::escape::resolve_predefined_entity(&name) {
        Some(s) => {
            text.push_str(s);
            Ok(())
        }
        None => Err(invalid(format!(
            "it uses the undeclared entity &{name}; (not expanded)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(prefix: &str, props: &str) -> String {
        let (open, close, decl) = if prefix.is_empty() {
            (
                "".to_owned(),
                "".to_owned(),
                format!(" xmlns=\"{SOAP_ENV}\""),
            )
        } else {
            (
                format!("{prefix}:"),
                format!("{prefix}:"),
                format!(" xmlns:{prefix}=\"{SOAP_ENV}\""),
            )
        };
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><{open}Envelope{decl}><{open}Body>\
<GetConfigResponse xmlns=\"{CLIENT_NS}\"><GetConfigResult><LastChange>2026-11-20T13:45:12.000Z</LastChange>\
<IsRegistrationRequired>true</IsRegistrationRequired><AuthInfo><AuthPlugInInfo><PlugInID>SimpleTargeting</PlugInID>\
<ServiceUrl>SimpleAuthWebService/SimpleAuth.asmx</ServiceUrl></AuthPlugInInfo></AuthInfo>\
<Properties>{props}</Properties></GetConfigResult></GetConfigResponse></{close}Body></{close}Envelope>"
        )
    }

    const SP2: &str = "<ConfigurationProperty><Name>MaxExtendedUpdatesPerRequest</Name><Value>50</Value></ConfigurationProperty>\
<ConfigurationProperty><Name>ProtocolVersion</Name><Value>3.2</Value></ConfigurationProperty>";

    #[test]
    fn protocol_version_in_every_prefix_style() {
        for prefix in ["s", "soap", "SOAP-ENV", ""] {
            let r = parse_get_config(&response(prefix, SP2))
                .unwrap_or_else(|e| panic!("{prefix}: {e}"));
            assert_eq!(r.protocol_version(), Some("3.2"), "{prefix}");
            assert_eq!(r.properties.len(), 2);
            assert_eq!(r.last_change.as_deref(), Some("2026-11-20T13:45:12.000Z"));
        }
    }

    #[test]
    fn wsus2_has_no_protocol_version() {
        let r = parse_get_config(&response("soap", "")).unwrap();
        assert_eq!(r.protocol_version(), None);
    }

    #[test]
    fn elements_in_another_namespace_are_not_taken_for_ours() {
        let fake = "<x:ConfigurationProperty xmlns:x=\"urn:other\"><x:Name>ProtocolVersion</x:Name><x:Value>9.9</x:Value></x:ConfigurationProperty>";
        assert_eq!(
            parse_get_config(&response("s", fake))
                .unwrap()
                .protocol_version(),
            None
        );
    }

    #[test]
    fn faults_carry_code_and_error_code() {
        let body = format!(
            "<s:Envelope xmlns:s=\"{SOAP_ENV}\"><s:Body><s:Fault><faultcode>s:Server</faultcode>\
<faultstring>Fault occurred</faultstring><detail><ErrorCode>ServerBusy</ErrorCode><Message/></detail>\
</s:Fault></s:Body></s:Envelope>"
        );
        let e = parse_get_config(&body).unwrap_err();
        assert_eq!(
            e.to_string(),
            "SOAP fault s:Server (ErrorCode ServerBusy): Fault occurred"
        );
    }

    #[test]
    fn garbage_truncated_and_hostile_bodies_are_refused_with_reasons() {
        let e = parse_get_config("<html><body>Service Unavailable</body></html>")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("invalid SOAP response: root element is {}html"),
            "{e}"
        );
        let e = parse_get_config("not xml at all").unwrap_err().to_string();
        assert!(e.starts_with("invalid SOAP response: "), "{e}");
        let full = response("s", SP2);
        let e = parse_get_config(&full[..full.len() / 2])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("truncated") || e.contains("invalid SOAP response"),
            "{e}"
        );
        let deep = format!(
            "<s:Envelope xmlns:s=\"{SOAP_ENV}\">{}{}</s:Envelope>",
            "<a>".repeat(10_000),
            "</a>".repeat(10_000)
        );
        assert!(
            parse_get_config(&deep)
                .unwrap_err()
                .to_string()
                .contains("nested deeper than 64")
        );
        let bomb = format!(
            "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;\">]>\
<s:Envelope xmlns:s=\"{SOAP_ENV}\"><s:Body>&lol2;</s:Body></s:Envelope>"
        );
        assert!(
            parse_get_config(&bomb)
                .unwrap_err()
                .to_string()
                .contains("DTD")
        );
        let undeclared = response(
            "s",
            "<ConfigurationProperty><Name>&x;</Name><Value>1</Value></ConfigurationProperty>",
        );
        assert!(
            parse_get_config(&undeclared)
                .unwrap_err()
                .to_string()
                .contains("undeclared entity &x;")
        );
        let predefined = response(
            "s",
            "<ConfigurationProperty><Name>A&amp;B&#65;</Name><Value>1</Value></ConfigurationProperty>",
        );
        assert_eq!(
            parse_get_config(&predefined).unwrap().properties[0].0,
            "A&BA"
        );
    }

    #[test]
    fn the_request_is_get_config_in_the_client_namespace() {
        let req = get_config_request();
        assert!(req.contains("<GetConfig xmlns=\"http://www.microsoft.com/SoftwareDistribution/Server/ClientWebService\">"));
        assert!(req.contains("<protocolVersion>1.8</protocolVersion>"));
        assert!(!req.contains("RegisterComputer") && !req.contains("GetAuthorizationCookie"));
    }
}
