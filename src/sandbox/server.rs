//! The sandbox's accept loop. axum's own `serve` cannot drop a connection in the middle of a
//! request, which is exactly the fault the importer must survive, so each connection is served
//! here with a `KillSwitch` a handler can pull to close the socket without an answer.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::{Notify, oneshot};
use tower::ServiceExt;

/// Pulled by a handler to close its connection without writing a response.
#[derive(Clone)]
pub(super) struct KillSwitch(Arc<Notify>);

impl KillSwitch {
    /// Closes the connection; the request never gets an answer, so this never returns.
    pub(super) async fn pull(&self) -> Response {
        self.0.notify_one();
        std::future::pending().await
    }
}

/// Counts a connection open from its accept until its task ends.
struct Open(Arc<AtomicU64>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Serves `app` on `listener` until `shutdown` fires or its sender is dropped, keeping the count
/// of connections open in `open` (so a test can wait until a killed client's are gone).
pub(super) async fn serve(
    listener: TcpListener,
    app: Router,
    mut shutdown: oneshot::Receiver<()>,
    open: Arc<AtomicU64>,
) {
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: pause rather than spin.
                    tracing::warn!("sandbox accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => return,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        open.fetch_add(1, Ordering::SeqCst);
        let counted = Open(open.clone());
        tokio::spawn(async move {
            let _counted = counted;
            let kill = Arc::new(Notify::new());
            let switch = KillSwitch(kill.clone());
            let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
                request.extensions_mut().insert(switch.clone());
                let app = app.clone();
                async move { Ok::<_, Infallible>(app.oneshot(request).await.unwrap_or_else(|never| match never {})) }
            });
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = connection => {}
                // Dropping the connection mid-request closes the socket with no response.
                _ = kill.notified() => {}
            }
        });
    }
}
