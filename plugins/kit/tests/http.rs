//! `kit::http` against real TCP servers on 127.0.0.1.

use patchdeck_kit::http::{Http, HttpError};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::atomic::AtomicU32;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime};

/// Serves one raw response per connection, in order; sends each request's head back.
fn serve(responses: Vec<Vec<u8>>) -> (String, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for resp in responses {
            let Ok((mut sock, _)) = listener.accept() else {
                return;
            };
            let mut reader = BufReader::new(sock.try_clone().unwrap());
            let mut head = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            let _ = tx.send(head);
            let _ = sock.write_all(&resp);
        }
    });
    (base, rx)
}

fn in_secs(s: u64) -> SystemTime {
    SystemTime::now() + Duration::from_secs(s)
}

#[test]
fn any_status_is_an_answer_with_headers_and_body() {
    let (base, heads) = serve(vec![
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-AspNet-Version: 2.0.50727\r\nConnection: close\r\n\r\nhello".to_vec(),
        b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
        b"HTTP/1.1 207 Multi-Status\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
    ]);
    let http = Http::new(in_secs(5), false, None);
    let r = http
        .get(&format!("{base}/ClientWebService/client.asmx"))
        .unwrap();
    assert_eq!((r.status, r.text().as_str()), (200, "hello"));
    assert_eq!(r.header("x-aspnet-version"), Some("2.0.50727"));
    let head = heads.recv().unwrap();
    assert!(
        head.starts_with("GET /ClientWebService/client.asmx HTTP/1.1"),
        "{head}"
    );
    assert!(
        !head.to_ascii_lowercase().contains("accept-encoding"),
        "never ask for compression: {head}"
    );
    assert_eq!(http.get(&base).unwrap().status, 503);
    let r = http
        .request(
            "PROPFIND",
            &format!("{base}/SMS_DP_SMSPKGD%24/ABC00012/"),
            &[("Depth", "1")],
            None,
            1024,
        )
        .unwrap();
    assert_eq!(r.status, 207);
    let _ = heads.recv();
    let head = heads.recv().unwrap();
    assert!(
        head.starts_with("PROPFIND /SMS_DP_SMSPKGD%24/ABC00012/ HTTP/1.1"),
        "{head}"
    );
    assert!(
        head.contains("Depth: 1") || head.contains("depth: 1"),
        "{head}"
    );
}

#[test]
fn bodies_are_capped() {
    let big = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: 4096\r\nConnection: close\r\n\r\n{}",
        "x".repeat(4096)
    );
    let (base, _h) = serve(vec![big.into_bytes()]);
    let r = Http::new(in_secs(5), false, None)
        .request("GET", &base, &[], None, 100)
        .unwrap();
    assert_eq!((r.body.len(), r.truncated), (100, true));
}

#[test]
fn refused_connection_names_the_target() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let e = Http::new(in_secs(5), false, None)
        .get(&format!("http://127.0.0.1:{port}/"))
        .unwrap_err();
    assert_eq!(e, HttpError::Refused(format!("127.0.0.1:{port}")));
    assert_eq!(
        e.to_string(),
        format!("connection refused by 127.0.0.1:{port}")
    );
}

#[test]
fn a_silent_server_is_cut_off_before_the_deadline() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    // Accepts the connection and never answers (holds it open past the deadline).
    let hold = std::thread::spawn(move || {
        if let Ok((sock, _)) = listener.accept() {
            std::thread::sleep(Duration::from_secs(3));
            drop(sock);
        }
    });
    let deadline = SystemTime::now() + Duration::from_millis(600);
    let t0 = Instant::now();
    let e = Http::new(deadline, false, None).get(&url).unwrap_err();
    assert!(matches!(e, HttpError::Timeout(_)), "{e:?}");
    assert!(
        t0.elapsed() < Duration::from_millis(600),
        "socket timeout came after the deadline: {:?}",
        t0.elapsed()
    );
    assert!(e.to_string().ends_with("(timed out)"), "{e}");
    // A deadline already gone sends nothing.
    let e = Http::new(SystemTime::now(), false, None)
        .get(&url)
        .unwrap_err();
    assert_eq!(e, HttpError::OutOfTime);
    assert_eq!(e.to_string(), "not sent: the probe's time ran out");
    drop(hold);
}

#[test]
fn a_cancelled_call_sends_nothing() {
    let flag = AtomicU32::new(1);
    let e = Http::new(in_secs(5), false, Some(&flag))
        .get("http://127.0.0.1:9/")
        .unwrap_err();
    assert_eq!(e, HttpError::Cancelled);
}

/// A request sent with the leftovers of the call's time (earlier requests used most of it)
/// that then runs out is "not checked" (`Starved`), never a timeout blamed on the server;
/// the same silent server asked with the whole budget is the server's timeout.
#[test]
fn a_request_sent_with_too_little_time_left_is_starved_not_timed_out() {
    let slow = TcpListener::bind("127.0.0.1:0").unwrap();
    let slow_url = format!("http://{}/", slow.local_addr().unwrap());
    let answer = std::thread::spawn(move || {
        if let Ok((mut sock, _)) = slow.accept() {
            use std::io::{Read, Write};
            let mut buf = [0u8; 1024];
            let _ = sock.read(&mut buf);
            std::thread::sleep(Duration::from_millis(1400));
            let _ = sock
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("http://{}/", silent.local_addr().unwrap());
    let hold = std::thread::spawn(move || {
        let mut socks = Vec::new();
        for _ in 0..2 {
            if let Ok((sock, _)) = silent.accept() {
                socks.push(sock);
            }
        }
        std::thread::sleep(Duration::from_secs(3));
    });
    let http = Http::new(SystemTime::now() + Duration::from_secs(2), false, None);
    assert_eq!(http.get(&slow_url).unwrap().status, 200);
    let e = http.get(&silent_url).unwrap_err();
    assert!(matches!(e, HttpError::Starved(_)), "{e:?}");
    assert!(e.not_checked());
    assert!(
        e.to_string()
            .starts_with("the probe's time ran out: sent with only "),
        "{e}"
    );
    // With the whole budget, silence is the server's: a timeout.
    let e = Http::new(SystemTime::now() + Duration::from_millis(800), false, None)
        .get(&silent_url)
        .unwrap_err();
    assert!(matches!(e, HttpError::Timeout(_)), "{e:?}");
    assert!(!e.not_checked());
    answer.join().unwrap();
    drop(hold);
}
