//! Demo 3: CSDI imputation of multivariate time series.

pub mod csdi;
pub mod data;
pub mod params;
