//! `genlab`: the native command line over the same model code the page runs. One file per
//! command group; the flags of a command that runs a demo's view come from that demo's link
//! parameters (`link_flags`), and every closed set (backends, datasets, classes, models) is the
//! same type the link uses.

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    if let Err(message) = cli::run() {
        eprintln!("genlab: {message}");
        std::process::exit(2);
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod bench;
#[cfg(not(target_arch = "wasm32"))]
mod cli;
#[cfg(not(target_arch = "wasm32"))]
mod csdi;
#[cfg(not(target_arch = "wasm32"))]
mod files;
#[cfg(not(target_arch = "wasm32"))]
mod images;
#[cfg(not(target_arch = "wasm32"))]
mod langevin;
#[cfg(not(target_arch = "wasm32"))]
mod link_flags;
#[cfg(not(target_arch = "wasm32"))]
mod train;
