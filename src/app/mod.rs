//! The page as a whole: its state in the link and the lists of what it can run.

pub mod state;
pub mod workloads;
