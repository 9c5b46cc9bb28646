//! The load generator: HTTP/1.1 keep-alive connections (one request in flight each, like `hey`
//! and `wrk`), microsecond histograms, a closed-loop mode (N connections back to back) and an
//! open-loop mode (a fixed request rate, measured from each request's scheduled start so a slow
//! server cannot hide its queue: no coordinated omission).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Where requests go.
#[derive(Debug, Clone)]
pub struct Target {
    /// Name in the report.
    pub name: String,
    /// Listening address.
    pub addr: SocketAddr,
    /// Request path, e.g. `/v1/chat/completions`.
    pub path: String,
    /// Extra request headers.
    pub headers: Vec<(String, String)>,
    /// API keys sent in turn, one per request, by every connection to this target.
    pub keys: Option<Arc<KeyRing>>,
    /// Some requests sent with `Cache-Control: no-cache` (the response cache's misses).
    pub refresh: Option<Arc<Refresh>>,
}

/// Every `every`-th request of a run, over all its connections, asks for a fresh answer
/// (`Cache-Control: no-cache`): a load of (every − 1) / every response cache hits.
#[derive(Debug)]
pub struct Refresh {
    every: usize,
    sent: AtomicUsize,
}

impl Refresh {
    /// One request in `every`.
    pub fn every(every: usize) -> Refresh {
        Refresh {
            every: every.max(1),
            sent: AtomicUsize::new(0),
        }
    }

    /// Whether the next request asks for a fresh answer.
    fn next(&self) -> bool {
        self.sent
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(self.every)
    }
}

/// API keys taken in turn (`authorization: Bearer <key>`), shared by every connection of a run,
/// so consecutive requests spend from different accounts.
#[derive(Debug)]
pub struct KeyRing {
    keys: Vec<String>,
    next: AtomicUsize,
}

impl KeyRing {
    /// A ring over `keys`.
    pub fn new(keys: Vec<String>) -> KeyRing {
        KeyRing {
            keys,
            next: AtomicUsize::new(0),
        }
    }

    /// The next key in turn; none when the ring is empty.
    fn next(&self) -> Option<&str> {
        let n = self.keys.len();
        (n > 0).then(|| self.keys[self.next.fetch_add(1, Ordering::Relaxed) % n].as_str())
    }
}

/// One request body, sent as-is.
#[derive(Debug, Clone)]
pub struct Payload {
    body: Bytes,
    stream: bool,
    /// Sent to this path instead of the target's.
    path: Option<&'static str>,
    /// The expected answer is a refusal: a 4xx status succeeds, anything else fails.
    refusal: bool,
}

impl Payload {
    /// A chat request of `size` for `model` (see [`crate::history`]).
    pub fn sized(model: &str, size: crate::history::BodySize, stream: bool) -> Payload {
        Payload {
            body: Bytes::from(crate::history::body(model, size, stream)),
            stream,
            path: None,
            refusal: false,
        }
    }

    /// The body's length in bytes.
    pub fn body_bytes(&self) -> usize {
        self.body.len()
    }

    /// A one-message `temperature: 0` chat request for `model`: one the response cache keeps.
    pub fn chat_deterministic(model: &str) -> Payload {
        let body = serde_json::json!({
            "model": model,
            "temperature": 0,
            "messages": [{"role": "user", "content": "Hello!"}],
        });
        Payload {
            body: Bytes::from(body.to_string()),
            stream: false,
            path: None,
            refusal: false,
        }
    }

    /// A one-message chat request for `model`.
    pub fn chat(model: &str, stream: bool) -> Payload {
        let body = serde_json::json!({
            "model": model,
            "messages": [{"role": "user", "content": "Hello!"}],
            "stream": stream,
        });
        Payload {
            body: Bytes::from(body.to_string()),
            stream,
            path: None,
            refusal: false,
        }
    }

    /// A non-streamed request of `body`, sent to `path`, that the gateway refuses (4xx).
    pub fn refused(body: Vec<u8>, path: &'static str) -> Payload {
        Payload {
            body: Bytes::from(body),
            stream: false,
            path: Some(path),
            refusal: true,
        }
    }

    /// The same body as a plain chat request to the target's own path, answered 200: what a
    /// bare hop costs to forward it.
    pub fn forwarded(&self) -> Payload {
        Payload {
            body: self.body.clone(),
            stream: false,
            path: None,
            refusal: false,
        }
    }
}

/// Timings of one successful request.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Send to last body byte.
    pub total: Duration,
    /// Send to first body byte (time to first token for a stream).
    pub first_byte: Duration,
}

/// A new microsecond histogram (1 µs to 100 s, 3 significant digits).
pub fn histogram() -> Histogram<u64> {
    match Histogram::new_with_bounds(1, 100_000_000, 3) {
        Ok(histogram) => histogram,
        Err(_) => unreachable!("constant, valid bounds"),
    }
}

/// Records `duration` in microseconds, clamped to the histogram's range.
pub fn record(histogram: &mut Histogram<u64>, duration: Duration) {
    let micros = (duration.as_micros() as u64).clamp(1, histogram.high());
    histogram.saturating_record(micros);
}

/// One keep-alive connection to a target.
pub struct Conn {
    target: Arc<Target>,
    sender: SendRequest<Full<Bytes>>,
}

impl Conn {
    /// Connects to `target`.
    pub async fn connect(target: Arc<Target>) -> anyhow::Result<Conn> {
        let stream = TcpStream::connect(target.addr)
            .await
            .with_context(|| format!("cannot connect to {} at {}", target.name, target.addr))?;
        stream.set_nodelay(true)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .with_context(|| format!("HTTP handshake with {} failed", target.name))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Conn { target, sender })
    }

    /// Sends one request and reads the whole response. A non-200 status, or a stream that does
    /// not end with `data: [DONE]`, is an error.
    pub async fn send(&mut self, payload: &Payload) -> anyhow::Result<Sample> {
        self.sender.ready().await.context("connection closed")?;
        let path = payload.path.unwrap_or(self.target.path.as_str());
        let mut builder = hyper::Request::post(path)
            .header(http::header::HOST, self.target.addr.to_string())
            .header(http::header::CONTENT_TYPE, "application/json");
        for (name, value) in &self.target.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        if self.target.refresh.as_deref().is_some_and(Refresh::next) {
            builder = builder.header(http::header::CACHE_CONTROL, "no-cache");
        }
        if let Some(key) = self.target.keys.as_deref().and_then(KeyRing::next) {
            builder = builder.header(http::header::AUTHORIZATION, format!("Bearer {key}"));
        }
        let request = builder.body(Full::new(payload.body.clone()))?;
        let started = Instant::now();
        let response = self.sender.send_request(request).await?;
        let status = response.status();
        let mut body = response.into_body();
        let mut first_byte = None;
        let mut collected: Vec<u8> = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame?;
            if let Some(data) = frame.data_ref()
                && !data.is_empty()
            {
                first_byte.get_or_insert_with(|| started.elapsed());
                collected.extend_from_slice(data);
            }
        }
        let total = started.elapsed();
        if payload.refusal {
            if !status.is_client_error() {
                bail!(
                    "{}: HTTP {status} where a refusal was expected",
                    self.target.name
                );
            }
            return Ok(Sample {
                total,
                first_byte: first_byte.unwrap_or(total),
            });
        }
        if status != http::StatusCode::OK {
            let text = String::from_utf8_lossy(&collected);
            bail!(
                "{}: HTTP {status}: {}",
                self.target.name,
                text.chars().take(300).collect::<String>()
            );
        }
        if payload.stream {
            let text = String::from_utf8_lossy(&collected);
            if !text.trim_end().ends_with("data: [DONE]") {
                bail!(
                    "{}: stream did not end with [DONE]: …{}",
                    self.target.name,
                    text.chars()
                        .rev()
                        .take(200)
                        .collect::<String>()
                        .chars()
                        .rev()
                        .collect::<String>()
                );
            }
        }
        Ok(Sample {
            total,
            first_byte: first_byte.unwrap_or(total),
        })
    }
}

/// The result of a load run.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Latency of successful requests, µs.
    pub latency: Histogram<u64>,
    /// Time to first byte of successful requests, µs.
    pub first_byte: Histogram<u64>,
    /// Successful requests.
    pub ok: u64,
    /// Failed requests.
    pub errors: u64,
    /// The first error seen, if any.
    pub first_error: Option<String>,
    /// Wall time of the run.
    pub elapsed: Duration,
}

impl Outcome {
    /// No requests yet.
    pub fn empty() -> Outcome {
        Outcome {
            latency: histogram(),
            first_byte: histogram(),
            ok: 0,
            errors: 0,
            first_error: None,
            elapsed: Duration::ZERO,
        }
    }

    /// Adds `other`'s counts and samples to these.
    pub fn merge(&mut self, other: &Outcome) {
        let _ = self.latency.add(&other.latency);
        let _ = self.first_byte.add(&other.first_byte);
        self.ok += other.ok;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error.clone_from(&other.first_error);
        }
        self.elapsed += other.elapsed;
    }

    /// Successful requests per second.
    pub fn rps(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// A latency percentile in microseconds (`q` in 0..=1).
    pub fn p(&self, q: f64) -> u64 {
        self.latency.value_at_quantile(q)
    }

    /// Records a result.
    fn add(&mut self, result: anyhow::Result<Sample>, from: Instant, sent: Instant) {
        match result {
            Ok(sample) => {
                self.ok += 1;
                record(&mut self.latency, sent.elapsed() + (sent - from));
                record(&mut self.first_byte, sample.first_byte + (sent - from));
            }
            Err(error) => {
                self.errors += 1;
                if self.first_error.is_none() {
                    self.first_error = Some(format!("{error:#}"));
                }
            }
        }
    }
}

/// `connections` connections send `payload` back to back for `duration`.
pub async fn closed_loop(
    target: &Target,
    payload: &Payload,
    connections: usize,
    duration: Duration,
) -> anyhow::Result<Outcome> {
    let target = Arc::new(target.clone());
    let mut conns = Vec::with_capacity(connections);
    for _ in 0..connections {
        conns.push(Conn::connect(target.clone()).await?);
    }
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = conns
        .into_iter()
        .map(|mut conn| {
            let payload = payload.clone();
            let target = target.clone();
            tokio::spawn(async move {
                let mut outcome = Outcome::empty();
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    let result = conn.send(&payload).await;
                    let failed = result.is_err();
                    outcome.add(result, sent, sent);
                    if failed {
                        reconnect(&mut conn, &target).await;
                    }
                }
                outcome
            })
        })
        .collect();
    collect(tasks, started).await
}

/// Sends `payload` at `rate` requests per second for `duration` over at most `connections`
/// connections. A request that finds every connection busy is late; its latency counts from its
/// scheduled start. One that was on time counts from when it was sent (the tokio timer wakes a
/// little late, and that is not the server's fault).
pub async fn open_loop(
    target: &Target,
    payload: &Payload,
    rate: f64,
    connections: usize,
    duration: Duration,
) -> anyhow::Result<Outcome> {
    let target = Arc::new(target.clone());
    let mut conns = Vec::with_capacity(connections);
    for _ in 0..connections {
        conns.push(Conn::connect(target.clone()).await?);
    }
    let period = Duration::from_secs_f64(1.0 / rate.max(1e-3));
    let total = (rate * duration.as_secs_f64()).ceil() as u64;
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = conns
        .into_iter()
        .map(|mut conn| {
            let payload = payload.clone();
            let target = target.clone();
            let next = next.clone();
            tokio::spawn(async move {
                let mut outcome = Outcome::empty();
                loop {
                    // Past the end, unsent requests are dropped: the shortfall shows in the
                    // achieved rate, the queueing in the late requests' latency.
                    let slot = next.fetch_add(1, Ordering::Relaxed);
                    if slot >= total || Instant::now() > deadline {
                        break;
                    }
                    let scheduled = started + period.mul_f64(slot as f64);
                    let from = if scheduled > Instant::now() {
                        tokio::time::sleep_until(scheduled.into()).await;
                        Instant::now()
                    } else {
                        scheduled
                    };
                    let sent = Instant::now();
                    let result = conn.send(&payload).await;
                    let failed = result.is_err();
                    outcome.add(result, from, sent);
                    if failed {
                        reconnect(&mut conn, &target).await;
                    }
                }
                outcome
            })
        })
        .collect();
    collect(tasks, started).await
}

/// Opens `streams` connections, then starts one streamed request on each at the same moment.
pub async fn concurrent(
    target: &Target,
    payload: &Payload,
    streams: usize,
) -> anyhow::Result<Outcome> {
    let target = Arc::new(target.clone());
    let mut conns = Vec::with_capacity(streams);
    for _ in 0..streams {
        conns.push(Conn::connect(target.clone()).await?);
    }
    let start = Arc::new(tokio::sync::Barrier::new(streams));
    let started = Instant::now();
    let tasks: Vec<_> = conns
        .into_iter()
        .map(|mut conn| {
            let payload = payload.clone();
            let start = start.clone();
            tokio::spawn(async move {
                let mut outcome = Outcome::empty();
                start.wait().await;
                let sent = Instant::now();
                let result = conn.send(&payload).await;
                outcome.add(result, sent, sent);
                outcome
            })
        })
        .collect();
    collect(tasks, started).await
}

async fn reconnect(conn: &mut Conn, target: &Arc<Target>) {
    // A refused connection is counted by the next send failing again; do not spin on it.
    match Conn::connect(target.clone()).await {
        Ok(fresh) => *conn = fresh,
        Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
    }
}

async fn collect(
    tasks: Vec<tokio::task::JoinHandle<Outcome>>,
    started: Instant,
) -> anyhow::Result<Outcome> {
    let mut total = Outcome::empty();
    for task in tasks {
        let outcome = task.await.context("a load task panicked")?;
        total.merge(&outcome);
    }
    total.elapsed = started.elapsed();
    Ok(total)
}
