//! The page's listener: every connection served by hyper's HTTP/1 with a deadline on a
//! request's header, and at most [`MAX_CONNECTIONS`] of them at once. When a new one would be
//! one too many, the connection idle the longest (no request in flight, nor an answer being
//! sent) is closed to make room: idle sockets held open by another local user cannot starve
//! the page, its Stop button included. Knows nothing of routes or keys.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tower::ServiceExt;

/// Connections served at once. A browser opens six per host and an event stream per tab: a
/// person's page needs a few dozen; the rest of the descriptors stay for the jobs' files and
/// their connections to Tallyfy.
pub(super) const MAX_CONNECTIONS: usize = 256;

/// Longest a request's header may take to arrive: a connection that sends nothing, or a
/// header a byte at a time, is closed (hyper's own default is 30 s).
pub(super) const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// One open connection: how many of its requests are in flight (their answers included), and
/// how to close it.
struct Slot {
    busy: Arc<AtomicUsize>,
    close: Arc<Notify>,
}

/// The open connections, oldest first (ids only grow).
#[derive(Default)]
struct Open {
    slots: Mutex<BTreeMap<u64, Slot>>,
}

impl Open {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Slot>> {
        self.slots.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Makes room for one more: closes the oldest idle connection when all places are taken.
    /// `false` when every connection is busy (the new one is then refused).
    fn admit(&self, id: u64, slot: Slot) -> bool {
        let mut slots = self.lock();
        if slots.len() >= MAX_CONNECTIONS {
            let idle = slots
                .iter()
                .find(|(_, slot)| slot.busy.load(Ordering::SeqCst) == 0)
                .map(|(id, _)| *id);
            match idle.and_then(|id| slots.remove(&id)) {
                Some(oldest) => oldest.close.notify_one(),
                None => return false,
            }
        }
        slots.insert(id, slot);
        true
    }

    /// Closes the oldest idle connection, if any (out of descriptors).
    fn shed_one(&self) {
        let mut slots = self.lock();
        let idle = slots
            .iter()
            .find(|(_, slot)| slot.busy.load(Ordering::SeqCst) == 0)
            .map(|(id, _)| *id);
        if let Some(oldest) = idle.and_then(|id| slots.remove(&id)) {
            oldest.close.notify_one();
        }
    }

    fn forget(&self, id: u64) {
        self.lock().remove(&id);
    }
}

/// Serves `router` on `listener` until the future is dropped.
pub(super) async fn serve(listener: TcpListener, router: Router) {
    let open = Arc::new(Open::default());
    let mut next: u64 = 0;
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of descriptors: make room, and pause rather than spin.
                tracing::warn!("the page's server cannot accept a connection: {e}");
                open.shed_one();
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        next += 1;
        let id = next;
        let busy = Arc::new(AtomicUsize::new(0));
        let close = Arc::new(Notify::new());
        let slot = Slot {
            busy: Arc::clone(&busy),
            close: Arc::clone(&close),
        };
        if !open.admit(id, slot) {
            // Every place holds a request in flight: this one waits for none of them.
            drop(stream);
            continue;
        }
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let open = Arc::clone(&open);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
                let busy = Busy::new(Arc::clone(&busy));
                let router = router.clone();
                async move {
                    let response = router
                        .oneshot(request.map(Body::new))
                        .await
                        .unwrap_or_else(|never| match never {});
                    Ok::<_, Infallible>(response.map(|body| Body::new(Tracked { body, _busy: busy })))
                }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = connection => {}
                // Closed to make room: dropping the connection closes the socket.
                () = close.notified() => {}
            }
            open.forget(id);
        });
    }
}

/// A request in flight on its connection, until its answer is sent (or dropped).
struct Busy(Arc<AtomicUsize>);

impl Busy {
    fn new(count: Arc<AtomicUsize>) -> Busy {
        count.fetch_add(1, Ordering::SeqCst);
        Busy(count)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// An answer's body that keeps its connection busy while it is sent (an event stream, a
/// download).
struct Tracked {
    body: Body,
    _busy: Busy,
}

impl http_body::Body for Tracked {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(busy: usize) -> (Slot, Arc<Notify>) {
        let close = Arc::new(Notify::new());
        let slot = Slot {
            busy: Arc::new(AtomicUsize::new(busy)),
            close: Arc::clone(&close),
        };
        (slot, close)
    }

    #[test]
    fn the_oldest_idle_connection_makes_room() {
        let open = Open::default();
        let mut closes = Vec::new();
        for id in 0..MAX_CONNECTIONS as u64 {
            // The two oldest are busy.
            let (slot, close) = slot(usize::from(id < 2));
            assert!(open.admit(id, slot));
            closes.push(close);
        }
        let (slot, _) = slot(0);
        assert!(open.admit(1000, slot));
        let slots = open.lock();
        assert_eq!(slots.len(), MAX_CONNECTIONS);
        assert!(slots.contains_key(&0) && slots.contains_key(&1), "busy ones stay");
        assert!(!slots.contains_key(&2), "the oldest idle one went");
        drop(slots);
        // Told to close: its permit is waiting.
        assert!(futures::FutureExt::now_or_never(closes[2].notified()).is_some());
        assert!(futures::FutureExt::now_or_never(closes[3].notified()).is_none());
    }

    #[test]
    fn when_every_connection_is_busy_the_new_one_is_refused() {
        let open = Open::default();
        for id in 0..MAX_CONNECTIONS as u64 {
            assert!(open.admit(id, slot(1).0));
        }
        assert!(!open.admit(1000, slot(0).0));
        assert_eq!(open.lock().len(), MAX_CONNECTIONS);
    }
}
