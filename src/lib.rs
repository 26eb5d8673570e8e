//! genlab: generative models written once in burn, run natively, in wasm on WebGPU and in wasm
//! on the CPU.
//!
//! Layers, each importing only the ones before it (`tests/layering.rs` enforces it):
//! `core` ← `io` ← {`langevin` | `images` | `series`} ← `app` ← {`web` | the `genlab` binary}.
//! The three domains never import each other.

pub mod app;
pub mod core;
pub mod images;
pub mod io;
pub mod langevin;
pub mod series;

#[cfg(target_arch = "wasm32")]
pub mod web;
