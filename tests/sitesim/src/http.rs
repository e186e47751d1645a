//! A small HTTP/1.1 server on loopback: one thread per connection, one request per
//! connection (`Connection: close`), the answer computed by a function of the request.

use std::io::{BufRead, BufReader, Read, Write};
use std::sync::Arc;

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Answers one request on a connection (plain TCP or TLS).
pub fn handle<S: Read + Write>(stream: &mut S, answer: &dyn Fn(&Request) -> Vec<u8>) {
    let req = {
        // Buffered: whatever the client sent is consumed, so closing does not reset it.
        let mut reader = BufReader::new(&mut *stream);
        let Some(req) = read_request(&mut reader) else {
            return;
        };
        req
    };
    let _ = stream.write_all(&answer(&req));
    let _ = stream.flush();
}

/// Starts a server on 127.0.0.1 that keeps connections open while `answer` says so, with a
/// state per connection (a login handshake: NTLM authenticates the connection).
pub fn serve_stateful<C: Default + Send + 'static>(
    answer: impl Fn(&Request, &mut C) -> (Vec<u8>, bool) + Send + Sync + 'static,
) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let answer = Arc::new(answer);
    std::thread::spawn(move || {
        for sock in listener.incoming() {
            let Ok(mut sock) = sock else { return };
            let answer = answer.clone();
            std::thread::spawn(move || {
                let _ = sock.set_read_timeout(Some(std::time::Duration::from_secs(30)));
                let Ok(read_half) = sock.try_clone() else {
                    return;
                };
                // One buffered reader for the whole connection: requests arrive back to back.
                let mut reader = BufReader::new(read_half);
                let mut state = C::default();
                // At most a handful of requests per connection: a login and its request.
                for _ in 0..8 {
                    let Some(req) = read_request(&mut reader) else {
                        return;
                    };
                    let (out, keep) = answer(&req, &mut state);
                    if sock.write_all(&out).is_err() || !keep {
                        return;
                    }
                }
            });
        }
    });
    base
}

/// Reads one request (headers and body) from a buffered connection.
fn read_request<R: BufRead>(reader: &mut R) -> Option<Request> {
    Some({
        let mut first = String::new();
        if reader.read_line(&mut first).unwrap_or(0) == 0 {
            return None;
        }
        let mut parts = first.split_whitespace();
        let method = parts.next().unwrap_or("").to_owned();
        let path = parts.next().unwrap_or("").to_owned();
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            if let Some((k, v)) = line.trim_end().split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
            }
        }
        // Read the body too: closing with unread bytes would reset the connection.
        let len: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0u8; len.min(1 << 20)];
        let _ = reader.read_exact(&mut body);
        Request {
            method,
            path,
            headers,
            body,
        }
    })
}

/// Starts a server on 127.0.0.1 (a free port); returns "http://127.0.0.1:PORT".
pub fn serve(answer: impl Fn(&Request) -> Vec<u8> + Send + Sync + 'static) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let answer = Arc::new(answer);
    std::thread::spawn(move || {
        for sock in listener.incoming() {
            let Ok(mut sock) = sock else { return };
            let answer = answer.clone();
            std::thread::spawn(move || handle(&mut sock, &*answer));
        }
    });
    base
}

/// A loopback port nothing listens on (for "down" servers).
pub fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// An IIS 6 + ASP.NET 2.0 shaped response.
pub fn iis(status: &str, extra_headers: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nServer: Microsoft-IIS/6.0\r\nX-Powered-By: ASP.NET\r\nX-AspNet-Version: 2.0.50727\r\n{extra_headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// Headers only (HEAD), with an explicit Content-Length header or none.
pub fn iis_head(status: &str, extra_headers: &str) -> Vec<u8> {
    format!("HTTP/1.1 {status}\r\nServer: Microsoft-IIS/6.0\r\nX-Powered-By: ASP.NET\r\n{extra_headers}Connection: close\r\n\r\n")
        .into_bytes()
}
