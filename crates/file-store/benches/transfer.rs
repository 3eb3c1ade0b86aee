//! Upload and download throughput through the HTTP API on local disk, beside
//! `dd` writing and reading the same amount.
//!
//! The bench starts the server (this same binary, in serve mode) on a
//! SQLite database and a local blob store with fsync on, in a fresh
//! directory under the system temp dir. It then times, in one run:
//! `dd if=/dev/zero … conv=fdatasync` (write), `curl -T` of a file of the
//! same size to `POST /v1/files/buckets/default/files` (upload), `dd … of=/dev/null`
//! (read) and `curl` of the file's content (download), and reads the
//! server's peak resident memory (`VmHWM`). Caches are dropped before each
//! read when the system allows it.
//!
//! ```text
//! cargo bench -p plinth-file-store --bench transfer          # 1 GiB
//! PLINTH_BENCH_MIB=256 cargo bench -p plinth-file-store --bench transfer
//! ```

use std::error::Error;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use actix_web::{App, HttpServer, web};
use plinth_file_store::{BlobConfig, BucketConfig, FileStore, FileStoreConfig};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// Set (to the work directory) in the server process.
const SERVE_ENV: &str = "PLINTH_BENCH_SERVE_DIR";
/// The transfer size in MiB (default 1024).
const SIZE_ENV: &str = "PLINTH_BENCH_MIB";
const MIB: u64 = 1024 * 1024;

fn main() -> Result<()> {
    if let Some(dir) = std::env::var_os(SERVE_ENV) {
        return actix_web::rt::System::new().block_on(serve(PathBuf::from(dir)));
    }
    let mib: u64 = std::env::var(SIZE_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let dir = std::env::temp_dir().join(format!("plinth-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let outcome = drive(&dir, mib);
    std::fs::remove_dir_all(&dir).ok();
    outcome
}

/// Runs the file-store routes on a free port, printing `PORT TOKEN`.
async fn serve(dir: PathBuf) -> Result<()> {
    let url = format!("sqlite://{}?mode=rwc", dir.join("bench.db").display());
    let db = plinth_db::connect(&url).await?;
    let mut migrators = plinth_auth::testing::migrators();
    migrators.push(&plinth_file_store::Migrator);
    plinth_db::migrate::up(&db, &migrators).await?;
    let token = plinth_auth::testing::bearer_with_scopes(&db, &["files:read:*", "files:write:*"]).await?;
    let auth = plinth_auth::Auth::new(db.clone(), plinth_auth::AuthConfig::default()).await?;
    let config = FileStoreConfig {
        blobs: BlobConfig::Local {
            root: dir.join("blobs"),
            fsync: true,
        },
        buckets: [(
            "default".to_owned(),
            BucketConfig {
                max_size: 64 * 1024 * MIB,
                ..BucketConfig::default()
            },
        )]
        .into(),
        ..FileStoreConfig::default()
    };
    let store = FileStore::new(db, &config)?;
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(store.clone()))
            .app_data(web::Data::new(auth.clone()))
            .service(web::scope("/v1").configure(plinth_file_store::http::configure))
    })
    .workers(2)
    .bind(("127.0.0.1", 0))?;
    let port = server
        .addrs()
        .first()
        .map(|a| a.port())
        .ok_or("no address bound")?;
    println!("{port} {token}");
    std::io::stdout().flush()?;
    server.run().await?;
    Ok(())
}

fn drive(dir: &Path, mib: u64) -> Result<()> {
    let bytes = mib * MIB;
    let source = dir.join("source.bin");
    write_source(&source, mib)?;

    let dd_file = dir.join("dd.bin");
    let dd_write = timed(
        Command::new("dd")
            .arg("if=/dev/zero")
            .arg(format!("of={}", dd_file.display()))
            .args(["bs=1M", &format!("count={mib}"), "conv=fdatasync"]),
    )?;
    let dropped = drop_caches();
    let dd_read = timed(
        Command::new("dd")
            .arg(format!("if={}", dd_file.display()))
            .args(["of=/dev/null", "bs=1M"]),
    )?;
    std::fs::remove_file(&dd_file)?;

    let (mut server, port, token) = start_server(dir)?;
    let base = format!("http://127.0.0.1:{port}/v1/files");
    let response = dir.join("response.json");
    let upload = timed(
        Command::new("curl")
            .args(["-sS", "-f", "-X", "POST", "-T"])
            .arg(&source)
            .args(["-H", &format!("Authorization: Bearer {token}")])
            .args(["-H", "Content-Type: application/octet-stream", "-o"])
            .arg(&response)
            .arg(format!("{base}/buckets/default/files?name=bench.bin")),
    )?;
    let file: serde_json::Value = serde_json::from_slice(&std::fs::read(&response)?)?;
    let id = file["id"]
        .as_str()
        .ok_or("no file id in the upload response")?
        .to_owned();
    if file["content_length"].as_u64() != Some(bytes) {
        return Err(format!("uploaded {} bytes, expected {bytes}", file["content_length"]).into());
    }
    std::fs::remove_file(&source)?;
    drop_caches();
    let download = timed(
        Command::new("curl")
            .args(["-sS", "-f", "-o", "/dev/null"])
            .args(["-H", &format!("Authorization: Bearer {token}")])
            .arg(format!("{base}/{id}/content")),
    )?;
    let peak = peak_rss_kib(server.id())?;
    server.kill()?;
    server.wait()?;

    let rate = |d: Duration| bytes as f64 / 1e6 / d.as_secs_f64();
    println!("transfer of {mib} MiB on local disk (MB = 10^6 bytes)");
    println!("  dd write (conv=fdatasync)  {:>8.1} MB/s", rate(dd_write));
    println!(
        "  HTTP upload                {:>8.1} MB/s  ({:.0} % of dd write)",
        rate(upload),
        100.0 * dd_write.as_secs_f64() / upload.as_secs_f64()
    );
    println!("  dd read                    {:>8.1} MB/s", rate(dd_read));
    println!(
        "  HTTP download              {:>8.1} MB/s  ({:.0} % of dd read)",
        rate(download),
        100.0 * dd_read.as_secs_f64() / download.as_secs_f64()
    );
    println!("  server peak RSS            {:>8.1} MiB", peak as f64 / 1024.0);
    println!(
        "  page cache dropped before reads: {}",
        if dropped {
            "yes"
        } else {
            "no (not permitted): reads are cache-hot"
        }
    );
    Ok(())
}

/// Writes `mib` MiB of pseudo-random bytes (incompressible, not timed).
fn write_source(path: &Path, mib: u64) -> Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut block = vec![0u8; MIB as usize];
    for _ in 0..mib {
        for word in block.chunks_exact_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes());
        }
        out.write_all(&block)?;
    }
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok(())
}

/// Runs `command` to success and returns how long it took.
fn timed(command: &mut Command) -> Result<Duration> {
    let start = Instant::now();
    let output = command.stdout(Stdio::null()).stderr(Stdio::piped()).output()?;
    let took = start.elapsed();
    if !output.status.success() {
        return Err(format!("{command:?} failed: {}", String::from_utf8_lossy(&output.stderr)).into());
    }
    Ok(took)
}

/// Flushes dirty pages and asks the kernel to drop clean ones; `false` when not allowed.
fn drop_caches() -> bool {
    Command::new("sync").status().is_ok_and(|s| s.success())
        && std::fs::write("/proc/sys/vm/drop_caches", "3\n").is_ok()
}

/// Starts this binary in serve mode and reads its port and token.
fn start_server(dir: &Path) -> Result<(Child, u16, String)> {
    let mut child = Command::new(std::env::current_exe()?)
        .env(SERVE_ENV, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no server stdout")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let mut fields = line.split_whitespace();
    let port = fields.next().ok_or("server printed no port")?.parse()?;
    let token = fields.next().ok_or("server printed no token")?.to_owned();
    Ok((child, port, token))
}

/// The peak resident set size of process `pid`, in KiB.
fn peak_rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| "no VmHWM in /proc status".into())
}
