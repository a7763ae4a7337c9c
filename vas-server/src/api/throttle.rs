//! Per-client rate limits on the routes that cost the server real work: a snapshot (a decode
//! and a JPEG encode) and a bookmark (a clip of up to 90 s written to disk). Each client —
//! today its address; with per-token auth, its token — has a token bucket per kind of work;
//! an empty bucket answers `429 resource_exhausted` with `Retry-After`. A request refused
//! for its own input (a 4xx other than 429) did no work and gets its token back.
//!
//! Written by hand: tower's rate limit is one bucket for all callers and `governor` would
//! add a dependency for forty lines of arithmetic. The table is bounded
//! ([`MAX_CLIENTS`]): when it is full, buckets that have refilled are forgotten (they hold
//! nothing a fresh one would not), and a client that still finds no room is served without
//! a bucket rather than refused for others' sake.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use vas::ErrorKind;

use super::error::error_body;
use crate::AppState;

/// Most clients whose buckets are remembered at once.
pub const MAX_CLIENTS: usize = 4096;

/// A bucket's refill rate and size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Requests per second, sustained.
    pub per_second: f64,
    /// Requests at once after a quiet spell.
    pub burst: f64,
}

/// Snapshots (`snapshot.jpg`, `POST …/snapshots`) per client: 20 a second, 40 at once —
/// a wall of tiles refreshing every second is far below it.
pub const PICTURES: Rate = Rate {
    per_second: 20.0,
    burst: 40.0,
};
/// Bookmarks (`POST /api/v1/bookmarks`) per client: one every two seconds, 10 at once.
pub const BOOKMARKS: Rate = Rate {
    per_second: 0.5,
    burst: 10.0,
};

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// One kind of work's buckets, by client.
#[derive(Debug)]
pub struct Limiter {
    rate: Rate,
    what: &'static str,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl Limiter {
    /// Buckets of `rate`; `what` names the work in the 429 message.
    pub fn new(rate: Rate, what: &'static str) -> Self {
        Limiter {
            rate,
            what,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token of `client`'s bucket; `Err(wait)` when it is empty.
    pub fn take(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let rate = self.rate;
        let refill = |b: &mut Bucket| {
            let earned = now.saturating_duration_since(b.at).as_secs_f64() * rate.per_second;
            b.tokens = (b.tokens + earned).min(rate.burst);
            b.at = now;
        };
        if !buckets.contains_key(&client) && buckets.len() >= MAX_CLIENTS {
            buckets.retain(|_, b| {
                refill(b);
                b.tokens < rate.burst
            });
            if buckets.len() >= MAX_CLIENTS {
                return Ok(());
            }
        }
        let b = buckets.entry(client).or_insert(Bucket {
            tokens: rate.burst,
            at: now,
        });
        refill(b);
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / rate.per_second))
        }
    }
}

impl Limiter {
    /// Gives back a token taken by [`take`](Self::take) (the request did no work).
    pub fn refund(&self, client: IpAddr) {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(b) = buckets.get_mut(&client) {
            b.tokens = (b.tokens + 1.0).min(self.rate.burst);
        }
    }
}

/// Every limiter of the server.
#[derive(Debug)]
pub struct Throttles {
    /// Snapshots.
    pub pictures: Limiter,
    /// Bookmarks.
    pub bookmarks: Limiter,
}

impl Default for Throttles {
    /// [`PICTURES`] and [`BOOKMARKS`].
    fn default() -> Self {
        Throttles {
            pictures: Limiter::new(PICTURES, "snapshots"),
            bookmarks: Limiter::new(BOOKMARKS, "bookmarks"),
        }
    }
}

/// The client a request counts against: its peer address (requests built in process, with
/// no socket, count as one client).
fn client(req: &Request) -> IpAddr {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip())
}

async fn limited(limiter: &Limiter, req: Request, next: Next) -> Response {
    let who = client(&req);
    match limiter.take(who, Instant::now()) {
        Ok(()) => {
            let r = next.run(req).await;
            if r.status().is_client_error() && r.status() != StatusCode::TOO_MANY_REQUESTS {
                limiter.refund(who);
            }
            r
        }
        Err(wait) => {
            let mut r = error_body(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorKind::ResourceExhausted,
                &format!(
                    "too many {} from this client ({}/s, {} at once); retry after the Retry-After seconds",
                    limiter.what, limiter.rate.per_second, limiter.rate.burst
                ),
            );
            let secs = wait.as_secs().max(1);
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
    }
}

/// Middleware: the snapshot routes' limit.
pub async fn pictures(State(state): State<AppState>, req: Request, next: Next) -> Response {
    limited(&state.throttles.pictures, req, next).await
}

/// Middleware: the bookmark route's limit.
pub async fn bookmarks(State(state): State<AppState>, req: Request, next: Next) -> Response {
    limited(&state.throttles.bookmarks, req, next).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_empties_refills_and_is_per_client() {
        let l = Limiter::new(
            Rate {
                per_second: 2.0,
                burst: 3.0,
            },
            "things",
        );
        let t0 = Instant::now();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..3 {
            assert!(l.take(a, t0).is_ok());
        }
        let wait = l.take(a, t0).unwrap_err();
        assert_eq!(wait, Duration::from_millis(500));
        assert!(l.take(b, t0).is_ok(), "another client has its own bucket");
        assert!(l.take(a, t0 + Duration::from_millis(500)).is_ok());
        assert!(l.take(a, t0 + Duration::from_millis(500)).is_err());
        l.refund(a);
        assert!(
            l.take(a, t0 + Duration::from_millis(500)).is_ok(),
            "a refund is a token"
        );
    }

    #[test]
    fn the_table_stays_bounded() {
        let l = Limiter::new(
            Rate {
                per_second: 1.0,
                burst: 2.0,
            },
            "things",
        );
        let t0 = Instant::now();
        for i in 0..MAX_CLIENTS as u32 {
            l.take(IpAddr::from((0x0a00_0000 + i).to_be_bytes()), t0)
                .unwrap();
        }
        // Full of half-empty buckets: a newcomer is served untracked.
        let late: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(l.take(late, t0).is_ok());
        assert_eq!(l.buckets.lock().unwrap().len(), MAX_CLIENTS);
        // Once they refilled, they are forgotten to make room.
        assert!(l.take(late, t0 + Duration::from_secs(5)).is_ok());
        assert_eq!(l.buckets.lock().unwrap().len(), 1);
    }
}
