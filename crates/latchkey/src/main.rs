//! `latchkey`: parses the command line and runs it. Failures print one
//! clear line and exit with status 1.

use clap::Parser;
use latchkey::cli::{self, Cli};

/// mimalloc instead of glibc's malloc: a sign-in makes ~400 small Rust
/// allocations, and glibc spent ~7 % of its CPU in malloc/free (with
/// `malloc_consolidate` runs). Alternated A/B runs (3 x 6 s each, twice):
/// 5-10 % less server CPU per sign-in, peak RSS 27 -> 38 MiB.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let parsed = Cli::parse();
    if let Err(e) = cli::run(parsed) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
