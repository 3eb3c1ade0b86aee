//! End to end: the real `plinth` binary starts on a fresh database and a free
//! port, answers `/healthz`, and exits cleanly on SIGTERM.

mod common;

use std::process::Command;

use common::{Server, free_port, get, workdir};

plinth_db::db_test!(async fn binary_serves_and_stops_on_sigterm(db) {
    let port = free_port();
    let dir = workdir("e2e", port);
    let mut server = Server::start(db.url(), &dir, port);
    let (status, body) = get(port, "/healthz").expect("GET /healthz");
    assert_eq!((status, body.trim()), (200, r#"{"status":"ok"}"#));
    let (status, _) = get(port, "/readyz").expect("GET /readyz");
    assert_eq!(status, 200);

    let killed = Command::new("kill")
        .arg("-TERM")
        .arg(server.child.id().to_string())
        .status()
        .expect("run kill");
    assert!(killed.success());
    let exit = server.wait_for_exit();
    if exit.is_none() {
        server.kill();
    }
    let logs = server.logs();
    std::fs::remove_dir_all(&dir).ok();
    let exit = exit.unwrap_or_else(|| panic!("plinth did not exit after SIGTERM: {logs}"));
    assert_eq!(exit.code(), Some(0), "{logs}");
    assert!(logs.contains("SIGTERM") && logs.contains("shutdown complete"), "{logs}");
    for line in logs.lines() {
        let parsed: Result<serde_json::Value, _> = serde_json::from_str(line);
        assert!(parsed.is_ok(), "not a JSON log line: {line}");
    }
});
