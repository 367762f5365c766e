//! A minimal HTTP/1.1 server for Prometheus scrapes, on tokio.
//!
//! `GET /metrics` (or `HEAD`, query string ignored) answers `200` with the
//! OpenMetrics text of a fresh snapshot; any other path answers `404`, any
//! other method on `/metrics` `405`, a request that is not HTTP/1.x `400`, a
//! head larger than [`Limits::max_request_bytes`] `431`, and a snapshot
//! source that has nothing to give (`None`, daemon busy or gone) `503`. Every
//! response closes its connection. Each connection has one deadline for
//! reading the request and writing the answer ([`Limits::timeout`]), and at
//! most [`Limits::max_connections`] are served at once; further connections
//! wait in the accept queue. Nothing here panics on what a client sends.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use crate::render::{CONTENT_TYPE, render};
use crate::snapshot::MetricsSnapshot;

/// Bounds on what one client can make the server do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest request head (request line and headers) read, in bytes.
    pub max_request_bytes: usize,
    /// Deadline for one connection, from accept to the last byte written.
    pub timeout: Duration,
    /// Connections served at the same time.
    pub max_connections: usize,
}

impl Default for Limits {
    /// 8 KiB heads, 10 s per connection, 64 connections.
    fn default() -> Self {
        Limits {
            max_request_bytes: 8 * 1024,
            timeout: Duration::from_secs(10),
            max_connections: 64,
        }
    }
}

/// A bound metrics listener; [`MetricsServer::run`] serves it.
#[derive(Debug)]
pub struct MetricsServer {
    listener: TcpListener,
    limits: Limits,
}

impl MetricsServer {
    /// Binds `addr` (e.g. `127.0.0.1:9469`; port 0 picks a free port).
    pub async fn bind(addr: SocketAddr) -> io::Result<Self> {
        Ok(MetricsServer {
            listener: TcpListener::bind(addr).await?,
            limits: Limits::default(),
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// This server with other [`Limits`].
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Serves scrapes forever, taking a snapshot from `source` on each one.
    pub async fn run<S>(self, source: S)
    where
        S: Fn() -> MetricsSnapshot + Send + Sync + 'static,
    {
        self.run_async(move || std::future::ready(Some(source())))
            .await;
    }

    /// Serves scrapes forever with an asynchronous `source` (e.g. one that
    /// asks the daemon's event loop, see
    /// [`MetricsSnapshot::from_control`]); `None` answers `503`.
    pub async fn run_async<S, F>(self, source: S)
    where
        S: Fn() -> F + Send + Sync + 'static,
        F: Future<Output = Option<MetricsSnapshot>> + Send + 'static,
    {
        let source = Arc::new(source);
        let permits = Arc::new(Semaphore::new(self.limits.max_connections.max(1)));
        let limits = self.limits;
        loop {
            let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
                return; // the semaphore is never closed
            };
            let stream = match self.listener.accept().await {
                Ok((stream, _)) => stream,
                Err(_) => {
                    // Out of file descriptors or a connection reset before
                    // accept: back off a little instead of spinning.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let source = Arc::clone(&source);
            tokio::spawn(async move {
                let _ = tokio::time::timeout(
                    limits.timeout,
                    connection(stream, limits.max_request_bytes, || source()),
                )
                .await;
                drop(permit);
            });
        }
    }
}

/// Binds `addr` and serves scrapes forever from the synchronous `source`.
pub async fn serve<S>(addr: SocketAddr, source: S) -> io::Result<()>
where
    S: Fn() -> MetricsSnapshot + Send + Sync + 'static,
{
    MetricsServer::bind(addr).await?.run(source).await;
    Ok(())
}

/// What a request asks for.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    Metrics { head_only: bool },
    NotFound,
    MethodNotAllowed,
    BadRequest,
}

/// Parses a request head (everything before the blank line).
fn route(head: &[u8]) -> Route {
    let Ok(text) = std::str::from_utf8(head) else {
        return Route::BadRequest;
    };
    let line = text.split("\r\n").next().unwrap_or_default();
    let line = line.strip_suffix('\n').unwrap_or(line);
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Route::BadRequest;
    };
    if !version.starts_with("HTTP/1.") || method.is_empty() || !target.starts_with('/') {
        return Route::BadRequest;
    }
    let path = target.split('?').next().unwrap_or(target);
    if path != "/metrics" {
        return Route::NotFound;
    }
    match method {
        "GET" => Route::Metrics { head_only: false },
        "HEAD" => Route::Metrics { head_only: true },
        _ => Route::MethodNotAllowed,
    }
}

/// Where the request head ends (index just past the blank line), if it does.
fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
        .or_else(|| buf.windows(2).position(|w| w == b"\n\n").map(|i| i + 2))
}

async fn respond(
    stream: &mut TcpStream,
    status: &str,
    content_type: &str,
    extra: &str,
    body: &[u8],
    head_only: bool,
) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    if !head_only {
        stream.write_all(body).await?;
    }
    stream.flush().await?;
    stream.shutdown().await
}

async fn connection<S, F>(mut stream: TcpStream, max: usize, source: S) -> io::Result<()>
where
    S: FnOnce() -> F,
    F: Future<Output = Option<MetricsSnapshot>>,
{
    const TEXT: &str = "text/plain; charset=utf-8";
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    let end = loop {
        if let Some(end) = head_end(&buf) {
            break end;
        }
        if buf.len() > max {
            return respond(
                &mut stream,
                "431 Request Header Fields Too Large",
                TEXT,
                "",
                b"request too large\n",
                false,
            )
            .await;
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            if buf.is_empty() {
                return Ok(());
            }
            return respond(
                &mut stream,
                "400 Bad Request",
                TEXT,
                "",
                b"incomplete request\n",
                false,
            )
            .await;
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
    };
    let head = buf.get(..end).unwrap_or_default();
    match route(head) {
        Route::BadRequest => {
            respond(
                &mut stream,
                "400 Bad Request",
                TEXT,
                "",
                b"bad request\n",
                false,
            )
            .await
        }
        Route::NotFound => {
            respond(
                &mut stream,
                "404 Not Found",
                TEXT,
                "",
                b"not found; metrics are at /metrics\n",
                false,
            )
            .await
        }
        Route::MethodNotAllowed => {
            respond(
                &mut stream,
                "405 Method Not Allowed",
                TEXT,
                "Allow: GET, HEAD\r\n",
                b"method not allowed\n",
                false,
            )
            .await
        }
        Route::Metrics { head_only } => match source().await {
            None => {
                respond(
                    &mut stream,
                    "503 Service Unavailable",
                    TEXT,
                    "",
                    b"no snapshot from the daemon\n",
                    head_only,
                )
                .await
            }
            Some(snapshot) => {
                // Large hubs have many peers: render off the async workers.
                let body = tokio::task::spawn_blocking(move || render(&snapshot))
                    .await
                    .unwrap_or_default();
                respond(
                    &mut stream,
                    "200 OK",
                    CONTENT_TYPE,
                    "",
                    body.as_bytes(),
                    head_only,
                )
                .await
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(
            route(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            Route::Metrics { head_only: false }
        );
        assert_eq!(
            route(b"HEAD /metrics?x=1 HTTP/1.0\r\n\r\n"),
            Route::Metrics { head_only: true }
        );
        assert_eq!(route(b"GET / HTTP/1.1\r\n\r\n"), Route::NotFound);
        assert_eq!(
            route(b"POST /metrics HTTP/1.1\r\n\r\n"),
            Route::MethodNotAllowed
        );
        assert_eq!(route(b"GET /metrics\r\n\r\n"), Route::BadRequest);
        assert_eq!(route(b"GET /metrics SPDY/3\r\n\r\n"), Route::BadRequest);
        assert_eq!(route(b"\xff\xfe\r\n\r\n"), Route::BadRequest);
        assert_eq!(route(b""), Route::BadRequest);
    }

    #[test]
    fn head_end_finds_blank_line() {
        assert_eq!(head_end(b"GET / HTTP/1.1\r\n\r\nbody"), Some(18));
        assert_eq!(head_end(b"GET / HTTP/1.1\n\n"), Some(16));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\n"), None);
    }
}
