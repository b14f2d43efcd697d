//! `lunasentri-hub`: parses flags, sets up logging, runs the hub.

use clap::Parser;
use lunasentri_hub::config::{Cli, Config};

/// mimalloc returns freed memory to the system where glibc's allocator keeps it: after
/// a burst of logins (argon2 takes 19 MiB per password check) glibc held on to well
/// over 100 MB for good. See docs/architecture.md, *Memory*.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in the option list of mimalloc v3 (`include/mimalloc.h`),
/// which libmimalloc-sys builds by default and exports no constant for; a test below
/// checks the index against the option's default (`src/options.c`).
#[cfg(feature = "mimalloc")]
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Hands freed pages back to the system at once instead of a second later (mimalloc
/// v3's default). Thousands of sockets allocate and free frames all the time; at
/// 10,000 agents this keeps peak RSS about 30 MB lower for a few percent more CPU per
/// message (docs/architecture.md, *Where per-connection memory goes*). An operator's
/// `MIMALLOC_PURGE_DELAY` still wins.
#[cfg(feature = "mimalloc")]
#[allow(unsafe_code)]
fn tune_allocator() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets one integer option in mimalloc's option table; called first
        // thing in main, before any other thread exists (mimalloc documents the
        // option setters as not thread-safe).
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) }
    }
}

#[cfg(not(feature = "mimalloc"))]
fn tune_allocator() {}

fn main() -> std::process::ExitCode {
    tune_allocator();
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

#[cfg(all(test, feature = "mimalloc"))]
mod tests {
    /// The option index really is the purge delay: its default is 1,000 ms, and
    /// neither neighbour (deprecated eager-commit delay 1, NUMA nodes 0) has it.
    #[test]
    #[allow(unsafe_code)]
    fn purge_delay_index_matches_mimalloc() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            panic!("unset MIMALLOC_PURGE_DELAY to run this test: it reads the default");
        }
        // SAFETY: reads integer options; this test sets none.
        let (before, at, after) = unsafe {
            use libmimalloc_sys::mi_option_get;
            (
                mi_option_get(super::MI_OPTION_PURGE_DELAY - 1),
                mi_option_get(super::MI_OPTION_PURGE_DELAY),
                mi_option_get(super::MI_OPTION_PURGE_DELAY + 1),
            )
        };
        assert_eq!((before, at, after), (1, 1000, 0));
    }
}
