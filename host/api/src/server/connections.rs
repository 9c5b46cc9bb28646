//! Accepting client connections with limits a hostile client cannot sit out: a cap on open
//! connections, a deadline for a request's headers, an idle limit on a connection that moves no
//! bytes, and a write deadline for a client that stops reading (a stream to such a client would
//! otherwise keep its plugin instance, upstream connection and hold forever).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::time::{Instant, Sleep};

use switchyard_domain::config::ServerConfig;

/// The connection limits of [`ServerConfig`].
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Most connections open at once; the next waits in the listen backlog.
    pub max_connections: usize,
    /// Until a request's headers are complete.
    pub header_read: Duration,
    /// A connection that reads and writes nothing for this long is closed.
    pub idle: Duration,
    /// A write that makes no progress for this long (the client stopped reading) closes the
    /// connection.
    pub write: Duration,
    /// Most concurrent streams of one HTTP/2 connection.
    pub http2_streams: u32,
}

impl ConnectionLimits {
    /// The limits a configuration sets.
    pub fn of(config: &ServerConfig) -> ConnectionLimits {
        ConnectionLimits {
            max_connections: config.max_connections.max(1),
            header_read: Duration::from_millis(config.header_read_timeout_ms),
            idle: Duration::from_millis(config.idle_timeout_ms),
            write: Duration::from_millis(config.write_timeout_ms),
            http2_streams: config.http2_max_streams.max(1),
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then waits for open connections to
/// finish their requests.
pub async fn serve(
    listener: TcpListener,
    app: axum::Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.http2_streams);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = accept(&listener, &slots) => accepted,
        };
        let Some((stream, slot)) = accepted else {
            continue;
        };
        // Small SSE events must leave at once: without TCP_NODELAY, Nagle's algorithm holds
        // them back until the client's delayed ACK (~40 ms).
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
        let io = TokioIo::new(Watchdog::new(stream, limits.idle, limits.write));
        let service = TowerToHyperService::new(app.clone());
        let connection = builder
            .serve_connection_with_upgrades(io, service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "client connection closed");
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// The next connection, once a slot is free; `None` after an accept error (logged, and a short
/// pause when it is the process running out of file descriptors).
async fn accept(
    listener: &TcpListener,
    slots: &Arc<Semaphore>,
) -> Option<(tokio::net::TcpStream, tokio::sync::OwnedSemaphorePermit)> {
    let slot = slots.clone().acquire_owned().await.ok()?;
    match listener.accept().await {
        Ok((stream, _)) => Some((stream, slot)),
        Err(error) => {
            tracing::warn!(%error, "cannot accept a connection");
            tokio::time::sleep(Duration::from_millis(50)).await;
            None
        }
    }
}

/// A socket that fails with `TimedOut` when it moves no bytes for `idle`, or when a write makes
/// no progress for `write`.
struct Watchdog<T> {
    io: T,
    idle: Duration,
    write: Duration,
    idle_timer: Pin<Box<Sleep>>,
    write_timer: Option<Pin<Box<Sleep>>>,
}

impl<T> Watchdog<T> {
    fn new(io: T, idle: Duration, write: Duration) -> Self {
        Watchdog {
            io,
            idle,
            write,
            idle_timer: Box::pin(tokio::time::sleep(idle)),
            write_timer: None,
        }
    }

    /// Bytes moved: the idle limit starts over.
    fn active(&mut self) {
        let idle = self.idle;
        self.idle_timer.as_mut().reset(Instant::now() + idle);
    }

    /// A write or flush is pending: fails once it has been for the write deadline.
    fn write_stalled(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let write = self.write;
        let timer = self
            .write_timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(write)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client stopped reading (write deadline)",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Watchdog<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    this.active();
                }
                Poll::Ready(result)
            }
            Poll::Pending => match this.idle_timer.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the connection was idle too long",
                ))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watchdog<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.io).poll_write(cx, buf) {
            Poll::Ready(result) => {
                this.write_timer = None;
                this.active();
                Poll::Ready(result)
            }
            Poll::Pending => this.write_stalled(cx),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.io).poll_write_vectored(cx, bufs) {
            Poll::Ready(result) => {
                this.write_timer = None;
                this.active();
                Poll::Ready(result)
            }
            Poll::Pending => this.write_stalled(cx),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.io).poll_flush(cx) {
            Poll::Ready(result) => {
                this.write_timer = None;
                Poll::Ready(result)
            }
            Poll::Pending => this.write_stalled(cx).map_ok(|_| ()),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
