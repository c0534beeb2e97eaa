//! A private PostgreSQL server for the store's tests: `initdb` (Debian's
//! `/usr/lib/postgresql/*/bin`, installed by `scripts/setup`) into a temporary folder and
//! `postgres` listening only on a unix socket in that folder -- no TCP port, so no clash
//! with anything else on the machine, whatever port number names the socket. Run as the
//! package's `postgres` user when the tests run as root (PostgreSQL refuses root; CI
//! runs as root). Stopped (immediate shutdown) and removed when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running private server.
pub struct TestPostgres {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

/// The newest PostgreSQL's programs, if installed.
fn bin_dir() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// `program` run as the `postgres` user when we are root, else as ourselves.
fn command(root: bool, program: &Path) -> Command {
    if root {
        // setpriv execs the program itself (no session process in between), so the
        // child we hold is the server and stopping it stops the server.
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=postgres",
            "--regid=postgres",
            "--init-groups",
            "--",
        ]);
        c.arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// A number to name the socket by (`.s.PGSQL.<port>`; nothing listens on TCP).
fn socket_number() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_or(54321, |a| a.port())
}

impl TestPostgres {
    /// Starts a server, or `None` (skipped, said on stderr) where PostgreSQL is not
    /// installed; in CI a missing PostgreSQL fails instead (a broken setup).
    pub fn start() -> Option<TestPostgres> {
        let Some(bin) = bin_dir() else {
            assert!(
                std::env::var_os("CI").is_none(),
                "PostgreSQL is not installed and CI is set: run scripts/setup (it installs postgresql)"
            );
            eprintln!("SKIPPED: PostgreSQL is not installed (scripts/setup installs postgresql)");
            return None;
        };
        let root = is_root();
        let dir = tempfile::Builder::new().prefix("lr-pg").tempdir().unwrap();
        if root {
            let owned = Command::new("chown")
                .arg("postgres:postgres")
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(owned.success(), "chown of the test cluster's folder failed");
        }
        let data = dir.path().join("data");
        let init = command(root, &bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ])
            .stdout(Stdio::null())
            .output()
            .unwrap();
        assert!(
            init.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&init.stderr)
        );
        let port = socket_number();
        let child = command(root, &bin.join("postgres"))
            .arg("-D")
            .arg(&data)
            .arg("-k")
            .arg(dir.path())
            .arg("-p")
            .arg(port.to_string())
            .args(["-c", "listen_addresses=", "-c", "fsync=off"])
            .args(["-c", "full_page_writes=off", "-c", "synchronous_commit=off"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let pg = TestPostgres { child, dir, port };
        pg.wait_ready(&bin);
        Some(pg)
    }

    fn wait_ready(&self, bin: &Path) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = Command::new(bin.join("pg_isready"))
                .arg("-h")
                .arg(self.dir.path())
                .args(["-p", &self.port.to_string(), "-U", "postgres"])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the test PostgreSQL never started"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The URL of database `db` on it.
    pub fn url(&self, db: &str) -> String {
        format!(
            "postgres://postgres@localhost/{db}?host={}&port={}",
            self.dir.path().display(),
            self.port
        )
    }

    /// The databases a test runs on: an in-memory SQLite one, and database `db` of the
    /// private server `pg` if PostgreSQL is installed (kept alive by the caller's `pg`).
    pub async fn urls(pg: &Option<TestPostgres>, db: &str) -> Vec<String> {
        let mut urls = vec![crate::store::MEMORY.to_string()];
        if let Some(pg) = pg {
            urls.push(pg.database(db).await);
        }
        urls
    }

    /// Creates database `db` and returns its URL.
    pub async fn database(&self, db: &str) -> String {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut c = sqlx::AnyConnection::connect(&self.url("postgres"))
            .await
            .unwrap();
        sqlx::query(&format!("CREATE DATABASE {db}"))
            .execute(&mut c)
            .await
            .unwrap();
        self.url(db)
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        // SIGQUIT: immediate shutdown, the server's children with it.
        let _ = Command::new("kill")
            .args(["-QUIT", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
