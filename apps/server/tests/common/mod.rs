//! Running the real `plinth` binary in tests: a free port, a working
//! directory, a bare HTTP/1.1 client and startup and exit helpers.

#![allow(dead_code)] // each test binary uses its own share of these helpers

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::Duration;

/// Tries of 100 ms each: the server must answer within 30 s.
const STARTUP_TRIES: u32 = 300;
/// Tries of 100 ms each: the server must exit within 15 s of a signal.
const SHUTDOWN_TRIES: u32 = 150;

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local address").port()
}

/// A fresh working directory for one server under the temporary directory.
pub fn workdir(name: &str, port: u16) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("plinth-{name}-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create a working directory");
    dir
}

/// A `plinth` command on database `url`, run in `dir`, with a clean environment.
pub fn plinth(url: &str, dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_plinth"));
    cmd.current_dir(dir).env_clear().env("DATABASE_URL", url);
    cmd
}

/// One HTTP/1.1 request with `Connection: close`; returns the status code and the body.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    )?;
    for (name, value) in headers {
        write!(stream, "{name}: {value}\r\n")?;
    }
    stream.write_all(b"\r\n")?;
    stream.write_all(body)?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_default();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// A bare GET; returns the status code and the body.
pub fn get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    request(port, "GET", path, &[], b"")
}

/// A running `plinth serve` and its captured stderr.
pub struct Server {
    /// The process.
    pub child: Child,
    /// Where it listens on 127.0.0.1.
    pub port: u16,
    logs: Option<JoinHandle<String>>,
}

impl Server {
    /// Starts `plinth serve` on database `url` in `dir`, listening on `port`
    /// with one worker and JSON logs, and waits until `/healthz` answers 200.
    pub fn start(url: &str, dir: &Path, port: u16) -> Self {
        let child = plinth(url, dir)
            .arg("serve")
            .env("PLINTH_HTTP__BIND", format!("127.0.0.1:{port}"))
            .env("PLINTH_HTTP__WORKERS", "1")
            .env("PLINTH_LOG__FORMAT", "json")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start plinth");
        let mut server = Self {
            child,
            port,
            logs: None,
        };
        let mut stderr = server.child.stderr.take().expect("stderr is piped");
        server.logs = Some(std::thread::spawn(move || {
            let mut text = String::new();
            stderr.read_to_string(&mut text).ok();
            text
        }));
        for _ in 0..STARTUP_TRIES {
            if matches!(get(port, "/healthz"), Ok((200, _))) {
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("plinth exited early with {status}: {}", server.logs());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        server.child.kill().ok();
        panic!("no 200 from /healthz: {}", server.logs());
    }

    /// Waits for the process to exit, up to 15 s.
    pub fn wait_for_exit(&mut self) -> Option<ExitStatus> {
        for _ in 0..SHUTDOWN_TRIES {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }

    /// Kills the process with SIGKILL and reaps it.
    pub fn kill(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }

    /// Everything the process wrote to stderr; call after it exited.
    pub fn logs(&mut self) -> String {
        self.logs.take().and_then(|h| h.join().ok()).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill();
        }
    }
}
