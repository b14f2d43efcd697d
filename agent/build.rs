//! Link settings for the `lunasentri-agent` binary built with the `release-agent` profile.
//!
//! That profile aborts on panic (`panic = "abort"` in the workspace `Cargo.toml`), so
//! nothing ever unwinds, and the unwind tables (`.eh_frame`, about an eighth of the
//! binary) would serve only the backtrace printed with a panic message when
//! `RUST_BACKTRACE` is set; the message and its location are printed without them.
//! Stable Cargo cannot pass `-C force-unwind-tables=no` to one profile, so for that
//! profile on Linux the linker drops the tables instead (`no-unwind-tables.ld`). Every
//! other profile (tests, `dev`, `release`) unwinds and keeps them.

use std::env;
use std::path::Path;

/// The profile whose binaries are linked without unwind tables.
const PROFILE: &str = "release-agent";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=no-unwind-tables.ld");
    // Cargo tells build scripts only "debug" or "release"; the profile's own name is the
    // directory above `build/` in OUT_DIR: <target>/[<triple>/]<profile>/build/<pkg>/out.
    let out_dir = env::var("OUT_DIR").unwrap_or_default();
    let profile = Path::new(&out_dir)
        .ancestors()
        .nth(3)
        .and_then(Path::file_name)
        .and_then(|n| n.to_str());
    let linux = env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux");
    if profile == Some(PROFILE) && linux {
        let script = Path::new(&env::var("CARGO_MANIFEST_DIR").unwrap_or_default())
            .join("no-unwind-tables.ld");
        println!("cargo:rustc-link-arg-bins=-Wl,--no-eh-frame-hdr");
        println!("cargo:rustc-link-arg-bins=-Wl,-T,{}", script.display());
    }
}
