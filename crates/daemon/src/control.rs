//! The control socket server: newline-delimited JSON over a Unix stream socket.
//!
//! This module owns only the transport. Each connection may send any number of request lines;
//! each line is handed to the node's event loop as a [`ControlCall`] over a channel, and the
//! answer line the loop sends back is written to the client. The loop parses and answers the
//! requests (with the management crate's `Request`/`Response` types), so all state stays in one
//! task and no lock is shared.

use std::path::{Path, PathBuf};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};

/// Longest request line accepted (bytes); longer lines close the connection.
pub const MAX_REQUEST_LINE: usize = 64 * 1024;

/// One request line and the way back to its client.
#[derive(Debug)]
pub struct ControlCall {
    /// The request line, without its newline.
    pub line: String,
    /// Where the answer line (without newline) goes.
    pub reply: oneshot::Sender<String>,
}

/// Errors opening the control socket.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The socket's directory could not be created.
    #[error("cannot create the control socket directory {path}: {source}")]
    Dir {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Another daemon answers on this socket.
    #[error("another daemon is already listening on {0}; stop it or choose another --socket")]
    InUse(PathBuf),
    /// Binding failed.
    #[error("cannot listen on the control socket {path}: {source}")]
    Bind {
        /// The socket path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// A bound control socket; removes its path when dropped.
#[derive(Debug)]
pub struct ControlSocket {
    listener: UnixListener,
    path: PathBuf,
}

impl ControlSocket {
    /// Binds `path`, creating its directory, replacing a stale socket file left by a daemon
    /// that died, and refusing when a live daemon still answers there.
    pub async fn bind(path: &Path) -> Result<ControlSocket, ControlError> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|source| ControlError::Dir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        if path.exists() {
            if UnixStream::connect(path).await.is_ok() {
                return Err(ControlError::InUse(path.to_path_buf()));
            }
            let _ = std::fs::remove_file(path);
        }
        let listener = UnixListener::bind(path).map_err(|source| ControlError::Bind {
            path: path.to_path_buf(),
            source,
        })?;
        // The socket can clear state and switch debugging: owner and group only.
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660)).map_err(
                |source| ControlError::Bind {
                    path: path.to_path_buf(),
                    source,
                },
            )?;
        }
        Ok(ControlSocket {
            listener,
            path: path.to_path_buf(),
        })
    }

    /// The socket path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Accepts connections forever, forwarding each request line to `calls`. Returns when the
    /// receiving side of `calls` is gone.
    pub async fn serve(&self, calls: mpsc::Sender<ControlCall>) {
        loop {
            tokio::select! {
                accepted = self.listener.accept() => {
                    match accepted {
                        Ok((stream, _)) => {
                            tokio::spawn(serve_connection(stream, calls.clone()));
                        }
                        Err(err) => {
                            tracing::warn!("control socket accept failed: {err}");
                            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        }
                    }
                }
                () = calls.closed() => return,
            }
        }
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

async fn serve_connection(stream: UnixStream, calls: mpsc::Sender<ControlCall>) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut line = String::new();
    loop {
        line.clear();
        // Bound the line length: read at most MAX_REQUEST_LINE bytes per request.
        let mut limited = tokio::io::AsyncReadExt::take(&mut reader, MAX_REQUEST_LINE as u64);
        match limited.read_line(&mut line).await {
            Ok(0) => return,
            Ok(_) => {}
            Err(_) => return,
        }
        if !line.ends_with('\n') && line.len() >= MAX_REQUEST_LINE {
            let _ = write
                .write_all(b"{\"error\":\"request line too long\"}\n")
                .await;
            return;
        }
        let request = line.trim();
        if request.is_empty() {
            continue;
        }
        let (tx, rx) = oneshot::channel();
        let call = ControlCall {
            line: request.to_string(),
            reply: tx,
        };
        if calls.send(call).await.is_err() {
            return;
        }
        let Ok(mut answer) = rx.await else {
            return;
        };
        answer.push('\n');
        if write.write_all(answer.as_bytes()).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn answers_each_line_and_removes_socket_on_drop() {
        let dir = std::env::temp_dir().join(format!("dmvpn-ctl-test-{}", std::process::id()));
        let path = dir.join("ctl.sock");
        let sock = ControlSocket::bind(&path).await.expect("bind");
        let (tx, mut rx) = mpsc::channel::<ControlCall>(4);
        let server = tokio::spawn(async move {
            tokio::select! {
                () = sock.serve(tx) => {}
                () = async {
                    while let Some(call) = rx.recv().await {
                        let _ = call.reply.send(format!("{{\"echo\":{:?}}}", call.line));
                    }
                } => {}
            }
        });
        let mut client = UnixStream::connect(&path).await.expect("connect");
        client.write_all(b"one\n\ntwo\n").await.expect("write");
        let mut buf = vec![0u8; 256];
        let mut got = String::new();
        while got.matches('\n').count() < 2 {
            let n = client.read(&mut buf).await.expect("read");
            assert!(n > 0, "server closed early: {got:?}");
            got.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        assert_eq!(got, "{\"echo\":\"one\"}\n{\"echo\":\"two\"}\n");
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
            assert_eq!(mode & 0o777, 0o660, "socket mode {mode:o}");
        }
        // A second bind on a live socket is refused.
        assert!(matches!(
            ControlSocket::bind(&path).await,
            Err(ControlError::InUse(_))
        ));
        server.abort();
        let _ = server.await;
        assert!(!path.exists(), "socket file left behind");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
