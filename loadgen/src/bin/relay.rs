//! `lunasentri-relay`: the bare reference relay (see `lunasentri_loadgen::relay`).
//! Prints `listening on http://ADDR` once bound, and its counters when it stops.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use lunasentri_loadgen::relay::{self, RelayStats};

/// The hub's allocator, so that a comparison measures the work.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Parse-and-forward relay for loadgen: no authentication, no storage. A yardstick for
/// the hub's cost per message, run with `lunasentri-loadgen --relay`.
#[derive(Debug, Parser)]
#[command(name = "lunasentri-relay", version)]
struct Cli {
    /// Address to listen on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    bind: std::net::SocketAddr,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("lunasentri-relay: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let stats = Arc::new(RelayStats::default());
    let result = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(cli.bind).await?;
        eprintln!(
            "lunasentri-relay: listening on http://{}",
            listener.local_addr()?
        );
        tokio::select! {
            _ = relay::serve(listener, stats.clone()) => {}
            _ = shutdown() => {}
        }
        Ok::<_, std::io::Error>(())
    });
    eprintln!("lunasentri-relay: {}", stats.summary());
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lunasentri-relay: {}: {e}", cli.bind);
            ExitCode::from(2)
        }
    }
}

/// Ctrl-C or SIGTERM.
async fn shutdown() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
