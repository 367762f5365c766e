//! A blocking client for the control socket, used by the `dmvpn` CLI.
//!
//! ```no_run
//! use dmvpn_mgmt::{Client, Request, ShowDmvpn};
//! let mut c = Client::connect("/run/dmvpn/dmvpn.sock")?;
//! let resp = c.request(&Request::ShowDmvpn(ShowDmvpn::default()))?;
//! # Ok::<(), dmvpn_mgmt::ClientError>(())
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::proto::{
    MAX_RESPONSE_LINE, ProtocolError, Request, Response, decode_response, encode_request,
};

/// Default time to wait for the daemon to answer.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Errors talking to the daemon.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The socket could not be reached (no daemon, wrong path, permissions).
    #[error(
        "cannot reach the dmvpn daemon at {path}: {error} — is `dmvpn daemon` running? (use --socket)"
    )]
    Connect {
        /// Socket path tried.
        path: PathBuf,
        /// Underlying error (part of the message, so not a `source()`).
        error: std::io::Error,
    },
    /// The daemon did not answer in time.
    #[error("the dmvpn daemon at {path} did not answer within {timeout:?}")]
    Timeout {
        /// Socket path.
        path: PathBuf,
        /// Timeout in effect.
        timeout: Duration,
    },
    /// Reading or writing the socket failed.
    #[error("control socket {path}: {error}")]
    Io {
        /// Socket path.
        path: PathBuf,
        /// Underlying error (part of the message, so not a `source()`).
        error: std::io::Error,
    },
    /// The daemon closed the connection without answering.
    #[error("the dmvpn daemon at {path} closed the connection without answering")]
    Closed {
        /// Socket path.
        path: PathBuf,
    },
    /// The answer could not be decoded.
    #[error("bad answer from the dmvpn daemon at {path}: {error}")]
    Protocol {
        /// Socket path.
        path: PathBuf,
        /// Decoding error (part of the message, so not a `source()`).
        error: ProtocolError,
    },
}

/// A connection to the daemon's control socket.
#[derive(Debug)]
pub struct Client {
    path: PathBuf,
    timeout: Duration,
    reader: BufReader<UnixStream>,
}

impl Client {
    /// Connects with the [`DEFAULT_TIMEOUT`].
    pub fn connect(path: impl AsRef<Path>) -> Result<Client, ClientError> {
        Client::connect_with_timeout(path, DEFAULT_TIMEOUT)
    }

    /// Connects; every later read and write waits at most `timeout`.
    pub fn connect_with_timeout(
        path: impl AsRef<Path>,
        timeout: Duration,
    ) -> Result<Client, ClientError> {
        let path = path.as_ref().to_path_buf();
        let stream = UnixStream::connect(&path).map_err(|error| ClientError::Connect {
            path: path.clone(),
            error,
        })?;
        let timeout = if timeout.is_zero() {
            DEFAULT_TIMEOUT
        } else {
            timeout
        };
        let io = |error| ClientError::Io {
            path: path.clone(),
            error,
        };
        stream.set_read_timeout(Some(timeout)).map_err(io)?;
        stream.set_write_timeout(Some(timeout)).map_err(io)?;
        Ok(Client {
            path,
            timeout,
            reader: BufReader::new(stream),
        })
    }

    /// The socket path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io_error(&self, source: std::io::Error) -> ClientError {
        match source.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => ClientError::Timeout {
                path: self.path.clone(),
                timeout: self.timeout,
            },
            _ => ClientError::Io {
                path: self.path.clone(),
                error: source,
            },
        }
    }

    /// Sends one request and waits for its response. A
    /// [`Response::Error`] from the daemon is returned as `Ok`: the caller
    /// decides how to show it.
    pub fn request(&mut self, request: &Request) -> Result<Response, ClientError> {
        let mut line = encode_request(request);
        line.push('\n');
        let w = self.reader.get_mut();
        if let Err(e) = w.write_all(line.as_bytes()).and_then(|()| w.flush()) {
            return Err(self.io_error(e));
        }
        let mut answer = String::new();
        let n = match (&mut self.reader)
            .take(MAX_RESPONSE_LINE as u64 + 1)
            .read_line(&mut answer)
        {
            Ok(n) => n,
            Err(e) => return Err(self.io_error(e)),
        };
        if n == 0 || !answer.ends_with('\n') && n <= MAX_RESPONSE_LINE {
            return Err(ClientError::Closed {
                path: self.path.clone(),
            });
        }
        decode_response(answer.trim_end()).map_err(|error| ClientError::Protocol {
            path: self.path.clone(),
            error,
        })
    }
}
