//! End to end: the real `plinth` binary starts on a fresh database and a free
//! port, answers `/healthz`, and exits cleanly on SIGTERM.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

/// Tries of 100 ms each: the server must answer within 30 s.
const STARTUP_TRIES: u32 = 300;
/// Tries of 100 ms each: the server must exit within 15 s of SIGTERM.
const SHUTDOWN_TRIES: u32 = 150;

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local address").port()
}

/// A bare HTTP/1.1 GET; returns the status line and the body.
fn get(port: u16, path: &str) -> std::io::Result<(String, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response.lines().next().unwrap_or_default().to_owned();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

fn wait_for_exit(child: &mut Child) -> Option<ExitStatus> {
    for _ in 0..SHUTDOWN_TRIES {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

plinth_db::db_test!(async fn binary_serves_and_stops_on_sigterm(db) {
    let port = free_port();
    let workdir = std::env::temp_dir().join(format!("plinth-e2e-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&workdir).expect("create a working directory");
    let mut child = Command::new(env!("CARGO_BIN_EXE_plinth"))
        .arg("serve")
        .current_dir(&workdir)
        .env_clear()
        .env("DATABASE_URL", db.url())
        .env("PLINTH_HTTP__BIND", format!("127.0.0.1:{port}"))
        .env("PLINTH_HTTP__WORKERS", "1")
        .env("PLINTH_LOG__FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start plinth");
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let logs = std::thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).ok();
        text
    });

    let mut healthy = None;
    for _ in 0..STARTUP_TRIES {
        if let Ok((status, body)) = get(port, "/healthz")
            && status.starts_with("HTTP/1.1 200")
        {
            healthy = Some(body);
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("plinth exited early with {status}: {}", logs.join().unwrap_or_default());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let Some(body) = healthy else {
        child.kill().ok();
        panic!("no 200 from /healthz: {}", logs.join().unwrap_or_default());
    };
    assert_eq!(body.trim(), r#"{"status":"ok"}"#);
    let (status, _) = get(port, "/readyz").expect("GET /readyz");
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");

    let killed = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .expect("run kill");
    assert!(killed.success());
    let exit = wait_for_exit(&mut child);
    if exit.is_none() {
        child.kill().ok();
    }
    let logs = logs.join().unwrap_or_default();
    std::fs::remove_dir_all(&workdir).ok();
    let exit = exit.unwrap_or_else(|| panic!("plinth did not exit after SIGTERM: {logs}"));
    assert_eq!(exit.code(), Some(0), "{logs}");
    assert!(logs.contains("SIGTERM") && logs.contains("shutdown complete"), "{logs}");
    for line in logs.lines() {
        let parsed: Result<serde_json::Value, _> = serde_json::from_str(line);
        assert!(parsed.is_ok(), "not a JSON log line: {line}");
    }
});
