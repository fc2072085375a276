//! Runs the registry client's async calls from the synchronous converter API.
//!
//! Converters are called on the record path, which is synchronous; registry
//! calls happen only on a cache miss. They run on one small runtime thread
//! shared by every converter, and the caller waits for the answer (inside
//! `block_in_place` when it is itself on a multi-threaded runtime, so other
//! tasks keep running).

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::{Handle, RuntimeFlavor};

static BRIDGE: OnceLock<Result<Handle, String>> = OnceLock::new();

fn handle() -> Result<&'static Handle, String> {
    BRIDGE
        .get_or_init(|| {
            let (tx, rx) = std::sync::mpsc::channel();
            let spawned = std::thread::Builder::new()
                .name("schema-registry-client".into())
                .spawn(move || {
                    match tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    {
                        Ok(runtime) => {
                            let _ = tx.send(Ok(runtime.handle().clone()));
                            runtime.block_on(std::future::pending::<()>());
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e.to_string()));
                        }
                    }
                });
            match spawned {
                Ok(_) => rx
                    .recv()
                    .unwrap_or_else(|_| Err("the registry client thread died".into())),
                Err(e) => Err(e.to_string()),
            }
        })
        .as_ref()
        .map_err(|e| format!("cannot start the schema registry client: {e}"))
}

/// Runs `future` on the client thread and waits for its output.
pub(super) fn block_on<F>(future: F) -> Result<F::Output, String>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handle = handle()?;
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    handle.spawn(async move {
        let _ = tx.send(future.await);
    });
    let wait = move || rx.recv();
    let output = match Handle::try_current() {
        Ok(current) if current.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(wait)
        }
        _ => wait(),
    };
    output.map_err(|_| "the schema registry client thread stopped".to_owned())
}
