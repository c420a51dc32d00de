//! An AWS-compatible server for the AWS adapters' tests: moto (`moto_server`, from PyPI).
//! `scripts/test.sh` starts one and exports `MEDIDOCS_MOTO_ENDPOINT`; without it, each
//! test process starts its own on a free port of 127.0.0.1 and stops it when done.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

pub struct Moto {
    endpoint: String,
    child: Option<Child>,
}

impl Moto {
    /// The shared server, or a new one.
    pub fn start() -> Result<Self> {
        if let Ok(endpoint) = std::env::var("MEDIDOCS_MOTO_ENDPOINT") {
            return Ok(Self {
                endpoint,
                child: None,
            });
        }
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start moto_server: run scripts/install-deps.sh --test (it installs moto[server] from PyPI)")?;
        let moto = Self {
            endpoint: format!("http://127.0.0.1:{port}"),
            child: Some(child),
        };
        moto.wait_ready(Duration::from_secs(60))?;
        Ok(moto)
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn wait_ready(&self, limit: Duration) -> Result<()> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if self.request("GET", "/moto-api/", "").is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bail!(
            "moto_server did not answer at {} within {limit:?}",
            self.endpoint
        )
    }

    /// A plain HTTP/1.1 request to the server (its `/moto-api/` control endpoints).
    pub fn request(&self, method: &str, path: &str, body: &str) -> Result<String> {
        let addr = self.endpoint.trim_start_matches("http://");
        let mut s = TcpStream::connect(addr)?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )?;
        let mut out = String::new();
        s.read_to_string(&mut out)?;
        if !out.starts_with("HTTP/1.") {
            bail!("not an HTTP answer");
        }
        Ok(out)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
