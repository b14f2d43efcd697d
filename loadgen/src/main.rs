//! `lunasentri-loadgen`: parses flags, sets up logging and a small runtime, calls
//! [`lunasentri_loadgen::run`], prints the report and turns breaches into the exit code.

use std::process::ExitCode;

use clap::Parser;
use lunasentri_loadgen::config::Cli;

/// loadgen shares the machine with the hub it measures, so its own CPU counts: with
/// glibc's allocator, allocation was about a tenth of it at 10,000 agents.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LUNASENTRI_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let json = cli.json;
    let threads = cli.threads;
    let config = cli.into_config();
    let runtime = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(r) => r,
        Err(e) => {
            eprintln!("lunasentri-loadgen: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let provision_only = config.provision_only;
    let report = match runtime.block_on(lunasentri_loadgen::run(config)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("lunasentri-loadgen: {e}");
            return ExitCode::from(2);
        }
    };
    if provision_only {
        eprintln!(
            "lunasentri-loadgen: created {} users and {} machines",
            report.run.users, report.run.agents
        );
        return ExitCode::SUCCESS;
    }
    if json {
        eprint!("{}", report.render());
        match serde_json::to_string_pretty(&report) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("lunasentri-loadgen: report: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        print!("{}", report.render());
    }
    if report.breaches.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
