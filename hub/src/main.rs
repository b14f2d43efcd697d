//! `lunasentri-hub`: parses flags, sets up logging, runs the hub.

use clap::Parser;
use lunasentri_hub::config::{Cli, Config};

/// mimalloc returns freed memory to the system where glibc's allocator keeps it: after
/// a burst of logins (argon2 takes 19 MiB per password check) glibc held on to well
/// over 100 MB for good. See docs/architecture.md, *Memory*.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if cli.print_openapi {
        println!("{}", lunasentri_hub::http::openapi::json());
        return std::process::ExitCode::SUCCESS;
    }
    let admin = (
        std::env::var("LUNASENTRI_ADMIN_EMAIL").ok(),
        std::env::var("LUNASENTRI_ADMIN_PASSWORD").ok(),
    );
    let config = match Config::resolve(cli, admin) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("lunasentri-hub: configuration error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    lunasentri_hub::telemetry::init_tracing(config.log_format, &config.log_level);
    match actix_web::rt::System::new().block_on(lunasentri_hub::run(config)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("lunasentri-hub: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
