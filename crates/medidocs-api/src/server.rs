//! The API on a socket (`medidocs serve`), with the limits a public endpoint needs:
//! request heads and idle keep-alive connections time out, connections are capped (in all
//! and per address, an idle one making room for a new client when full), every client is
//! rate limited by address and by token, heads and URIs are bounded, and a request other
//! than an upload has a time limit. Every refusal this layer makes is problem+json.
//!
//! In AWS the same limits are API Gateway's and WAF's (docs/security.md); this module is
//! not used there.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::problem::Problem;

/// A token bucket's shape: `per_second` refill, `burst` capacity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: f64,
}

/// The limits of [`serve`].
#[derive(Debug, Clone, Copy)]
pub struct ServerLimits {
    /// The longest a client may take to send a request head, and the longest an idle
    /// keep-alive connection stays open.
    pub header_timeout: Duration,
    /// The longest a request other than an upload may take, body included.
    pub request_timeout: Duration,
    /// The longest an upload's body may pause between two chunks.
    pub body_idle_timeout: Duration,
    pub max_connections: usize,
    pub max_connections_per_address: usize,
    pub per_address: Rate,
    pub per_token: Rate,
    pub max_uri_bytes: usize,
    pub max_header_bytes: usize,
    pub max_headers: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            body_idle_timeout: Duration::from_secs(30),
            max_connections: 4096,
            max_connections_per_address: 256,
            per_address: Rate {
                per_second: 100.0,
                burst: 200.0,
            },
            per_token: Rate {
                per_second: 20.0,
                burst: 60.0,
            },
            max_uri_bytes: 8 * 1024,
            max_header_bytes: 16 * 1024,
            max_headers: 64,
        }
    }
}

impl ServerLimits {
    /// At most the connections this process can hold open, with room for its own files.
    pub fn fit_to_file_limit(mut self) -> Self {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into the struct it is given.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0 {
            let room = (lim.rlim_cur as usize).saturating_sub(256).max(16);
            self.max_connections = self.max_connections.min(room);
        }
        self
    }
}

/// A problem this layer answers with, as a complete response (security headers on).
fn refusal(status: StatusCode, code: &str, detail: &str, retry_after: Option<u32>) -> Response {
    let mut resp = Problem {
        retry_after,
        ..Problem::new(status, code, detail)
    }
    .into_response();
    crate::set_security_headers(resp.headers_mut());
    resp
}

// ---------------------------------------------------------------- rate limits

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets by key, forgetting keys idle long enough to be full again.
pub struct Limiter {
    rate: Rate,
    buckets: Mutex<HashMap<u64, Bucket>>,
    last_sweep: Mutex<Instant>,
}

impl Limiter {
    pub fn new(rate: Rate) -> Self {
        Self {
            rate,
            buckets: Mutex::new(HashMap::new()),
            last_sweep: Mutex::new(Instant::now()),
        }
    }

    /// Takes one token for `key`; `Err(seconds)` to wait when there is none.
    pub fn take(&self, key: u64, now: Instant) -> Result<(), u32> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        self.sweep(&mut buckets, now);
        let key = if buckets.len() >= MAX_KEYS && !buckets.contains_key(&key) {
            u64::MAX
        } else {
            key
        };
        let b = buckets.entry(key).or_insert(Bucket {
            tokens: self.rate.burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.rate.per_second).min(self.rate.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - b.tokens) / self.rate.per_second.max(1e-9);
            Err(wait.ceil().max(1.0) as u32)
        }
    }

    fn sweep(&self, buckets: &mut HashMap<u64, Bucket>, now: Instant) {
        let mut last = self.last_sweep.lock().unwrap_or_else(|e| e.into_inner());
        // At most every 10 s, whatever the map holds: a sweep is a pass over it.
        if now.saturating_duration_since(*last) < Duration::from_secs(10) {
            return;
        }
        *last = now;
        let full_after = self.rate.burst / self.rate.per_second.max(1e-9);
        buckets.retain(|_, b| now.saturating_duration_since(b.at).as_secs_f64() < full_after);
    }
}

/// The client an address stands for: an IPv4 address (also when it arrives mapped into
/// IPv6), or an IPv6 client's /64 (one subscriber usually holds a whole /64).
pub fn client_of(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(a) => {
            let mut o = a.octets();
            o[8..].fill(0);
            IpAddr::V6(std::net::Ipv6Addr::from(o))
        }
        v4 => v4,
    }
}

/// Keys a limiter keeps at most; past it, new keys share one bucket (a flood of new
/// addresses or tokens slows itself, not the server).
const MAX_KEYS: usize = 100_000;

fn hash_of(bytes: &[u8]) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    // Keys only group requests; a per-process random seed keeps them unguessable.
    static SEED: std::sync::OnceLock<std::collections::hash_map::RandomState> =
        std::sync::OnceLock::new();
    let mut h = SEED
        .get_or_init(std::collections::hash_map::RandomState::new)
        .build_hasher();
    h.write(bytes);
    h.finish()
}

/// How long an upload's body may pause, for its handler (set by [`guard`]).
#[derive(Debug, Clone, Copy)]
pub struct BodyIdleTimeout(pub Duration);

/// What the request layer needs.
pub struct Guard {
    limits: ServerLimits,
    by_address: Limiter,
    by_token: Limiter,
}

impl Guard {
    pub fn new(limits: ServerLimits) -> Self {
        Self {
            limits,
            by_address: Limiter::new(limits.per_address),
            by_token: Limiter::new(limits.per_token),
        }
    }
}

/// Head sizes, rate limits and the time limit, before the router sees a request.
pub async fn guard(
    axum::extract::State(g): axum::extract::State<Arc<Guard>>,
    req: Request,
    next: Next,
) -> Response {
    let l = g.limits;
    let uri_len = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if uri_len > l.max_uri_bytes {
        return refusal(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            &format!("the URI is longer than {} bytes", l.max_uri_bytes),
            None,
        );
    }
    let head: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    if head > l.max_header_bytes || req.headers().len() > l.max_headers {
        return refusal(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            &format!(
                "the headers are over {} bytes or {} fields",
                l.max_header_bytes, l.max_headers
            ),
            None,
        );
    }
    let now = Instant::now();
    if let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>() {
        let key = match client_of(peer.ip()) {
            IpAddr::V4(a) => hash_of(&a.octets()),
            IpAddr::V6(a) => hash_of(&a.octets()),
        };
        if let Err(wait) = g.by_address.take(key, now) {
            return refusal(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests from this address; slow down",
                Some(wait),
            );
        }
    }
    // By the token itself (however the header spells "Bearer" and spaces it).
    if let Ok(token) = crate::auth::bearer(req.headers())
        && let Err(wait) = g.by_token.take(hash_of(token.as_bytes()), now)
    {
        return refusal(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many requests with this token; slow down",
            Some(wait),
        );
    }
    // A request refused before its body was read: the connection is not reused (what
    // is left of the body would be taken for the next request).
    let has_body = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .is_some_and(|v| v.as_bytes() != b"0")
        || req.headers().contains_key(header::TRANSFER_ENCODING);
    let close_if_refused = |mut resp: Response| {
        if has_body && (resp.status().is_client_error() || resp.status().is_server_error()) {
            resp.headers_mut().insert(
                header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
        }
        resp
    };
    // Uploads stream large bodies at the client's pace: their handler bounds each pause
    // instead (`body_idle_timeout`).
    if req.uri().path().starts_with("/v1/uploads/") {
        let mut req = req;
        req.extensions_mut()
            .insert(BodyIdleTimeout(l.body_idle_timeout));
        return close_if_refused(next.run(req).await);
    }
    close_if_refused(
        match tokio::time::timeout(l.request_timeout, next.run(req)).await {
            Ok(resp) => resp,
            Err(_) => refusal(
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                "the request took too long",
                None,
            ),
        },
    )
}

// ---------------------------------------------------------------- connections

#[derive(Debug)]
struct Conn {
    id: u64,
    addr: IpAddr,
    since: Instant,
    /// Requests being answered on it now.
    in_flight: AtomicUsize,
    /// Requests it has sent.
    served: AtomicU64,
    close: Notify,
}

#[derive(Default)]
struct Conns {
    total: usize,
    by_addr: HashMap<IpAddr, Vec<Arc<Conn>>>,
    next_id: u64,
}

/// The open connections, by address.
pub struct Tracker {
    max: usize,
    per_addr: usize,
    conns: Mutex<Conns>,
}

/// Why a connection was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    Address,
    Server,
}

impl Tracker {
    pub fn new(max: usize, per_addr: usize) -> Self {
        Self {
            max: max.max(1),
            per_addr: per_addr.max(1),
            conns: Mutex::new(Conns::default()),
        }
    }

    pub fn open(&self) -> usize {
        self.conns.lock().unwrap_or_else(|e| e.into_inner()).total
    }

    /// Takes a connection from `addr`. When the server is full, the connection of the
    /// address holding the most that is doing nothing (never sent a request, then the
    /// oldest idle) is closed to make room: a flood of idle connections cannot keep a new
    /// client out.
    fn admit(&self, addr: IpAddr) -> Result<Arc<Conn>, Full> {
        let mut c = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        if c.by_addr.get(&addr).map_or(0, Vec::len) >= self.per_addr {
            return Err(Full::Address);
        }
        if c.total >= self.max {
            let victim = c
                .by_addr
                .iter()
                .filter(|(a, _)| **a != addr || c.by_addr.len() == 1)
                .max_by_key(|(_, v)| v.len())
                .and_then(|(_, v)| {
                    v.iter()
                        .filter(|k| k.in_flight.load(Ordering::Acquire) == 0)
                        .min_by_key(|k| (k.served.load(Ordering::Acquire) > 0, k.since))
                        .cloned()
                });
            let Some(victim) = victim else {
                return Err(Full::Server);
            };
            victim.close.notify_one();
            Self::remove(&mut c, &victim);
        }
        c.next_id += 1;
        let conn = Arc::new(Conn {
            id: c.next_id,
            addr,
            since: Instant::now(),
            in_flight: AtomicUsize::new(0),
            served: AtomicU64::new(0),
            close: Notify::new(),
        });
        c.by_addr.entry(addr).or_default().push(conn.clone());
        c.total += 1;
        Ok(conn)
    }

    fn release(&self, conn: &Conn) {
        let mut c = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        Self::remove(&mut c, conn);
    }

    fn remove(c: &mut Conns, conn: &Conn) {
        if let Some(v) = c.by_addr.get_mut(&conn.addr)
            && let Some(i) = v.iter().position(|k| k.id == conn.id)
        {
            v.swap_remove(i);
            c.total -= 1;
            if v.is_empty() {
                c.by_addr.remove(&conn.addr);
            }
        }
    }
}

/// A response body that tells its connection when it is done: the connection is busy
/// until the last byte is written (or the body is dropped), not only until the head.
struct Counted {
    inner: axum::body::Body,
    conn: Arc<Conn>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.conn.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl http_body::Body for Counted {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// The longest a connection stays open, however busy: a client that sends requests and
/// never reads the answers is not held for ever.
const MAX_CONNECTION_AGE: Duration = Duration::from_secs(30 * 60);

/// Answers a connection that is not taken with its 503, then closes it without a reset
/// (the client's unread request is drained for a moment, so the answer is not lost).
fn turn_away(stream: tokio::net::TcpStream, why: Full) {
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = stream;
        let bytes = full_response(why);
        let wait = Duration::from_secs(1);
        if tokio::time::timeout(wait, stream.write_all(&bytes))
            .await
            .is_err()
        {
            return;
        }
        let _ = stream.shutdown().await;
        let mut sink = [0u8; 4096];
        let _ = tokio::time::timeout(wait, async {
            while let Ok(n) = stream.read(&mut sink).await {
                if n == 0 {
                    break;
                }
            }
        })
        .await;
    });
}

/// The bytes of a refusal sent on a connection that is not taken, then closed.
fn full_response(why: Full) -> Vec<u8> {
    let (code, detail) = match why {
        Full::Address => (
            "too_many_connections",
            "too many connections from this address",
        ),
        Full::Server => (
            "too_many_connections",
            "the server is at its connection limit",
        ),
    };
    let body = serde_json::to_vec(&Problem {
        retry_after: Some(1),
        ..Problem::new(StatusCode::SERVICE_UNAVAILABLE, code, detail)
    })
    .unwrap_or_default();
    let mut out = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/problem+json\r\n\
         content-length: {}\r\nretry-after: 1\r\ncache-control: no-store\r\n\
         x-content-type-options: nosniff\r\nreferrer-policy: no-referrer\r\n\
         x-frame-options: DENY\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    out
}

/// Serves `router` on `listener` under `limits` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServerLimits,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let guard_state = Arc::new(Guard::new(limits));
    let router = router.layer(axum::middleware::from_fn_with_state(guard_state, guard));
    let tracker = Arc::new(Tracker::new(
        limits.max_connections,
        limits.max_connections_per_address,
    ));
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors or a reset before accept: wait a moment.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let conn = match tracker.admit(client_of(peer.ip())) {
            Ok(c) => c,
            Err(why) => {
                turn_away(stream, why);
                continue;
            }
        };
        let (router, tracker) = (router.clone(), tracker.clone());
        tokio::spawn(async move {
            let svc_conn = conn.clone();
            let svc = tower::service_fn(move |mut req: Request<hyper::body::Incoming>| {
                let conn = svc_conn.clone();
                conn.in_flight.fetch_add(1, Ordering::AcqRel);
                conn.served.fetch_add(1, Ordering::AcqRel);
                req.extensions_mut().insert(ConnectInfo(peer));
                let call =
                    tower::ServiceExt::oneshot(router.clone(), req.map(axum::body::Body::new));
                async move {
                    let resp = call.await?;
                    Ok::<_, std::convert::Infallible>(
                        resp.map(|inner| axum::body::Body::new(Counted { inner, conn })),
                    )
                }
            });
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .max_buf_size((limits.max_header_bytes * 4).max(64 * 1024))
                .max_headers(limits.max_headers * 2);
            let served = http.serve_connection(
                TokioIo::new(stream),
                hyper_util::service::TowerToHyperService::new(svc),
            );
            tokio::select! {
                r = tokio::time::timeout(MAX_CONNECTION_AGE, served) => {
                    if let Ok(Err(e)) = r {
                        tracing::debug!(error = %e, "connection ended");
                    }
                }
                _ = conn.close.notified() => {}
            }
            tracker.release(&conn);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_its_rate() {
        let l = Limiter::new(Rate {
            per_second: 2.0,
            burst: 3.0,
        });
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(l.take(1, t0).is_ok());
        }
        assert_eq!(l.take(1, t0), Err(1));
        // Another key has its own bucket.
        assert!(l.take(2, t0).is_ok());
        // Half a second later: one more token.
        assert!(l.take(1, t0 + Duration::from_millis(500)).is_ok());
        assert!(l.take(1, t0 + Duration::from_millis(500)).is_err());
    }

    #[test]
    fn a_full_server_closes_an_idle_connection_of_the_busiest_address_for_a_newcomer() {
        let t = Tracker::new(4, 3);
        let flood: IpAddr = "10.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        let newcomer: IpAddr = "10.0.0.3".parse().unwrap();
        let f: Vec<_> = (0..3).map(|_| t.admit(flood).unwrap()).collect();
        // Per address: a fourth from the flood is refused.
        assert_eq!(t.admit(flood).unwrap_err(), Full::Address);
        let o = t.admit(other).unwrap();
        o.served.fetch_add(1, Ordering::AcqRel);
        assert_eq!(t.open(), 4);
        // Full: the newcomer gets in; one of the flood's idle connections is closed.
        let n = t.admit(newcomer).unwrap();
        assert_eq!(t.open(), 4);
        let c = t.conns.lock().unwrap();
        assert_eq!(c.by_addr[&flood].len(), 2);
        assert!(c.by_addr.contains_key(&other));
        drop(c);
        // A connection answering a request is never the one closed.
        for k in &f {
            k.in_flight.fetch_add(1, Ordering::AcqRel);
        }
        o.in_flight.fetch_add(1, Ordering::AcqRel);
        n.in_flight.fetch_add(1, Ordering::AcqRel);
        assert_eq!(
            t.admit("10.0.0.4".parse().unwrap()).unwrap_err(),
            Full::Server
        );
        t.release(&n);
        assert_eq!(t.open(), 3);
    }

    #[test]
    fn the_refusal_of_a_connection_is_problem_json() {
        let bytes = full_response(Full::Server);
        let text = String::from_utf8(bytes).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503"));
        assert!(head.contains("content-type: application/problem+json"));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["code"], "too_many_connections");
    }
}
