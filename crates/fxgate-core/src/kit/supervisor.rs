//! The one connection supervisor loop: connect, run the connection until it is lost, wait
//! with the shared [`Backoff`], try again, until shutdown. A protocol says how to connect,
//! how to run a connection and what to publish at each step ([`Supervised`]); the loop's
//! order of events and its back-off are the same for every protocol.

use std::future::Future;

use tokio_util::sync::CancellationToken;

use super::backoff::Backoff;

/// What happened, for the supervised side to publish (status tags, logs, values turning
/// Bad_NoCommunication).
#[derive(Debug)]
pub enum Event<'a, E> {
    /// An attempt starts; `retry` is false for the very first one.
    Connecting {
        /// Whether an earlier attempt failed or a connection was lost before this one.
        retry: bool,
    },
    /// The attempt succeeded.
    Connected,
    /// The attempt failed.
    Failed(&'a E),
    /// The connection was lost.
    Lost(&'a E),
}

/// A connection kept by [`supervise`].
pub trait Supervised: Send {
    /// A live connection.
    type Conn: Send;
    /// Why an attempt failed or a connection was lost.
    type Error: Send + Sync;

    /// One connection attempt.
    fn connect(&mut self) -> impl Future<Output = Result<Self::Conn, Self::Error>> + Send;

    /// Runs a connection until it is lost, with the reason.
    fn run(&mut self, conn: &mut Self::Conn) -> impl Future<Output = Self::Error> + Send;

    /// Publishes an event.
    fn event(&mut self, event: Event<'_, Self::Error>);

    /// Ends a connection at shutdown (e.g. closes the session); the default drops it.
    fn close(&mut self, conn: Self::Conn) -> impl Future<Output = ()> + Send {
        drop(conn);
        async {}
    }
}

/// Keeps `s` connected until `shutdown`; waits with `backoff` after every failed attempt
/// and lost connection, and starts the back-off anew after a connection was made.
pub async fn supervise<S: Supervised>(s: &mut S, backoff: &mut Backoff, shutdown: &CancellationToken) {
    let mut retry = false;
    loop {
        s.event(Event::Connecting { retry });
        retry = true;
        let attempt = tokio::select! {
            _ = shutdown.cancelled() => return,
            r = s.connect() => r,
        };
        match attempt {
            Ok(mut conn) => {
                backoff.reset();
                s.event(Event::Connected);
                let lost = tokio::select! {
                    _ = shutdown.cancelled() => None,
                    e = s.run(&mut conn) => Some(e),
                };
                match lost {
                    None => {
                        s.close(conn).await;
                        return;
                    }
                    Some(e) => {
                        drop(conn);
                        s.event(Event::Lost(&e));
                    }
                }
            }
            Err(e) => s.event(Event::Failed(&e)),
        }
        if !backoff.wait(shutdown).await {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kit::backoff::BackoffSettings;

    /// Why the test connection failed or was lost.
    #[derive(Debug)]
    struct Down(String);

    /// Fails twice, then connects; the connection is lost once, then held until shutdown.
    struct Flaky {
        attempts: u32,
        log: Vec<String>,
        shutdown: CancellationToken,
    }

    impl Supervised for Flaky {
        type Conn = u32;
        type Error = Down;

        fn connect(&mut self) -> impl Future<Output = Result<u32, Down>> + Send {
            self.attempts += 1;
            let n = self.attempts;
            async move {
                if n <= 2 {
                    Err(Down(format!("refused {n}")))
                } else {
                    Ok(n)
                }
            }
        }

        fn run(&mut self, conn: &mut u32) -> impl Future<Output = Down> + Send {
            let (n, stop) = (*conn, self.shutdown.clone());
            async move {
                if n == 3 {
                    Down("reset".to_string())
                } else {
                    stop.cancel();
                    std::future::pending().await
                }
            }
        }

        fn event(&mut self, event: Event<'_, Down>) {
            self.log.push(match event {
                Event::Connecting { retry } => format!("connecting retry={retry}"),
                Event::Connected => "connected".into(),
                Event::Failed(e) => format!("failed {}", e.0),
                Event::Lost(e) => format!("lost {}", e.0),
            });
        }

        fn close(&mut self, conn: u32) -> impl Future<Output = ()> + Send {
            self.log.push(format!("closed {conn}"));
            async {}
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retries_with_back_off_and_closes_at_shutdown() {
        let shutdown = CancellationToken::new();
        let mut s = Flaky { attempts: 0, log: Vec::new(), shutdown: shutdown.clone() };
        let mut backoff = Backoff::new(BackoffSettings::from_millis(100, 1000).with_jitter(0.0));
        let start = tokio::time::Instant::now();
        supervise(&mut s, &mut backoff, &shutdown).await;
        assert_eq!(
            s.log,
            [
                "connecting retry=false",
                "failed refused 1",
                "connecting retry=true",
                "failed refused 2",
                "connecting retry=true",
                "connected",
                "lost reset",
                "connecting retry=true",
                "connected",
                "closed 4",
            ]
        );
        // 100 + 200 ms after the failures, then 100 ms again: the connection reset the back-off
        assert_eq!(start.elapsed(), std::time::Duration::from_millis(400));
    }
}
