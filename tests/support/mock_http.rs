//! A tiny HTTP/1.1 server on 127.0.0.1 for provider tests: records every request,
//! answers through a handler, and can drip a chunked body piece by piece, cut the
//! connection mid-body, stall, pause between pieces, send a body that never ends
//! (generated piece by piece as fast as the client reads), or never answer at all. One request per connection
//! (`Connection: close`), which is all a client under test needs.
//!
//! A response whose client went away before its end (a write failed: the connection
//! was closed) is counted as `gone`, which is how a cancelled request looks from the
//! server.
//!
//! It also tracks how many requests are being held at once (`max_in_flight`): a
//! request counts from the moment it is fully read until just *before* its response
//! is written, so a client that sends its next request only after reading a response
//! can never make the count look higher than its real concurrency.
#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

/// One request as the server received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }
}

/// A piece of a chunked body.
#[derive(Debug)]
pub enum Piece {
    Data(Vec<u8>),
    /// Close the connection here, without the terminating chunk.
    Cut,
    /// Send nothing more, keeping the connection open.
    Stall,
    /// Wait this long before the next piece.
    Pause(std::time::Duration),
}

/// Makes piece number `n` (0-based) of a body that never ends.
pub type PieceMaker = Box<dyn FnMut(usize) -> Piece + Send>;

/// What the server sends back.
pub enum Body {
    /// The whole body with a Content-Length.
    Full(Vec<u8>),
    /// Chunked transfer encoding, piece by piece; a closed channel ends the body.
    Chunks(mpsc::UnboundedReceiver<Piece>),
    /// Chunked, endless: pieces are made on demand, each written once the client has
    /// taken the last (TCP backpressure), until the client goes away.
    Endless(PieceMaker),
    /// Never answer: not even a status line.
    Silent,
}

pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

impl Reply {
    pub fn json(status: u16, value: serde_json::Value) -> Reply {
        Reply {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: Body::Full(value.to_string().into_bytes()),
        }
    }

    pub fn raw(status: u16, content_type: &str, body: &[u8]) -> Reply {
        Reply {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body: Body::Full(body.to_vec()),
        }
    }

    /// A chunked body of these pieces, in order.
    pub fn chunks(content_type: &str, pieces: Vec<Piece>) -> Reply {
        let (tx, rx) = mpsc::unbounded_channel();
        for piece in pieces {
            let _ = tx.send(piece);
        }
        Reply {
            status: 200,
            headers: vec![("content-type".into(), content_type.into())],
            body: Body::Chunks(rx),
        }
    }

    /// A chunked body that never ends, of the pieces `make` returns.
    pub fn endless(content_type: &str, make: impl FnMut(usize) -> Piece + Send + 'static) -> Reply {
        Reply {
            status: 200,
            headers: vec![("content-type".into(), content_type.into())],
            body: Body::Endless(Box::new(make)),
        }
    }

    pub fn silent() -> Reply {
        Reply {
            status: 200,
            headers: vec![],
            body: Body::Silent,
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// Requests seen so far and being held right now.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Activity {
    pub received: usize,
    pub in_flight: usize,
}

/// What a handler gets: the request, its 0-based index, and live activity counts.
pub struct Incoming {
    pub index: usize,
    pub request: Recorded,
    pub activity: watch::Receiver<Activity>,
    /// Responses abandoned by their client so far (see [`MockServer::gone`]).
    pub gone: watch::Receiver<usize>,
}

pub type Handler =
    Arc<dyn Fn(Incoming) -> Pin<Box<dyn Future<Output = Reply> + Send>> + Send + Sync>;

/// Wraps an async closure as a [`Handler`].
pub fn handler<F, Fut>(f: F) -> Handler
where
    F: Fn(Incoming) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Reply> + Send + 'static,
{
    Arc::new(move |incoming| Box::pin(f(incoming)))
}

struct Shared {
    requests: Mutex<Vec<Recorded>>,
    activity: watch::Sender<Activity>,
    max_in_flight: Mutex<usize>,
    /// Responses the client went away from before their end (a write failed).
    gone: watch::Sender<usize>,
}

pub struct MockServer {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl MockServer {
    pub async fn start(handler: Handler) -> MockServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (activity, _) = watch::channel(Activity::default());
        let shared = Arc::new(Shared {
            requests: Mutex::new(Vec::new()),
            activity,
            max_in_flight: Mutex::new(0),
            gone: watch::channel(0).0,
        });
        let accept_shared = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(serve(socket, accept_shared.clone(), handler.clone()));
            }
        });
        MockServer { url, shared, task }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().clone()
    }

    pub fn max_in_flight(&self) -> usize {
        *self.shared.max_in_flight.lock().unwrap()
    }

    /// How many responses the client closed the connection on before their end.
    pub fn gone(&self) -> usize {
        *self.shared.gone.borrow()
    }

    /// Waits until `n` responses were abandoned by the client (the connection closed
    /// mid-body): what a real server sees when a request is cancelled.
    pub async fn wait_gone(&self, n: usize) {
        let mut gone = self.shared.gone.subscribe();
        let _ = gone.wait_for(|g| *g >= n).await;
    }
}

async fn serve(mut socket: TcpStream, shared: Arc<Shared>, handler: Handler) {
    let Some(request) = read_request(&mut socket).await else {
        return;
    };
    let index = {
        let mut requests = shared.requests.lock().unwrap();
        requests.push(request.clone());
        requests.len() - 1
    };
    shared.activity.send_modify(|a| {
        a.received += 1;
        a.in_flight += 1;
        let mut max = shared.max_in_flight.lock().unwrap();
        *max = (*max).max(a.in_flight);
    });
    let reply = handler(Incoming {
        index,
        request,
        activity: shared.activity.subscribe(),
        gone: shared.gone.subscribe(),
    })
    .await;
    shared.activity.send_modify(|a| a.in_flight -= 1);
    if write_reply(&mut socket, reply).await.is_err() {
        shared.gone.send_modify(|g| *g += 1);
    }
}

async fn read_request(socket: &mut TcpStream) -> Option<Recorded> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let path = first.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Recorded {
        method,
        path,
        headers,
        body,
    })
}

async fn write_reply(socket: &mut TcpStream, reply: Reply) -> std::io::Result<()> {
    let Reply {
        status,
        headers,
        body,
    } = reply;
    if let Body::Silent = body {
        std::future::pending::<()>().await;
    }
    let mut head = format!("HTTP/1.1 {status} Mock\r\nconnection: close\r\n");
    for (name, value) in &headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    match body {
        Body::Full(bytes) => {
            head.push_str(&format!("content-length: {}\r\n\r\n", bytes.len()));
            socket.write_all(head.as_bytes()).await?;
            socket.write_all(&bytes).await?;
        }
        Body::Chunks(mut pieces) => {
            head.push_str("transfer-encoding: chunked\r\n\r\n");
            socket.write_all(head.as_bytes()).await?;
            socket.flush().await?;
            while let Some(piece) = pieces.recv().await {
                if write_piece(socket, piece).await?.is_break() {
                    return socket.shutdown().await;
                }
            }
            socket.write_all(b"0\r\n\r\n").await?;
        }
        Body::Endless(mut make) => {
            head.push_str("transfer-encoding: chunked\r\n\r\n");
            socket.write_all(head.as_bytes()).await?;
            socket.flush().await?;
            // Ends when a write fails: the client has gone.
            for n in 0.. {
                if write_piece(socket, make(n)).await?.is_break() {
                    return socket.shutdown().await;
                }
            }
        }
        Body::Silent => unreachable!("handled above"),
    }
    socket.flush().await?;
    socket.shutdown().await
}

/// Writes one piece of a chunked body; `Break` after a cut (the caller shuts down).
async fn write_piece(
    socket: &mut TcpStream,
    piece: Piece,
) -> std::io::Result<std::ops::ControlFlow<()>> {
    match piece {
        Piece::Data(data) if data.is_empty() => {}
        Piece::Data(data) => {
            socket
                .write_all(format!("{:x}\r\n", data.len()).as_bytes())
                .await?;
            socket.write_all(&data).await?;
            socket.write_all(b"\r\n").await?;
            socket.flush().await?;
        }
        Piece::Cut => {
            socket.flush().await?;
            return Ok(std::ops::ControlFlow::Break(()));
        }
        Piece::Stall => std::future::pending::<()>().await,
        Piece::Pause(wait) => tokio::time::sleep(wait).await,
    }
    Ok(std::ops::ControlFlow::Continue(()))
}
